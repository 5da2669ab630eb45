"""The load balancer's web ACL (AWS WAF): each client address's checkouts, limited at the edge."""

import json

from aws_cdk import Duration
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

# What a client past the limit gets: the API's own error shape and status (docs/api.md).
THROTTLED_BODY = json.dumps(
    {"code": "throttled", "detail": "Too many checkouts from this address; try again in a few minutes."}
)


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def _matches(field: wafv2.CfnWebACL.FieldToMatchProperty, value: str, how: str):
    return wafv2.CfnWebACL.StatementProperty(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=field,
            positional_constraint=how,
            search_string=value,
            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
        )
    )


class Firewall(Construct):
    """A regional web ACL on the ALB: every request is allowed, except an address's
    `POST /checkout` past `checkouts_per_address` per `window`, which gets 429 `throttled`.

    The app limits checkouts per client identity (and those of clients with none per address,
    THROTTLE_GUEST_CHECKOUT_RATE), but a client can mint a new identity per request: the edge
    counts addresses, whatever the request claims, before a task spends anything on it. The ALB
    faces the internet directly, so the address WAF sees is the client's.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        load_balancer: elbv2.IApplicationLoadBalancer,
        checkouts_per_address: int,
        window: Duration,
    ) -> None:
        super().__init__(scope, construct_id)
        checkout = wafv2.CfnWebACL.StatementProperty(
            and_statement=wafv2.CfnWebACL.AndStatementProperty(
                statements=[
                    _matches(wafv2.CfnWebACL.FieldToMatchProperty(method={}), "POST", "EXACTLY"),
                    _matches(wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}), "/checkout", "STARTS_WITH"),
                ]
            )
        )
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility("CloudCartWeb"),
            custom_response_bodies={
                "throttled": wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON", content=THROTTLED_BODY
                )
            },
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="CheckoutsPerAddress",
                    priority=0,
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            aggregate_key_type="IP",
                            limit=checkouts_per_address,
                            evaluation_window_sec=int(window.to_seconds()),
                            scope_down_statement=checkout,
                        )
                    ),
                    action=wafv2.CfnWebACL.RuleActionProperty(
                        block=wafv2.CfnWebACL.BlockActionProperty(
                            custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                                response_code=429,
                                custom_response_body_key="throttled",
                                response_headers=[
                                    wafv2.CfnWebACL.CustomHTTPHeaderProperty(
                                        name="Retry-After", value=str(int(window.to_seconds()))
                                    )
                                ],
                            )
                        )
                    ),
                    visibility_config=_visibility("CheckoutsPerAddress"),
                )
            ],
        )
        wafv2.CfnWebACLAssociation(
            self,
            "LoadBalancer",
            resource_arn=load_balancer.load_balancer_arn,
            web_acl_arn=self.web_acl.attr_arn,
        )
