"""The web shop's budgets in headless Chromium (figures, never pass/fail): the first page's script
(gzip bytes, Stripe.js not counted), LCP of the catalog and of a product page on a cold cache,
CLS, and the API calls the first catalog page makes.

`python -m tests.bench.storefront` starts its own stack (DynamoDB Local + moto, gunicorn; the
sample catalog seeded) on free ports; `--url http://127.0.0.1:8000` measures a running `make run`
instead. `--screenshot docs/storefront.png` also saves the catalog as the README shows it.
Writes tests/bench/results/storefront-<time>.json.
"""

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from tests import aws_env  # noqa: F401 - a free moto port and the AWS environment, before Django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloudcart.settings")
os.environ["TABLE_PREFIX"] = f"bench-{os.environ['TABLE_PREFIX'].removeprefix('test-')}"

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.aws_env import free_port  # noqa: E402
from tests.ops.test_browser import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402
from tests.processes import ROOT, Gunicorn, LocalAws  # noqa: E402

RESULTS_DIR = ROOT / "tests" / "bench" / "results"
BUDGETS = {"first_page_js_gzip_bytes": 60 * 1024, "catalog_lcp_ms": 800, "product_lcp_ms": 600, "cls": 0.02}
# LCP and CLS as the browser reports them (web-vitals' definitions: last LCP candidate; layout
# shifts without recent input).
OBSERVE = """
window.__vitals = {lcp: 0, cls: 0};
new PerformanceObserver((list) => {
  for (const entry of list.getEntries())
    window.__vitals.lcp = entry.renderTime || entry.loadTime || entry.startTime;
}).observe({type: 'largest-contentful-paint', buffered: true});
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__vitals.cls += entry.value;
}).observe({type: 'layout-shift', buffered: true});
"""


def visit(browser, url: str, *, ready: str, screenshot: Path | None = None) -> dict:
    """One cold visit (a fresh context: empty cache, no cookies)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(OBSERVE)
    page = context.new_page()
    scripts, api_calls = [], []

    def on_response(response):
        request = response.request
        if request.resource_type == "script" and "stripe" not in response.url:
            scripts.append(len(gzip.compress(response.body(), compresslevel=9)))
        elif request.resource_type in ("fetch", "xhr"):
            api_calls.append(f"{request.method} {response.url.split('//', 1)[1].split('/', 1)[1]}")

    page.on("response", on_response)
    page.goto(url, wait_until="networkidle")
    page.locator(ready).first.wait_for()
    page.wait_for_timeout(300)  # let the observers deliver their last entries
    vitals = page.evaluate("window.__vitals")
    if screenshot:
        page.screenshot(path=str(screenshot))
    context.close()
    return {
        "lcp_ms": round(vitals["lcp"]),
        "cls": round(vitals["cls"], 4),
        "js_gzip": sum(scripts),
        "api": api_calls,
    }


def measure(base: str, *, repeats: int, screenshot: Path | None) -> dict:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            visit(browser, f"{base}/shop/", ready="ul.grid a")  # warm the server, not the browser
            catalog = [visit(browser, f"{base}/shop/", ready="ul.grid a") for _ in range(repeats)]
            product_id = browser.new_page().request.get(f"{base}/products?limit=1").json()["results"][0]["id"]
            product = [
                visit(browser, f"{base}/shop/products/{product_id}", ready="h1") for _ in range(repeats)
            ]
            if screenshot:
                visit(browser, f"{base}/shop/", ready="ul.grid a", screenshot=screenshot)
        finally:
            browser.close()
    return {
        "first_page_js_gzip_bytes": catalog[0]["js_gzip"],
        "catalog_lcp_ms": statistics.median(v["lcp_ms"] for v in catalog),
        "catalog_lcp_ms_runs": [v["lcp_ms"] for v in catalog],
        "product_lcp_ms": statistics.median(v["lcp_ms"] for v in product),
        "product_lcp_ms_runs": [v["lcp_ms"] for v in product],
        "cls": max(v["cls"] for v in catalog + product),
        "catalog_api_calls": len(catalog[0]["api"]),
        "catalog_api_requests": catalog[0]["api"],
    }


def report(figures: dict) -> None:
    print("storefront (headless Chromium, cold cache, median of runs):")
    rows = [
        ("first page JS (gzip)", f"{figures['first_page_js_gzip_bytes'] / 1024:.1f} KB", "≤ 60 KB"),
        ("catalog LCP", f"{figures['catalog_lcp_ms']} ms {figures['catalog_lcp_ms_runs']}", "≤ 800 ms"),
        ("product page LCP", f"{figures['product_lcp_ms']} ms {figures['product_lcp_ms_runs']}", "≤ 600 ms"),
        ("CLS (worst)", f"{figures['cls']}", "≤ 0.02"),
        (
            "API calls, first catalog page",
            f"{figures['catalog_api_calls']} {figures['catalog_api_requests']}",
            "1",
        ),
    ]
    for name, value, budget in rows:
        print(f"  {name:32} {value:40} budget {budget}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running stack (e.g. make run's); default: start one")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--screenshot", type=Path)
    args = parser.parse_args()
    subprocess.run(["make", "--no-print-directory", "-s", "storefront"], cwd=ROOT, check=True)
    if args.url:
        figures = measure(args.url.rstrip("/"), repeats=args.repeats, screenshot=args.screenshot)
    else:
        import django

        django.setup()
        from django.core.management import call_command

        from cloudcart.bootstrap import aws_bootstrap

        servers = LocalAws(moto_port=aws_env.MOTO_PORT, dynamodb_port=aws_env.DYNAMODB_PORT)
        servers.start()
        web = None
        try:
            aws_bootstrap(wait_seconds=30)
            call_command("seed_products", verbosity=0)
            web = Gunicorn(free_port(), name="bench-storefront-web")
            figures = measure(web.url, repeats=args.repeats, screenshot=args.screenshot)
        finally:
            if web:
                web.stop()
            servers.stop()
    report(figures)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"storefront-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps({"cores": os.cpu_count(), "budgets": BUDGETS, **figures}, indent=2))
    print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
