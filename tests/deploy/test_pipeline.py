"""The CDK Pipelines stack: synthesized only with its context, and what it runs in which order."""

import json

import pytest

from deploy.stacks.pipeline import SYNTH_IMAGE
from tests.deploy.conftest import validation_failure

PIPELINE_CONTEXT = {
    "region": "us-east-1",
    "pipelineConnectionArn": (
        "arn:aws:codeconnections:us-east-1:111111111111:connection/0f1e2d3c-aaaa-bbbb-cccc-0123456789ab"
    ),
    "pipelineRepository": "example/cloudcart",
    "pipelineAccount": "111111111111",
    "pipelineRegion": "us-east-1",
    "stagingAccount": "222222222222",
    "stagingRegion": "us-east-1",
    "productionAccount": "333333333333",
    "productionRegion": "eu-west-1",
    "alarmEmail": "ops@example.com",
}


@pytest.fixture(scope="module")
def assembly(tmp_path_factory):
    """The app synthesized with the pipeline's context; None as the failure when it raised."""
    from deploy.stacks import app_build

    outdir = tmp_path_factory.mktemp("cdk-pipeline")
    app = app_build(outdir=str(outdir), context=PIPELINE_CONTEXT)
    failure = None
    try:
        app.synth()
    except RuntimeError as exc:  # cdk-nag (a validation plugin) refused something
        failure = validation_failure(outdir, str(exc))
    return {"outdir": outdir, "failure": failure}


@pytest.fixture(scope="module")
def pipeline_template(assembly) -> dict:
    return json.loads((assembly["outdir"] / "CloudCartPipeline.template.json").read_text())


def _resources(template: dict, resource_type: str) -> dict:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def _stages(template: dict) -> dict[str, list[dict]]:
    (pipeline,) = _resources(template, "AWS::CodePipeline::Pipeline").values()
    return {stage["Name"]: stage["Actions"] for stage in pipeline["Properties"]["Stages"]}


def _buildspec(template: dict, image: str | None = None, containing: str = "") -> dict:
    for project in _resources(template, "AWS::CodeBuild::Project").values():
        spec = project["Properties"]["Source"].get("BuildSpec")
        if isinstance(spec, str) and containing in spec:
            if image is None or project["Properties"]["Environment"]["Image"] == image:
                return {"spec": json.loads(spec), "environment": project["Properties"]["Environment"]}
    raise AssertionError(f"no CodeBuild project running {containing!r}")


def test_make_synth_without_pipeline_context_has_the_app_stack_only(synthesized):
    manifest = json.loads((synthesized["http"].outdir / "manifest.json").read_text())
    stacks = [name for name, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack"]
    assert stacks == ["CloudCart"]


def test_pipeline_synthesizes_with_cdk_nag_clean(assembly):
    assert assembly["failure"] is None, assembly["failure"]


def test_stages_run_source_synth_selfmutation_assets_staging_production(pipeline_template):
    assert list(_stages(pipeline_template)) == [
        "Source",
        "Build",
        "UpdatePipeline",
        "Assets",
        "Staging",
        "Production",
    ]
    assert [a["Name"] for a in _stages(pipeline_template)["UpdatePipeline"]] == ["SelfMutate"]


def test_source_is_the_codestar_connection_from_context(pipeline_template):
    (source,) = _stages(pipeline_template)["Source"]
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"] == {
        "ConnectionArn": PIPELINE_CONTEXT["pipelineConnectionArn"],
        "FullRepositoryId": "example/cloudcart",
        "BranchName": "main",
    }


