"""`make bench`'s report: the table it prints, and the block it writes into docs/performance.md
when asked (`--update-docs`)."""

from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "performance.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _calls(row: dict) -> str:
    calls = row.get("aws_calls_per_request")
    if not calls:
        return ""
    parts = []
    for label, counts in calls.items():
        label = "" if label.startswith("median") else f"{label} "
        parts.append(label + " ".join(f"{name} {count:g}" for name, count in counts.items()))
    return "; ".join(parts)


def _ratio(value: float, base: float | None) -> str:
    return f"{value / base:.3f}" if base else "-"


def table_lines(report: dict) -> list[str]:
    """Markdown rows: medians of the runs, the rps spread (lowest-highest), ratios to the
    same run's ceiling and floor."""
    rows = report["results"]
    by_name = {(r["name"], r["products"]): r for r in rows}
    small = report["small_catalog"]
    ceiling = by_name.get(("ceiling: constant JSON", small), {}).get("rps", {}).get("median")
    floor = by_name.get(("floor: one GetItem", small), {}).get("rps", {}).get("median")
    lines = [
        "| case | products | rps (min-max) | p50 ms | p99 ms | app CPU ms/req | emulator CPU ms/req "
        "| AWS calls/req | x ceiling | x floor | errors | load |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        rps = r["rps"]
        if not rps["median"]:
            lines.append(f"| {r['name']} | {r['products']:,} | no request finished |" + " |" * 9)
            continue
        lines.append(
            f"| {r['name']} | {r['products']:,} | {rps['median']:,.0f} ({rps['min']:,.0f}-{rps['max']:,.0f}) "
            f"| {r['p50_ms']['median']:.1f} | {r['p99_ms']['median']:.1f} "
            f"| {r['app_cpu_ms_per_request']['median']:.2f} "
            f"| {r['emulator_cpu_ms_per_request']['median']:.2f} "
            f"| {_calls(r)} | {_ratio(rps['median'], ceiling)} | {_ratio(rps['median'], floor)} "
            f"| {r['errors']} | {r['load_average_1m']} |"
        )
    return lines


def summary_lines(report: dict) -> list[str]:
    lines = []
    for seeded in report["seeding"].values():
        lines.append(
            f"- Seeding {seeded['count']:,} products: {seeded['seconds']} s "
            f"({seeded['products_per_second']:,}/s), peak RSS {seeded['peak_rss_mb']} MB."
        )
    for name, ratio in report.get("scale", {}).items():
        lines.append(
            f"- {name} at {report['big_catalog']:,} vs {report['small_catalog']:,} products: "
            f"p50 x{ratio['p50_ratio']}, p99 x{ratio['p99_ratio']}."
        )
    for run in report.get("worker_throughput", []):
        lines.append(
            f"- Backlog of {run['orders']:,} orders drained by a worker + a notifier ({run['pool']} x "
            f"{run['concurrency']}): {run['confirmed_per_second']} orders CONFIRMED/s (goal >= 60), "
            f"all notified after {run['all_notified_seconds']} s; worker CPU {run['cpu_ms_per_order']} ms "
            f"per order incl. notifications (goal <= 15; worker {run.get('worker_cpu_ms_per_order')}, "
            f"notifier {run.get('notifier_cpu_ms_per_order')}); load {run['load_average_1m']}"
            + (
                f"; machine probe {probe['before']} ms before, {probe['after']} after."
                if (probe := run.get("machine_probe_ms"))
                else "."
            )
        )
    pipeline = report.get("checkout_to_final")
    if pipeline:
        lines.append(
            f"- Checkout -> final at {pipeline['offered_per_second']}/s offered "
            f"({pipeline['sent_per_second']}/s sent) for {pipeline['seconds']} s, a worker + a notifier: "
            f"p50 {pipeline['to_final_p50_ms']} ms, "
            f"p99 {pipeline['to_final_p99_ms']} ms (goal <= 1,000), max {pipeline['to_final_max_ms']} ms; "
            f"worker CPU {pipeline.get('worker_cpu_ms_per_order')} ms/order; "
            f"the whole stack's CPU {pipeline.get('stack_cpu_ms_per_order')} ms/order (web "
            f"{pipeline.get('web_cpu_ms_per_order')}, moto {pipeline.get('moto_cpu_ms_per_order')}, "
            f"DynamoDB Local {pipeline.get('dynamodb-local_cpu_ms_per_order')}): at most "
            f"{pipeline.get('orders_per_second_the_cores_hold')} orders/s on these cores; "
            f"load {pipeline.get('load_average_1m')}; "
            f"{pipeline['accepted']}/{pipeline['orders']} accepted, final {pipeline['final']}, "
            f"{pipeline['not_final_after_timeout']} not final in time, queue depth after "
            f"{pipeline['queue_depth_after']}."
        )
    counted = report.get("tracing_overhead_instructions")
    if counted:
        lines.append(
            f"- Tracing overhead on cached reads in instructions (`{counted['path']}`, one gunicorn "
            f"worker under callgrind, {counted['requests_counted']} requests counted, {counted['runs']} "
            f"workers per side): {', '.join(f'{n:,}' for n in counted['on'])} vs "
            f"{', '.join(f'{n:,}' for n in counted['off'])} per request, "
            f"**{counted['overhead_percent']:+.2f}%** (goal <= 5%)."
        )
    tracing = report.get("tracing_overhead")
    if tracing:
        per_round = tracing["overhead_percent_per_round"]
        lines.append(
            f"- Tracing overhead on cached reads in CPU time, a cross-check and not the goal's figure "
            f"(two identical gunicorns read ~4% apart in it: docs/performance.md) (`{tracing['path']}`, "
            f"tracing on but not exporting vs TRACING_ENABLED=0, {tracing['rounds']} alternating rounds of "
            f"{tracing['seconds']} s runs): "
            f"app CPU {tracing['on']['app_cpu_ms_per_request']:.3f} vs "
            f"{tracing['off']['app_cpu_ms_per_request']:.3f} ms/request, {tracing['overhead_percent']:+.1f}% "
            f"(per round median {per_round['median']:+.1f}%, {per_round['min']:+.1f} to "
            f"{per_round['max']:+.1f}%, standard error "
            f"{tracing['overhead_percent_standard_error']}%); rps {tracing['on']['rps']:,.0f} vs "
            f"{tracing['off']['rps']:,.0f}; "
            f"load {tracing['load_average_1m']}."
        )
    for process, sizes in report.get("rss_mb", {}).items():
        lines.append(f"- RSS of each {process}: {', '.join(f'{mb} MB' for mb in sizes if mb)}.")
    flash = report.get("flash_sale")
    if flash:
        f = flash
        lines.append(
            f"- Flash sale, {f['units']:,} units, {f['buyers']} concurrent buyers: sold out after "
            f"{f['sold_out_after_seconds']} s; {f['accepted']:,} checkouts accepted, final {f['final']}; "
            f"{f['confirmed_per_second']} orders CONFIRMED/s; checkout -> final "
            f"p50 {f['to_final_p50_ms']} ms, p99 {f['to_final_p99_ms']} ms; units in CONFIRMED orders "
            f"{f['units_in_confirmed_orders']}, taken from stock {f['units_taken_from_stock']}, orders "
            f"confirmed twice {f['orders_confirmed_twice']} (exactly once: {f['exactly_once']}); "
            f"load {f['load_average_1m']}."
        )
    return lines


def header_line(report: dict) -> str:
    machine = report["machine"]
    return (
        f"`make bench` of {report['started_at']}, commit `{report['commit']}`, DynamoDB: "
        f"{report['local_dynamodb']}, {machine['cores']} cores shared with other work (load average "
        f"{machine['load_average_before'][0]} before, {machine['load_average_after'][0]} after; each row "
        f"shows it as its case started). Medians of {report['settings']['repeats']} runs of "
        f"`wrk {report['settings']['wrk']}` each; compare ratios more than absolute figures."
    )


def docs_update(report: dict) -> None:
    """Replace the block between the bench markers in docs/performance.md."""
    block = "\n".join([header_line(report), "", *table_lines(report), "", *summary_lines(report)])
    text = DOC.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{DOC} has no {START} ... {END} block to update")
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    DOC.write_text(f"{before}{START}\n{block}\n{END}{after}")
