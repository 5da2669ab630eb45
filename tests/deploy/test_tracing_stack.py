"""Tracing on AWS: each long-running task sends its spans over OTLP to an ADOT collector beside it,
which may write them to X-Ray and nowhere else."""

from deploy.stacks.services import OTEL_COLLECTOR_IMAGE, OTLP_HTTP_ENDPOINT, XRAY_ACTIONS

TRACED = ("web", "staff", "worker", "beat", "notifier")


def _task_of(stack, container_name: str) -> dict:
    return stack.resources[stack.containers()[container_name]["TaskDefinition"]]


def test_every_service_task_runs_the_collector_beside_the_app(stack):
    for name in TRACED:
        containers = _task_of(stack, name)["Properties"]["ContainerDefinitions"]
        names = [c["Name"] for c in containers]
        # The app first; a task may also run a one-off container before it (staff's migrations).
        assert names[0] == name and names.count("otel-collector") == 1, (name, names)
        collector = containers[names.index("otel-collector")]
        assert collector["Image"] == OTEL_COLLECTOR_IMAGE and ":v" in OTEL_COLLECTOR_IMAGE  # pinned
        assert collector["Essential"] is False, "tracing down must never stop the app"
        config = {e["Name"]: e["Value"] for e in collector["Environment"]}["AOT_CONFIG_CONTENT"]
        assert "awsxray" in config and "127.0.0.1:4318" in config


def test_the_app_exports_to_the_collector_under_its_own_service_name(stack):
    for name in TRACED:
        env = stack.environment(name)
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == OTLP_HTTP_ENDPOINT
        assert env["OTEL_SERVICE_NAME"] == name


def test_the_seed_task_exports_nothing(stack):
    containers = _task_of(stack, "seed")["Properties"]["ContainerDefinitions"]
    assert [c["Name"] for c in containers] == ["seed"]
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in stack.environment("seed")


def test_each_traced_task_role_may_write_to_xray(stack):
    for name in TRACED:
        role_id = _task_of(stack, name)["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
        statements = [
            statement
            for policy in stack.of_type("AWS::IAM::Policy").values()
            if {"Ref": role_id} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]
        xray = [s for s in statements if "xray:" in str(s["Action"])]
        assert len(xray) == 1, name
        assert sorted(xray[0]["Action"]) == sorted(XRAY_ACTIONS)
