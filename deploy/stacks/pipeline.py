"""CDK Pipelines: git push -> test + synth -> staging (+ smoke test) -> approval -> production.

Self-mutating: the pipeline first updates itself from the commit it runs, then deploys the app.
Cross-account ready: each stage's account and region come from context, the artifact bucket is
encrypted with a KMS key the stage accounts may use (`cross_account_keys`). The one-time
bootstrap and the day-to-day flow: docs/deploy.md.
"""

import json
from dataclasses import asdict, dataclass

import aws_cdk as cdk
from aws_cdk import Acknowledgment, Stack, Validations, pipelines
from aws_cdk import aws_codebuild as codebuild
from constructs import Construct

from deploy.stacks.cloudcart_stack import CloudCartStack

# The synth step runs the project's own `make test` and `make synth` in Debian's Python image:
# the same OS the Makefile knows (as root it installs nodejs and chromium with apt).
SYNTH_IMAGE = "public.ecr.aws/docker/library/python:3.11-bookworm"
# The context keys that describe a pipeline; the synth step passes them on to itself, so the
# pipeline it synthesizes is the one that is running (self-mutation compares the two).
CONTEXT_KEYS = {
    "connection_arn": "pipelineConnectionArn",
    "repository": "pipelineRepository",
    "branch": "pipelineBranch",
    "pipeline_account": "pipelineAccount",
    "pipeline_region": "pipelineRegion",
    "staging_account": "stagingAccount",
    "staging_region": "stagingRegion",
    "production_account": "productionAccount",
    "production_region": "productionRegion",
    "alarm_email": "alarmEmail",
    "email_identity": "emailIdentity",
}


@dataclass(frozen=True, kw_only=True)
class PipelineConfig:
    """Where the source is and where each stage deploys (all from context)."""

    connection_arn: str
    repository: str  # owner/name
    branch: str = "main"
    pipeline_account: str | None = None
    pipeline_region: str | None = None
    staging_account: str | None = None
    staging_region: str | None = None
    production_account: str | None = None
    production_region: str | None = None
    alarm_email: str
    email_identity: str | None = None  # the SES identity receipts come from (default: the stack's)

    @classmethod
    def from_context(cls, node) -> "PipelineConfig | None":
        """The config when `pipelineConnectionArn` and `pipelineRepository` are given, else None."""
        values = {field: node.try_get_context(key) for field, key in CONTEXT_KEYS.items()}
        if not values["connection_arn"] or not values["repository"]:
            return None
        missing = [CONTEXT_KEYS[f] for f in ("alarm_email",) if not values[f]]
        if missing:
            raise ValueError(f"pipeline context is missing {', '.join(missing)}")
        return cls(**{field: value for field, value in values.items() if value is not None})

    def as_context(self) -> dict[str, str]:
        return {CONTEXT_KEYS[field]: value for field, value in asdict(self).items() if value is not None}


