"""`-c size=dev`: the same stack, smaller and cheaper (docs/deploy.md prices both sizes)."""

import json

import pytest

from tests.deploy.conftest import REGION


@pytest.fixture(scope="module")
def dev(tmp_path_factory) -> dict:
    from deploy.stacks import app_build

    outdir = tmp_path_factory.mktemp("cdk-dev")
    app_build(outdir=str(outdir), context={"region": REGION, "size": "dev"}).synth()
    return json.loads((outdir / "CloudCart.template.json").read_text())


def _of_type(template: dict, resource_type: str) -> list[dict]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == resource_type]


def _task(template: dict, container: str) -> dict:
    for task in _of_type(template, "AWS::ECS::TaskDefinition"):
        if task["ContainerDefinitions"][0]["Name"] == container:
            return task
    raise AssertionError(container)


def _scaling(template: dict) -> list[tuple[int, int]]:
    return sorted(
        (t["MinCapacity"], t["MaxCapacity"])
        for t in _of_type(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    )


def _staff(template: dict) -> tuple[str, str, int]:
    """The staff task's CPU and memory, and how many tasks its service runs."""
    resources = template["Resources"]
    (task_id,) = [
        k
        for k, r in resources.items()
        if r["Type"] == "AWS::ECS::TaskDefinition"
        and r["Properties"]["ContainerDefinitions"][0]["Name"] == "staff"
    ]
    (service,) = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::ECS::Service" and r["Properties"]["TaskDefinition"] == {"Ref": task_id}
    ]
    task = resources[task_id]["Properties"]
    return task["Cpu"], task["Memory"], service["DesiredCount"]


def _insights(template: dict) -> str:
    (cluster,) = _of_type(template, "AWS::ECS::Cluster")
    return {s["Name"]: s["Value"] for s in cluster["ClusterSettings"]}["containerInsights"]


@pytest.mark.slow
def test_dev_size_runs_one_small_web_task_and_small_workers(dev):
    web = _task(dev, "web")
    assert (web["Cpu"], web["Memory"]) == ("256", "512")
    env = {e["Name"]: e["Value"] for e in web["ContainerDefinitions"][0]["Environment"]}
    assert env["WEB_CONCURRENCY"] == "1"
    worker = _task(dev, "worker")
    assert (worker["Cpu"], worker["Memory"]) == ("256", "512")
    assert _staff(dev) == ("256", "512", 1)
    assert _scaling(dev) == [(1, 2), (1, 2)]
    assert _insights(dev) == "disabled"
    assert {g.get("RetentionInDays") for g in _of_type(dev, "AWS::Logs::LogGroup")} == {7}


def test_default_size_keeps_two_web_tasks_and_insights(stack):
    template = stack.template_json
    web = _task(template, "web")
    assert (web["Cpu"], web["Memory"]) == ("512", "1024")
    assert _staff(template) == ("256", "512", 1)  # staff writes: the smallest task in both sizes
    assert _scaling(template) == [(1, 10), (2, 10)]
    assert _insights(template) == "enabled"


def test_an_unknown_size_is_refused():
    from deploy.stacks import app_build

    with pytest.raises(ValueError, match="size='huge'"):
        app_build(context={"region": REGION, "size": "huge"})
