"""The web shop on AWS: its built files in a private bucket behind a CloudFront distribution that
also fronts the API (the load balancer), so shop and API share one origin, as locally."""

from pathlib import Path

from aws_cdk import Acknowledgment, CfnOutput, Duration, RemovalPolicy, Stack, Token, Validations
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from deploy.stacks.images import access_log_bucket
from shop.csp import shop_csp

# Where the shop lives on the site (docs/architecture.md: the API keeps its root paths).
SHOP_PREFIX = "shop"
# Vite's hashed output: a file's name changes whenever its content does.
ASSETS_PATH = f"/{SHOP_PREFIX}/assets/*"
STRIPE_JS_URL = "https://js.stripe.com/v3/"
# Deep links (/shop/products/1) are the app's routes: every shop path but an asset or the
# settings endpoint is answered with index.html, which the app reads the path from.
REWRITE_TO_INDEX = f"""
function handler(event) {{
  var request = event.request;
  var uri = request.uri;
  if (uri.indexOf('/{SHOP_PREFIX}/assets/') !== 0) {{
    request.uri = '/{SHOP_PREFIX}/index.html';
  }}
  return request;
}}
"""


class Storefront(Construct):
    """The shop's bucket (private, origin access control), one distribution for shop and API,
    security headers, the build uploaded on deploy, and DNS + certificate for a custom domain."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        build_dir: Path,
        load_balancer: elbv2.IApplicationLoadBalancer,
        load_balancer_https: bool,
        domain_name: str | None = None,
        hosted_zone_id: str | None = None,
        hosted_zone_name: str | None = None,
        log_retention_days: int = 90,
    ) -> None:
        super().__init__(scope, construct_id)
        logs = access_log_bucket(
            self, expiration=Duration.days(log_retention_days), of="the shop bucket's and the distribution's"
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            # Rebuilt from git on each deploy, but kept like every bucket of the stack: a torn-down
            # stack never takes files with it (empty it by hand).
            removal_policy=RemovalPolicy.RETAIN,
            server_access_logs_bucket=logs,
            server_access_logs_prefix="s3/",
        )

        certificate = None
        zone = None
        if domain_name and hosted_zone_id:
            zone = route53.HostedZone.from_hosted_zone_attributes(
                self,
                "Zone",
                hosted_zone_id=hosted_zone_id,
                zone_name=hosted_zone_name or _parent_domain(domain_name),
            )
            if Stack.of(self).region != "us-east-1":
                raise ValueError(
                    "CloudFront takes certificates from us-east-1 only: deploy there (-c region=us-east-1)"
                )
            certificate = acm.Certificate(
                self,
                "Certificate",
                domain_name=domain_name,
                validation=acm.CertificateValidation.from_dns(zone),
            )

        headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="CloudCart shop: CSP allowing Stripe.js, HSTS, no framing",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                # Product images come from their own CloudFront distribution (https:, allowed).
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=shop_csp(stripe_js_url=STRIPE_JS_URL),
                    override=True,
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365), include_subdomains=True, override=True
                ),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
                    override=True,
                ),
            ),
        )
        # Hashed assets: a year at the edge and in browsers (their objects say immutable too).
        assets_cache = cloudfront.CachePolicy(
            self,
            "AssetsCache",
            comment="CloudCart shop assets (content-hashed names)",
            default_ttl=Duration.days(365),
            min_ttl=Duration.days(365),
            max_ttl=Duration.days(365),
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
        )
        access_control = cloudfront.S3OriginAccessControl(
            self, "OriginAccessControl", signing=cloudfront.Signing.SIGV4_ALWAYS
        )
        shop_origin = origins.S3BucketOrigin.with_origin_access_control(
            self.bucket, origin_access_control=access_control
        )
        # The API: nothing cached, every header (Host included), cookie and query string passed on.
        api_origin = origins.LoadBalancerV2Origin(
            load_balancer,
            protocol_policy=(
                cloudfront.OriginProtocolPolicy.HTTPS_ONLY
                if load_balancer_https
                else cloudfront.OriginProtocolPolicy.HTTP_ONLY
            ),
            origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
            read_timeout=Duration.seconds(60),
        )
        api_behavior = cloudfront.BehaviorOptions(
            origin=api_origin,
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER,
            compress=True,
        )
        rewrite = cloudfront.Function(
            self,
            "ShopPaths",
            comment="Shop paths other than assets are the app's: answer them with index.html",
            code=cloudfront.FunctionCode.from_inline(REWRITE_TO_INDEX),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="CloudCart: the shop (S3) and the API (load balancer) on one origin",
            default_behavior=api_behavior,
            additional_behaviors={
                ASSETS_PATH: cloudfront.BehaviorOptions(
                    origin=shop_origin,
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                    cache_policy=assets_cache,
                    response_headers_policy=headers,
                    compress=True,
                ),
                # The shop's settings come from the app (chosen by configuration, never built in).
                f"/{SHOP_PREFIX}/config.json": api_behavior,
                f"/{SHOP_PREFIX}*": cloudfront.BehaviorOptions(
                    origin=shop_origin,
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                    # index.html is never cached: a deploy shows at once.
                    cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                    response_headers_policy=headers,
                    function_associations=[
                        cloudfront.FunctionAssociation(
                            function=rewrite, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                        )
                    ],
                    compress=True,
                ),
            },
            domain_names=[domain_name] if certificate else None,
            certificate=certificate,
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_logging=True,
            log_bucket=logs,
            log_file_prefix="cdn/",
        )
        self.host = domain_name if certificate else self.distribution.distribution_domain_name
        self.url = f"https://{self.host}"
        if zone:
            for record in (route53.ARecord, route53.AaaaRecord):
                record(
                    self,
                    record.__name__.replace("Record", "Alias"),
                    zone=zone,
                    record_name=domain_name,
                    target=route53.RecordTarget.from_alias(targets.CloudFrontTarget(self.distribution)),
                )

        # The build (make storefront): hashed assets first, kept across deploys (pages still open
        # may ask for the previous ones), then index.html, which names the new assets.
        assets = s3deploy.BucketDeployment(
            self,
            "Assets",
            sources=[s3deploy.Source.asset(str(build_dir), exclude=["index.html", "*.gz"])],
            destination_bucket=self.bucket,
            destination_key_prefix=f"{SHOP_PREFIX}/",
            prune=False,
            cache_control=[
                s3deploy.CacheControl.from_string("public, max-age=31536000, immutable"),
            ],
            memory_limit=256,
        )
        index = s3deploy.BucketDeployment(
            self,
            "Index",
            sources=[s3deploy.Source.asset(str(build_dir), exclude=["*", "!index.html"])],
            destination_bucket=self.bucket,
            destination_key_prefix=f"{SHOP_PREFIX}/",
            prune=False,
            cache_control=[s3deploy.CacheControl.from_string("no-store")],
            memory_limit=256,
        )
        index.node.add_dependency(assets)
        self._deployment_role = assets.handler_role
        self._acknowledge()
        CfnOutput(self, "ShopUrl", value=f"{self.url}/{SHOP_PREFIX}/", description="The web shop")

    def environment(self) -> dict[str, str]:
        """For the web tasks: browsers post from the shop's origin (Django's CSRF origin check)."""
        return {"CSRF_TRUSTED_ORIGINS": self.url}

    def _acknowledge(self) -> None:
        stack = Stack.of(self)
        Validations.of(self.distribution).acknowledge(
            Acknowledgment(
                id="AwsSolutions-CFR1", reason="The shop sells worldwide: no geo restriction applies."
            ),
            Acknowledgment(
                id="AwsSolutions-CFR2",
                reason="The API's writes are rate limited by the WAF web ACL on the load balancer "
                "(the origin); the shop's own paths are static GETs from a private bucket.",
            ),
            Acknowledgment(
                id="AwsSolutions-CFR4",
                reason="Without a custom domain the distribution serves the default *.cloudfront.net "
                "certificate, whose TLS policy CloudFront fixes; with one, TLS 1.2 (2021) is the minimum.",
            ),
            Acknowledgment(
                id="AwsSolutions-CFR5",
                reason="Without a certificate on the load balancer (a first try-out) CloudFront reaches it "
                "over HTTP inside AWS's network; with one, over TLS 1.2 only.",
            ),
        )
        # BucketDeployment's upload function (the CDK's own, one per stack): its grants are the
        # CDK's, scoped to the asset bucket's objects (read) and the shop bucket's (write).
        bucket = stack.get_logical_id(self.bucket.node.default_child)
        # The CDK's asset bucket is named after the account: a pipeline's stages name theirs.
        account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
        copy_grants = [
            "Action::s3:GetObject*",
            "Action::s3:GetBucket*",
            "Action::s3:List*",
            "Action::s3:DeleteObject*",
            "Action::s3:Abort*",
            f"Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-{account}-{stack.region}/*",
            f"Resource::<{bucket}.Arn>/*",
        ]
        Validations.of(self._deployment_role.node.scope).acknowledge(
            Acknowledgment(
                id="AwsSolutions-L1",
                reason="The CDK's BucketDeployment function: its runtime is the one this CDK release pins.",
            )
        )
        Validations.of(self._deployment_role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                reason="The CDK's BucketDeployment function logs with AWS's basic execution policy.",
            ),
            *(
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[{grant}]",
                    reason="BucketDeployment copies the build from the CDK's asset bucket into the "
                    "shop bucket: the CDK's own grants on those two buckets' objects.",
                )
                for grant in copy_grants
            ),
        )


def _parent_domain(domain_name: str) -> str:
    """shop.example.com -> example.com (the zone it is usually in); example.com stays itself."""
    labels = domain_name.split(".")
    return ".".join(labels[1:]) if len(labels) > 2 else domain_name