def test_synth_step_runs_the_tests_then_synthesizes_with_its_own_context(pipeline_template):
    synth = _buildspec(pipeline_template, image=SYNTH_IMAGE)
    commands = synth["spec"]["phases"]["build"]["commands"]
    assert commands[0] == "make test"
    assert "make synth" in commands[1] and "CDK_CONTEXT_JSON" in commands[1]
    assert synth["spec"]["artifacts"]["base-directory"] == "deploy/cdk.out"
    env = {v["Name"]: v["Value"] for v in synth["environment"]["EnvironmentVariables"]}
    # Self-mutation compares the pipeline with what this synth produces: the same context.
    passed = json.loads(env["PIPELINE_CONTEXT"])
    assert passed == {k: v for k, v in PIPELINE_CONTEXT.items() if k != "region"} | {"pipelineBranch": "main"}


def test_staging_deploys_then_smoke_tests_its_own_url(pipeline_template):
    actions = sorted(_stages(pipeline_template)["Staging"], key=lambda a: a["RunOrder"])
    assert [a["ActionTypeId"]["Provider"] for a in actions] == [
        "CloudFormation",
        "CloudFormation",
        "CodeBuild",
    ]
    assert actions[-1]["Name"] == "SmokeTest"
    smoke = _buildspec(pipeline_template, containing="deploy/smoke.py")
    assert smoke["spec"]["phases"]["build"]["commands"] == ['python3 deploy/smoke.py "$API_URL"']
    # API_URL is the staging stack's ApiUrl output, handed over as a pipeline variable.
    env = json.loads(actions[-1]["Configuration"]["EnvironmentVariables"])
    (api_url,) = [v for v in env if v["name"] == "API_URL"]
    assert "ApiUrl" in api_url["value"]


def test_production_waits_for_a_manual_approval(pipeline_template):
    actions = sorted(_stages(pipeline_template)["Production"], key=lambda a: a["RunOrder"])
    assert actions[0]["ActionTypeId"]["Category"] == "Approval"
    assert all(a["ActionTypeId"]["Provider"] == "CloudFormation" for a in actions[1:])
    assert actions[0]["RunOrder"] < min(a["RunOrder"] for a in actions[1:])


def test_each_stage_deploys_into_its_own_account_and_region(pipeline_template):
    stages = _stages(pipeline_template)
    for stage, account, region in (
        ("Staging", "222222222222", "us-east-1"),
        ("Production", "333333333333", "eu-west-1"),
    ):
        for action in (a for a in stages[stage] if a["ActionTypeId"]["Provider"] == "CloudFormation"):
            role = json.dumps(action["RoleArn"])
            assert f"cdk-hnb659fds-deploy-role-{account}-{region}" in role, role
            assert action.get("Region", region) == region


def test_artifacts_are_encrypted_with_a_rotated_key_for_cross_account_use(pipeline_template):
    keys = _resources(pipeline_template, "AWS::KMS::Key")
    assert keys and all(k["Properties"].get("EnableKeyRotation") is True for k in keys.values())


def test_stage_stacks_send_alarms_to_the_context_address(assembly):
    staging = assembly["outdir"] / "assembly-CloudCartPipeline-Staging"
    (path,) = [p for p in staging.glob("*.template.json")]
    template = json.loads(path.read_text())
    assert template["Parameters"]["AlarmEmail"]["Default"] == "ops@example.com"
    assert template["Outputs"]["ApiUrl"]


def test_pipeline_context_without_an_alarm_address_is_refused():
    from deploy.stacks import app_build

    context = {k: v for k, v in PIPELINE_CONTEXT.items() if k != "alarmEmail"}
    with pytest.raises(Exception, match="alarmEmail"):
        app_build(context=context)


def test_no_tracker_numbers_in_cloudformation_descriptions(synthesized, pipeline_template):
    from tests.ops.test_no_tracker_numbers import TRACKER_NUMBER

    templates = [synthesized["https"].template_json, synthesized["http"].template_json, pipeline_template]
    descriptions = [t.get("Description", "") for t in templates] + [
        str(resource.get("Properties", {}).get("Description", ""))
        for t in templates
        for resource in t["Resources"].values()
    ]
    assert synthesized["https"].template_json["Description"]
    assert [d for d in descriptions if TRACKER_NUMBER.search(d)] == []
