"""Product images: a private S3 bucket staff upload to (presigned POST), served by CloudFront."""

from aws_cdk import Acknowledgment, Aws, Duration, RemovalPolicy, Validations
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

# Images live under this prefix; it is all CloudFront serves and all the staff role may touch.
IMAGES_PREFIX = "products/"
# The object tag the app sets (catalog/images.py) and the lifecycle rules act on.
STATE_TAG = "cloudcart-image"


def access_log_bucket(scope: Construct, *, expiration: Duration, of: str) -> s3.Bucket:
    """A bucket for access logs (`of` says whose), kept after a teardown. CloudFront's standard logs
    need a bucket with ACLs (it writes with the log-delivery ACL)."""
    logs = s3.Bucket(
        scope,
        "Logs",
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
        enforce_ssl=True,
        lifecycle_rules=[s3.LifecycleRule(expiration=expiration)],
        removal_policy=RemovalPolicy.RETAIN,
    )
    Validations.of(logs).acknowledge(
        Acknowledgment(
            id="AwsSolutions-S1",
            reason=f"This bucket holds {of} access logs; logging access to the log bucket itself "
            "would need yet another bucket.",
        )
    )
    return logs


class ProductImages(Construct):
    """The images bucket (private, encrypted, SSL only, unversioned) and its CDN.

    Objects are tagged by the app: `pending` when signed (an upload nobody attached expires after
    `abandoned_after`), `attached` once a product shows it (kept), `replaced` when a product moved
    on to another image (expires after `replaced_after`, long after any cached page named it).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        abandoned_after: Duration,
        replaced_after: Duration,
        log_retention: Duration,
    ) -> None:
        super().__init__(scope, construct_id)
        logs = access_log_bucket(self, expiration=log_retention, of="the images bucket's and the CDN's")

        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=False,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="AbandonedUploads",
                    prefix=IMAGES_PREFIX,
                    tag_filters={STATE_TAG: "pending"},
                    expiration=abandoned_after,
                ),
                s3.LifecycleRule(
                    id="ReplacedImages",
                    prefix=IMAGES_PREFIX,
                    tag_filters={STATE_TAG: "replaced"},
                    expiration=replaced_after,
                ),
                s3.LifecycleRule(
                    id="IncompleteUploads", abort_incomplete_multipart_upload_after=Duration.days(1)
                ),
            ],
            removal_policy=RemovalPolicy.RETAIN,
            server_access_logs_bucket=logs,
            server_access_logs_prefix="s3/",
        )
        # Origin access control, with a bucket policy written here rather than the origin's own
        # (which would open the whole bucket): CloudFront may read products/* and nothing else.
        access_control = cloudfront.S3OriginAccessControl(
            self, "OriginAccessControl", signing=cloudfront.Signing.SIGV4_ALWAYS
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Cdn",
            comment="CloudCart product images",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_bucket_defaults(
                    self.bucket, origin_access_control_id=access_control.origin_access_control_id
                ),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                # Keys are random and never rewritten: an image can be cached for as long as CloudFront likes.
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
            ),
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_logging=True,
            log_bucket=logs,
            log_file_prefix="cdn/",
        )
        distribution_arn = (
            f"arn:{Aws.PARTITION}:cloudfront::{Aws.ACCOUNT_ID}:"
            f"distribution/{self.distribution.distribution_id}"
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudFrontReadsProductImages",
                actions=["s3:GetObject"],
                principals=[iam.ServicePrincipal("cloudfront.amazonaws.com")],
                resources=[self.bucket.arn_for_objects(f"{IMAGES_PREFIX}*")],
                conditions={"StringEquals": {"AWS:SourceArn": distribution_arn}},
            )
        )
        Validations.of(self.distribution).acknowledge(
            Acknowledgment(
                id="AwsSolutions-CFR1",
                reason="Product images are public and shown worldwide: no geo restriction applies.",
            ),
            Acknowledgment(
                id="AwsSolutions-CFR2",
                reason="The distribution serves static, immutable images from a private bucket "
                "(GET/HEAD only); a WAF web ACL would add cost and protect no write path.",
            ),
            Acknowledgment(
                id="AwsSolutions-CFR4",
                reason="Served on the default *.cloudfront.net certificate, whose minimum TLS "
                "version CloudFront fixes; a custom domain would bring its own TLS policy.",
            ),
        )
        self.base_url = f"https://{self.distribution.distribution_domain_name}"

    def environment(self) -> dict[str, str]:
        return {"PRODUCT_IMAGES_BUCKET": self.bucket.bucket_name, "PRODUCT_IMAGES_BASE_URL": self.base_url}

    def allow_uploads_from(self, origins: list[str]) -> None:
        """CORS: browsers POST the signed form straight to S3 from these origins (the shop's pages)."""
        self.bucket.add_cors_rule(
            allowed_methods=[s3.HttpMethods.POST],
            allowed_origins=origins,
            allowed_headers=["*"],
            max_age=3000,
        )

    def grant_upload_and_verify(self, role: iam.IGrantable) -> None:
        """Sign uploads (the signer must hold PutObject and, for the tag, PutObjectTagging),
        head and read the first bytes of uploads (GetObject covers HeadObject), copy a checked
        upload to the key a product shows (the same three), and retag them: under products/ only."""
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["s3:PutObject", "s3:PutObjectTagging", "s3:GetObject"],
            resource_arns=[self.bucket.arn_for_objects(f"{IMAGES_PREFIX}*")],
        )
