"""The CloudCart CDK app: the app stack (one construct per resource group) and its pipeline."""

import os

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from deploy.stacks.cloudcart_stack import SIZES, CloudCartStack
from deploy.stacks.pipeline import PipelineConfig, PipelineStack

__all__ = ["CloudCartStack", "PipelineStack", "app_build"]


def app_build(*, outdir: str | None = None, context: dict | None = None) -> cdk.App:
    """The app as `cdk synth` builds it: the stack from context, checked by cdk-nag on synth."""
    app = cdk.App(outdir=outdir, context=context)
    # Bound to a region (ALB access logs need the region's log-delivery account) but not to an
    # account: no lookups, so synthesis needs no credentials. The cdk CLI passes the profile's
    # region as CDK_DEFAULT_REGION; `-c region=...` overrides it.
    region = app.node.try_get_context("region") or os.environ.get("CDK_DEFAULT_REGION") or "us-east-1"
    size = app.node.try_get_context("size") or "default"
    if size not in SIZES:
        raise ValueError(f"context size={size!r}: choose one of {', '.join(SIZES)}")
    CloudCartStack(
        app,
        app.node.try_get_context("stackName") or "CloudCart",
        sizing=SIZES[size],
        certificate_arn=app.node.try_get_context("certificateArn"),
        domain_name=app.node.try_get_context("domainName"),
        # With a Route 53 zone, the shop and API get `domainName` on CloudFront, with a certificate.
        hosted_zone_id=app.node.try_get_context("hostedZoneId"),
        hosted_zone_name=app.node.try_get_context("hostedZoneName"),
        # The SES identity receipts are sent from: a domain, or one address.
        email_identity=app.node.try_get_context("emailIdentity") or "example.com",
        # `none`: a shop paid elsewhere (orders confirm on stock alone, no Stripe keys).
        payments_provider=app.node.try_get_context("paymentsProvider") or "stripe",
        env=cdk.Environment(region=region),
        description="CloudCart: Django API on ECS Fargate, DynamoDB, SQS",
    )
    # The delivery pipeline, only when its context names a source: without it (make synth, the
    # tests, a plain `cdk deploy`) nothing here needs an account or a connection.
    pipeline = PipelineConfig.from_context(app.node)
    if pipeline:
        PipelineStack(
            app,
            "CloudCartPipeline",
            config=pipeline,
            env=cdk.Environment(account=pipeline.pipeline_account, region=pipeline.pipeline_region),
            description="CloudCart's delivery pipeline: test, staging, approval, production",
        )
    # Synthesis fails on any finding not acknowledged with a reason (cdk-nag v3 = CDK validations).
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app
