"""Order notifications: the events topic, the notifications queue and DLQ, the SES identity and
configuration set, and the notifier service that alone publishes and sends."""

from aws_cdk import Acknowledgment, Aws, Duration, RemovalPolicy, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from deploy.stacks.services import FARGATE_MAX_STOP_TIMEOUT, app_task_definition


def sender_for(identity: str) -> str:
    """The From address for an SES identity: the address itself, or orders@ the domain."""
    return identity if "@" in identity else f"orders@{identity}"


class Notifications(Construct):
    """The events topic (own KMS key), the notifications queue + DLQ and the SES identity.

    `identity` is a domain ("shop.example.com": verify it with the DKIM records SES lists) or one
    address (SES e-mails it a verification link).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        identity: str,
        max_receives: int,
        visibility_timeout: Duration,
        task_time_limit: Duration,
    ) -> None:
        super().__init__(scope, construct_id)
        if visibility_timeout.to_seconds() <= task_time_limit.to_seconds():
            raise ValueError("the visibility timeout must exceed the task time limit")
        # Order events carry order contents: encrypted with a key of our own (the AWS-managed SNS
        # key cannot be granted to subscribers in other accounts).
        self.key = kms.Key(
            self,
            "EventsKey",
            description="CloudCart order events topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,  # protects messages in flight, never data at rest
            pending_window=Duration.days(7),
        )
        self.topic = sns.Topic(
            self, "OrderEvents", display_name="CloudCart order events", master_key=self.key, enforce_ssl=True
        )
        self.dlq = sqs.Queue(
            self,
            "NotificationsDlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.queue = sqs.Queue(
            self,
            "NotificationsQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=visibility_timeout,
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=max_receives, queue=self.dlq),
        )
        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            reputation_metrics=True,
            sending_enabled=True,
            tls_policy=ses.ConfigurationSetTlsPolicy.REQUIRE,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )
        self.identity_name = identity
        self.sender = sender_for(identity)
        self.identity = ses.EmailIdentity(
            self,
            "SenderIdentity",
            identity=ses.Identity.email(identity) if "@" in identity else ses.Identity.domain(identity),
            configuration_set=self.configuration_set,
        )

    def environment(self) -> dict[str, str]:
        return {
            "NOTIFICATIONS_QUEUE_NAME": self.queue.queue_name,
            "NOTIFICATIONS_QUEUE_URL": self.queue.queue_url,
            "NOTIFICATIONS_DLQ_NAME": self.dlq.queue_name,
            "ORDER_EVENTS_TOPIC_ARN": self.topic.topic_arn,
            "SES_CONFIGURATION_SET": self.configuration_set.configuration_set_name,
            "NOTIFICATIONS_SENDER": self.sender,
        }

    def grant_send(self, role: iam.IGrantable) -> None:
        """Publish events (only this role may: the topic's policy denies everyone else) and send
        e-mail (SendEmail: no raw MIME) from the one identity, through the one configuration set,
        from the one address."""
        self.topic.grant_publish(role)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyTheNotifierPublishes",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"ArnNotEquals": {"aws:PrincipalArn": role.grant_principal.role_arn}},
            )
        )
        # Text messages to customers who opted in: SNS Publish to a phone number names no
        # resource, so IAM only accepts `*` for it (SMS spending is capped per account, see
        # docs/operations.md).
        role.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(sid="SmsToPhoneNumbers", actions=["sns:Publish"], resources=["*"])
        )
        Validations.of(role.grant_principal).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="sns:Publish to a phone number (order SMS) has no resource ARN: IAM takes only "
                "`*`; topics other than the events topic are not used by the notifier.",
            )
        )
        self.grant_email(role)

    def grant_email(self, role: iam.IGrantable) -> None:
        """Send e-mail from the one identity, through the one configuration set, from the one
        address (the notifier, and the back office resending a receipt)."""
        role.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ses:SendEmail"],
                resources=[
                    f"arn:{Aws.PARTITION}:ses:{Aws.REGION}:{Aws.ACCOUNT_ID}:identity/{self.identity_name}",
                    f"arn:{Aws.PARTITION}:ses:{Aws.REGION}:{Aws.ACCOUNT_ID}:configuration-set/"
                    f"{self.configuration_set.configuration_set_name}",
                ],
                conditions={"StringEquals": {"ses:FromAddress": self.sender}},
            )
        )

    def alarm_dead_letters(self, *, topic: sns.ITopic) -> cloudwatch.Alarm:
        """Anything in the notifications DLQ: an event or e-mail that exhausted its retries."""
        alarm = self.dlq.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(1), statistic="Maximum"
        ).create_alarm(
            self,
            "DeadLetters",
            alarm_description="A notification exhausted its retries (SES or SNS down or refusing)",
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        action = cloudwatch_actions.SnsAction(topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        return alarm

    def alarm_backlog(self, *, topic: sns.ITopic, oldest_message_age: Duration) -> cloudwatch.Alarm:
        """Notifications wait in the queue: no notifier runs (nothing is received, so nothing ever
        reaches the DLQ and its alarm stays quiet), or it is stuck or too slow."""
        alarm = self.queue.metric_approximate_age_of_oldest_message(
            period=Duration.minutes(1), statistic="Maximum"
        ).create_alarm(
            self,
            "Backlog",
            alarm_description="Notifications wait in their queue: the notifier is down, stuck or too slow",
            threshold=oldest_message_age.to_seconds(),
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=3,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        action = cloudwatch_actions.SnsAction(topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        return alarm


class Notifier(Construct):
    """A Celery worker that consumes only the notifications queue: SES being slow or down never
    takes a slot from order processing."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ecs.ICluster,
        image: ecs.ContainerImage,
        environment: dict[str, str],
        secrets: dict[str, ecs.Secret],
        task_time_limit: Duration,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        self.task_definition = app_task_definition(
            self,
            name="notifier",
            image=image,
            command=["celery", "-A", "cloudcart", "worker", "--loglevel", "INFO"],
            environment={**environment, "WORKER_QUEUES": "notifications"},
            secrets=secrets,
            cpu=256,
            memory_mib=512,
            log_retention=log_retention,
            stop_timeout=Duration.seconds(
                min(FARGATE_MAX_STOP_TIMEOUT, int(task_time_limit.to_seconds()) + 30)
            ),
        )
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=self.task_definition,
            desired_count=1,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )
        Validations.of(self.task_definition.task_role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
                reason="grant_publish on the KMS-encrypted events topic: SNS needs the data-key "
                "actions on that one key (the grant names the key, not every key).",
            ),
            Acknowledgment(
                id="AwsSolutions-IAM5[Action::kms:ReEncrypt*]",
                reason="grant_publish on the KMS-encrypted events topic: the CDK's grant on that one "
                "key includes ReEncrypt*; no other key is reachable.",
            ),
        )
