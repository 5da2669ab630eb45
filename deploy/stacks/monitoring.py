"""CloudWatch alarms on the web tier, the Stripe webhook, the orders queues and the periodic tasks,
sent to one SNS topic by email."""

import math

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cloudcart.metrics import BEAT_HEARTBEAT, OLDEST_AWAITING_PAYMENT_AGE, OLDEST_PENDING_ORDER_AGE


class Alarms(Construct):
    """5xx rate and p99 latency at the ALB; Stripe webhooks answered with errors; age of the
    oldest order message; anything in the DLQ; an order PENDING past the reconcile window, or
    AWAITING_PAYMENT past the payment timeout; beat's heartbeat gone."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        load_balancer: elbv2.ApplicationLoadBalancer,
        target_group: elbv2.ApplicationTargetGroup,
        webhook_target_group: elbv2.ApplicationTargetGroup,
        queue: sqs.IQueue,
        dlq: sqs.IQueue,
        email: str,
        error_rate_percent: float,
        p99_latency: Duration,
        oldest_message_age: Duration,
        metrics_namespace: str,
        pending_order_age: Duration,
        reconcile_every: Duration,
        awaiting_payment_age: Duration,
        heartbeat_every: Duration,
        webhook_errors: int = 3,
    ) -> None:
        super().__init__(scope, construct_id)
        # CloudWatch can publish to an encrypted topic only with a key whose policy lets it in:
        # the AWS-managed SNS key does not, so the topic has its own key.
        key = kms.Key(
            self,
            "TopicKey",
            description="CloudCart alarm notifications",
            enable_key_rotation=True,
            # Protects notifications in flight, never data at rest: nothing to keep after teardown.
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        key.grant_encrypt_decrypt(iam.ServicePrincipal("cloudwatch.amazonaws.com"))
        self.topic = sns.Topic(
            self, "Topic", display_name="CloudCart alarms", master_key=key, enforce_ssl=True
        )
        self.topic.add_subscription(subscriptions.EmailSubscription(email))

        one_minute = Duration.minutes(1)
        reconcile_period = Duration.minutes(max(5, math.ceil(3 * reconcile_every.to_seconds() / 60)))
        requests = load_balancer.metrics.request_count(period=one_minute)
        elb_5xx = load_balancer.metrics.http_code_elb(elbv2.HttpCodeElb.ELB_5XX_COUNT, period=one_minute)
        target_5xx = load_balancer.metrics.http_code_target(
            elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=one_minute
        )
        error_rate = cloudwatch.MathExpression(
            expression="100 * (FILL(elb, 0) + FILL(target, 0)) / requests",
            using_metrics={"requests": requests, "elb": elb_5xx, "target": target_5xx},
            label="5xx rate (%)",
            period=one_minute,
        )
        self.alarms = [
            error_rate.create_alarm(
                self,
                "ErrorRate",
                alarm_description=f"More than {error_rate_percent}% of requests answered 5xx",
                threshold=error_rate_percent,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=3,
                datapoints_to_alarm=2,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            target_group.metrics.target_response_time(period=one_minute, statistic="p99").create_alarm(
                self,
                "LatencyP99",
                alarm_description=f"p99 target response time above {p99_latency.to_seconds()} s",
                threshold=p99_latency.to_seconds(),
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=5,
                datapoints_to_alarm=3,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            queue.metric_approximate_age_of_oldest_message(
                period=one_minute, statistic="Maximum"
            ).create_alarm(
                self,
                "OldestOrderMessage",
                alarm_description="Orders wait in the queue: workers are down, stuck or too few",
                threshold=oldest_message_age.to_seconds(),
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=3,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            dlq.metric_approximate_number_of_messages_visible(
                period=one_minute, statistic="Maximum"
            ).create_alarm(
                self,
                "DeadLetters",
                alarm_description="An order message exhausted its deliveries and sits in the DLQ",
                threshold=0,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            # The reconciler reports the oldest PENDING order's age each run, also when its
            # republishing raised. No point at all (the age cannot be read, no run) breaches: a
            # reconciler that fails every run leaves orders stuck unseen. Periods of several runs,
            # so one late run is no alarm.
            cloudwatch.Metric(
                namespace=metrics_namespace,
                metric_name=OLDEST_PENDING_ORDER_AGE,
                period=reconcile_period,
                statistic="Maximum",
            ).create_alarm(
                self,
                "PendingOrdersStuck",
                alarm_description=(
                    f"An order is still PENDING {int(pending_order_age.to_seconds())} s after checkout: "
                    "the reconciler's republish did not get it processed (workers down, a poison order)"
                ),
                threshold=pending_order_age.to_seconds(),
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=2,
                datapoints_to_alarm=2,
                treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            ),
            # Stripe retries a webhook it could not deliver, but an error answer means events
            # wait (or, with a wrong secret, never land): the webhook route has its own target
            # group, so its answers are counted apart from the API's. 4xx is a bad signature
            # (a wrong STRIPE_WEBHOOK_SECRET) or a forged call; 5xx our own failure.
            cloudwatch.MathExpression(
                expression="FILL(errors4xx, 0) + FILL(errors5xx, 0)",
                using_metrics={
                    "errors4xx": webhook_target_group.metrics.http_code_target(
                        elbv2.HttpCodeTarget.TARGET_4XX_COUNT, period=Duration.minutes(5)
                    ),
                    "errors5xx": webhook_target_group.metrics.http_code_target(
                        elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=Duration.minutes(5)
                    ),
                },
                label="Stripe webhook errors",
                period=Duration.minutes(5),
            ).create_alarm(
                self,
                "WebhookFailures",
                alarm_description="Stripe webhooks answered 4xx/5xx: a wrong signing secret, forged "
                "calls, or the handler failing (payments then wait for the reconciler)",
                threshold=webhook_errors,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                evaluation_periods=2,
                datapoints_to_alarm=2,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            # The payment reconciler reports the oldest AWAITING_PAYMENT order's age each run and
            # expires orders unpaid past the payment timeout: one older than that (plus a run)
            # means it does not (Stripe unreachable, the reconciler failing).
            cloudwatch.Metric(
                namespace=metrics_namespace,
                metric_name=OLDEST_AWAITING_PAYMENT_AGE,
                period=one_minute,
                statistic="Maximum",
            ).create_alarm(
                self,
                "AwaitingPaymentStuck",
                alarm_description=(
                    f"An order is still AWAITING_PAYMENT {int(awaiting_payment_age.to_seconds())} s "
                    "after checkout: the payment reconciler did not expire it (Stripe unreachable?)"
                ),
                threshold=awaiting_payment_age.to_seconds(),
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=3,
                datapoints_to_alarm=2,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            # Beat publishes the heartbeat task and a worker puts the point: no point for five
            # beats means beat stopped (or no worker runs its tasks). Missing data IS the alarm.
            cloudwatch.Metric(
                namespace=metrics_namespace,
                metric_name=BEAT_HEARTBEAT,
                period=Duration.seconds(max(300, 5 * int(heartbeat_every.to_seconds()))),
                statistic="SampleCount",
            ).create_alarm(
                self,
                "BeatHeartbeatMissing",
                alarm_description="No heartbeat from Celery beat: periodic tasks are not running",
                threshold=1,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            ),
        ]
        action = cloudwatch_actions.SnsAction(self.topic)
        for alarm in self.alarms:
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
