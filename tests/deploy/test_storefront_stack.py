"""The web shop on AWS: a private bucket behind one CloudFront distribution with the API, hashed
assets cached a year, index.html never, deep links rewritten to it, security headers, DNS and a
certificate for a custom domain, and the build uploaded on deploy."""

import json
import subprocess

from aws_cdk.assertions import Match

from deploy.stacks.storefront import REWRITE_TO_INDEX
from tests.deploy.conftest import DOMAIN_NAME, HOSTED_ZONE_ID


def shop_distribution(stack) -> dict:
    for distribution in stack.of_type("AWS::CloudFront::Distribution").values():
        config = distribution["Properties"]["DistributionConfig"]
        if any(b["PathPattern"].startswith("/shop") for b in config.get("CacheBehaviors", [])):
            return config
    raise AssertionError("no distribution serves /shop")


def test_the_shop_bucket_is_private_and_read_by_cloudfront_through_origin_access_control(synthesized):
    for stack in synthesized.values():
        assert stack.nag_failure is None, stack.nag_failure
        config = shop_distribution(stack)
        s3_origins = [o for o in config["Origins"] if "S3OriginConfig" in o]
        assert s3_origins and all(o.get("OriginAccessControlId") for o in s3_origins)
        assert all(o["S3OriginConfig"].get("OriginAccessIdentity", "") == "" for o in s3_origins)
    stack = synthesized["https"]
    stack.template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LoggingConfiguration": Match.object_like({"LogFilePrefix": "s3/"}),
        },
    )
    stack.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "s3:GetObject",
                                "Principal": {"Service": "cloudfront.amazonaws.com"},
                                "Condition": {"StringEquals": {"AWS:SourceArn": Match.any_value()}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_assets_are_cached_a_year_index_never_and_the_api_never(stack):
    config = shop_distribution(stack)
    behaviors = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    assert list(behaviors) == ["/shop/assets/*", "/shop/config.json", "/shop*"]  # most specific first
    policies = stack.of_type("AWS::CloudFront::CachePolicy")
    assets_policy = policies[behaviors["/shop/assets/*"]["CachePolicyId"]["Ref"]]["Properties"][
        "CachePolicyConfig"
    ]
    assert assets_policy["MinTTL"] == assets_policy["DefaultTTL"] == 365 * 24 * 3600
    caching_disabled = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # AWS's managed CachingDisabled
    assert behaviors["/shop*"]["CachePolicyId"] == caching_disabled
    assert behaviors["/shop/config.json"]["CachePolicyId"] == caching_disabled
    assert config["DefaultCacheBehavior"]["CachePolicyId"] == caching_disabled
    # The API (default behaviour) and the shop's settings go to the load balancer, with every
    # viewer header (Host), cookie and query string, and every method.
    api_origin = config["DefaultCacheBehavior"]["TargetOriginId"]
    assert behaviors["/shop/config.json"]["TargetOriginId"] == api_origin
    assert "CustomOriginConfig" in next(o for o in config["Origins"] if o["Id"] == api_origin)
    assert config["DefaultCacheBehavior"]["OriginRequestPolicyId"] == "216adef6-5c7f-47e4-b989-5492eafa07d3"
    assert "POST" in config["DefaultCacheBehavior"]["AllowedMethods"]
    # The upload: assets immutable for a year, index.html no-store, after the assets.
    deployments = stack.of_type("Custom::CDKBucketDeployment")
    cache_controls = sorted(d["Properties"]["SystemMetadata"]["cache-control"] for d in deployments.values())
    assert cache_controls == ["no-store", "public, max-age=31536000, immutable"]


def test_deep_links_are_rewritten_to_index_html_by_a_cloudfront_function(stack):
    config = shop_distribution(stack)
    shop = next(b for b in config["CacheBehaviors"] if b["PathPattern"] == "/shop*")
    assert shop["FunctionAssociations"][0]["EventType"] == "viewer-request"
    rewrite = (
        "const handler = (function () { REWRITE; return handler; })();"
        "const out = {};"
        "for (const uri of process.argv.slice(1)) out[uri] = handler({request: {uri}}).uri;"
        "console.log(JSON.stringify(out));"
    ).replace("REWRITE", REWRITE_TO_INDEX)
    uris = ["/shop", "/shop/", "/shop/products/42", "/shop/orders/abc", "/shop/assets/index-Ab12Cd34.js"]
    result = subprocess.run(["node", "-e", rewrite, *uris], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == {
        "/shop": "/shop/index.html",
        "/shop/": "/shop/index.html",
        "/shop/products/42": "/shop/index.html",
        "/shop/orders/abc": "/shop/index.html",
        "/shop/assets/index-Ab12Cd34.js": "/shop/assets/index-Ab12Cd34.js",
    }


def test_the_shop_pages_carry_a_csp_allowing_stripe_hsts_and_no_framing(stack):
    stack.template.has_resource_properties(
        "AWS::CloudFront::ResponseHeadersPolicy",
        {
            "ResponseHeadersPolicyConfig": Match.object_like(
                {
                    "SecurityHeadersConfig": Match.object_like(
                        {
                            "ContentSecurityPolicy": {
                                "ContentSecurityPolicy": Match.string_like_regexp(
                                    r"script-src 'self' https://js\.stripe\.com.*"
                                    r"frame-src https://js\.stripe\.com https://hooks\.stripe\.com.*"
                                    r"frame-ancestors 'none'"
                                ),
                                "Override": True,
                            },
                            "StrictTransportSecurity": Match.object_like(
                                {"AccessControlMaxAgeSec": 31536000, "IncludeSubdomains": True}
                            ),
                            "FrameOptions": {"FrameOption": "DENY", "Override": True},
                        }
                    )
                }
            )
        },
    )


def test_a_custom_domain_gets_a_dns_validated_certificate_and_alias_records(synthesized):
    https, http = synthesized["https"], synthesized["http"]
    https.template.has_resource_properties(
        "AWS::CertificateManager::Certificate",
        {"DomainName": DOMAIN_NAME, "ValidationMethod": "DNS"},
    )
    config = shop_distribution(https)
    assert config["Aliases"] == [DOMAIN_NAME]
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    for record_type in ("A", "AAAA"):
        https.template.has_resource_properties(
            "AWS::Route53::RecordSet",
            {"Name": f"{DOMAIN_NAME}.", "Type": record_type, "HostedZoneId": HOSTED_ZONE_ID},
        )
    # The web tasks accept the shop's host and trust posts from its origin (CSRF).
    assert DOMAIN_NAME in json.dumps(https.environment("web")["ALLOWED_HOSTS"])  # beside the ALB's name
    assert https.environment("web")["CSRF_TRUSTED_ORIGINS"] == f"https://{DOMAIN_NAME}"
    # Without a zone: the distribution's own name and certificate, no DNS of ours.
    assert not http.of_type("AWS::CertificateManager::Certificate")
    assert not http.of_type("AWS::Route53::RecordSet")
    assert "Aliases" not in shop_distribution(http)