class CloudCartStage(cdk.Stage):
    """One deployment of CloudCart (staging, production): the app stack in one account and region."""

    def __init__(
        self, scope: Construct, construct_id: str, *, alarm_email: str, email_identity: str | None, **kwargs
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.stack = CloudCartStack(
            self,
            "CloudCart",
            alarm_email=alarm_email,
            **({"email_identity": email_identity} if email_identity else {}),
            description=f"CloudCart ({construct_id}): Django API on ECS Fargate, DynamoDB, SQS",
        )
        self.api_url = self.stack.api_url


class PipelineStack(Stack):
    """The CodePipeline that tests, synthesizes and deploys CloudCart to staging, then production."""

    def __init__(self, scope: Construct, construct_id: str, *, config: PipelineConfig, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        source = pipelines.CodePipelineSource.connection(
            config.repository,
            config.branch,
            connection_arn=config.connection_arn,
            # Only the commit's files; the tests need no git history.
            code_build_clone_output=False,
        )
        synth = pipelines.CodeBuildStep(
            "Synth",
            input=source,
            build_environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxBuildImage.from_docker_registry(SYNTH_IMAGE),
                compute_type=codebuild.ComputeType.MEDIUM,
            ),
            env={"PIPELINE_CONTEXT": json.dumps(config.as_context(), sort_keys=True), "CI": "true"},
            commands=[
                # Lint and the whole suite, as on a developer's machine and in GitHub Actions.
                "make test",
                # The cloud assembly (cdk-nag runs during synthesis) into deploy/cdk.out, with the
                # web shop built into it (make synth builds storefront/, an asset the stages'
                # BucketDeployment uploads to the shop's bucket), with this
                # pipeline's context: the CDK app reads CDK_CONTEXT_JSON as `cdk -c` would pass it.
                'CDK_CONTEXT_JSON="$PIPELINE_CONTEXT" make synth',
            ],
            primary_output_directory="deploy/cdk.out",
            timeout=cdk.Duration.minutes(60),
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name="CloudCart",
            synth=synth,
            self_mutation=True,
            cross_account_keys=True,
            enable_key_rotation=True,
            # The app's image is built once, by the asset publishing step, not during synth.
            docker_enabled_for_synth=False,
            publish_assets_in_parallel=False,
        )

        staging = CloudCartStage(
            self,
            "Staging",
            alarm_email=config.alarm_email,
            email_identity=config.email_identity,
            env=cdk.Environment(account=config.staging_account, region=config.staging_region),
        )
        self.pipeline.add_stage(
            staging,
            post=[
                pipelines.ShellStep(
                    "SmokeTest",
                    input=source,
                    env_from_cfn_outputs={"API_URL": staging.api_url},
                    commands=['python3 deploy/smoke.py "$API_URL"'],
                )
            ],
        )
        production = CloudCartStage(
            self,
            "Production",
            alarm_email=config.alarm_email,
            email_identity=config.email_identity,
            env=cdk.Environment(account=config.production_account, region=config.production_region),
        )
        self.pipeline.add_stage(
            production,
            pre=[
                pipelines.ManualApprovalStep(
                    "PromoteToProduction",
                    comment="Staging passed its smoke test. Deploy this commit to production?",
                )
            ],
        )
        # Materialize the pipeline now, so its generated resources can be acknowledged below.
        self.pipeline.build_pipeline()
        self._acknowledge_nag_findings()

    def _acknowledge_nag_findings(self) -> None:
        """cdk-nag AwsSolutions findings in what CDK Pipelines generates, each with the reason."""
        region = "<AWS::Region>" if cdk.Token.is_unresolved(self.region) else self.region
        account = "<AWS::AccountId>" if cdk.Token.is_unresolved(self.account) else self.account
        artifacts = self.get_logical_id(self.pipeline.pipeline.artifact_bucket.node.default_child)
        wildcards = [
            *(
                f"Action::s3:{action}"
                for action in ("GetObject*", "GetBucket*", "List*", "DeleteObject*", "Abort*")
            ),
            "Action::kms:ReEncrypt*",
            "Action::kms:GenerateDataKey*",
            f"Resource::<{artifacts}.Arn>/*",
            "Resource::*",
            f"Resource::arn:*:iam::{account}:role/*",
            f"Resource::arn:<AWS::Partition>:logs:{region}:{account}:log-group:/aws/codebuild/*",
            f"Resource::arn:<AWS::Partition>:codebuild:{region}:{account}:report-group/*",
        ]
        for construct in self.pipeline.node.find_all():
            if (
                isinstance(construct, cdk.CfnResource)
                and construct.cfn_resource_type == "AWS::CodeBuild::Project"
            ):
                project = self.get_logical_id(construct)
                wildcards += [
                    f"Resource::arn:<AWS::Partition>:logs:{region}:{account}:log-group:/aws/codebuild/<{project}>:*",
                    f"Resource::arn:<AWS::Partition>:codebuild:{region}:{account}:report-group/<{project}>-*",
                ]
        for support in self.pipeline.pipeline.cross_region_support.values():
            bucket = self.resolve(support.replication_bucket.bucket_name)
            if isinstance(bucket, str):
                wildcards.append(f"Resource::arn:<AWS::Partition>:s3:::{bucket}/*")
        Validations.of(self.pipeline).acknowledge(
            *(
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[{wildcard}]",
                    reason="CDK Pipelines' own grants: object and bucket actions on its artifact "
                    "buckets, kms:GenerateDataKey*/ReEncrypt* on its artifact key, its CodeBuild "
                    "projects' log and report groups, ecr:GetAuthorizationToken, and assuming the "
                    "CDK bootstrap roles (role/*, limited by their aws-cdk:bootstrap-role tag).",
                )
                for wildcard in wildcards
            ),
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="The artifact bucket holds build inputs and outputs only, read and written "
                "by the pipeline's own roles (CloudTrail records them); it has no public access.",
            ),
            Acknowledgment(
                id="AwsSolutions-CB5",
                reason="The synth step runs in Debian's official python:3.11 image (ECR Public's "
                "mirror of the Docker library), the OS the Makefile supports, instead of a "
                "CodeBuild image.",
            ),
        )
        # A stage in another region gets a support stack with a replication bucket for artifacts.
        for support in self.pipeline.pipeline.cross_region_support.values():
            Validations.of(support.stack).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-S1",
                    reason="The pipeline's cross-region artifact replica: build artifacts only, "
                    "written by the pipeline's roles; it has no public access.",
                )
            )
