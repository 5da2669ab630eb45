"""The back office's order ledger on AWS: Aurora PostgreSQL Serverless v2 behind RDS Proxy, the
projector's queue (subscribed to the order events) and DLQ, its service, and the lag alarm."""

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from deploy.stacks.services import app_task_definition

DATABASE_NAME = "cloudcart"
DATABASE_USER = "cloudcart"
# Aurora's own port is not the engine default (AwsSolutions-RDS11); RDS Proxy listens on 5432.
CLUSTER_PORT = 5433
PROXY_PORT = 5432
# Run by every task that uses the database before its app container starts (`before` in
# app_task_definition): no task serves an unmigrated schema. The command holds a PostgreSQL
# advisory lock, so tasks starting together apply each migration once.
MIGRATE_COMMAND = ["python", "manage.py", "ledger_migrate", "--wait", "120"]


class LedgerDatabase(Construct):
    """Aurora PostgreSQL Serverless v2 (encrypted, 7 days of backups, deletion protection, TLS
    only) reached only through RDS Proxy (TLS required, Secrets Manager auth). Only the tasks
    passed to `allow_from` may connect to the proxy; only the proxy may connect to the cluster."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        min_capacity: float,
        max_capacity: float,
    ) -> None:
        super().__init__(scope, construct_id)
        engine = rds.DatabaseClusterEngine.aurora_postgres(version=rds.AuroraPostgresEngineVersion.VER_17_9)
        parameters = rds.ParameterGroup(
            self,
            "Parameters",
            engine=engine,
            description="CloudCart ledger: TLS only, slow statements logged",
            parameters={"rds.force_ssl": "1", "log_min_duration_statement": "500"},
        )
        subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        self.cluster_security_group = ec2.SecurityGroup(
            self, "ClusterSecurityGroup", vpc=vpc, description="CloudCart ledger: from its proxy only"
        )
        self.cluster = rds.DatabaseCluster(
            self,
            "Cluster",
            engine=engine,
            writer=rds.ClusterInstance.serverless_v2("Writer", publicly_accessible=False),
            serverless_v2_min_capacity=min_capacity,
            serverless_v2_max_capacity=max_capacity,
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[self.cluster_security_group],
            port=CLUSTER_PORT,
            default_database_name=DATABASE_NAME,
            credentials=rds.Credentials.from_generated_secret(DATABASE_USER),
            parameter_group=parameters,
            storage_encrypted=True,
            iam_authentication=True,
            backup=rds.BackupProps(retention=Duration.days(7), preferred_window="03:00-04:00"),
            deletion_protection=True,
            removal_policy=RemovalPolicy.SNAPSHOT,
            # Slow statements (over 500 ms) to CloudWatch Logs. No retention setting here: the
            # CDK would add a Lambda to apply it; operations.md says how to set it once.
            cloudwatch_logs_exports=["postgresql"],
        )
        self.secret = self.cluster.secret
        self.proxy_security_group = ec2.SecurityGroup(
            self,
            "ProxySecurityGroup",
            vpc=vpc,
            description="CloudCart ledger proxy: from the back office and projector tasks only",
        )
        self.proxy = self.cluster.add_proxy(
            "Proxy",
            secrets=[self.secret],
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[self.proxy_security_group],
            require_tls=True,
            debug_logging=False,
            idle_client_timeout=Duration.minutes(30),
        )
        self.cluster.connections.allow_default_port_from(self.proxy_security_group, "RDS Proxy to Aurora")

    @property
    def url(self) -> str:
        """DATABASE_URL without the password (ECS injects DATABASE_PASSWORD from the secret)."""
        return (
            f"postgres://{DATABASE_USER}@{self.proxy.endpoint}:{PROXY_PORT}/{DATABASE_NAME}?sslmode=require"
        )

    def environment(self) -> dict[str, str]:
        return {"DATABASE_URL": self.url}

    def secrets(self) -> dict[str, ecs.Secret]:
        return {"DATABASE_PASSWORD": ecs.Secret.from_secrets_manager(self.secret, "password")}

    def allow_from(self, service: ecs.FargateService, description: str) -> None:
        self.proxy.connections.allow_from(service, ec2.Port.tcp(PROXY_PORT), description)


class LedgerProjector(Construct):
    """The projector: its queue (raw delivery from the order events topic) and DLQ, one Fargate
    task running `manage.py ledger_project`, the lag alarm (the queue's oldest event) and the DLQ
    alarm."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ecs.ICluster,
        image: ecs.ContainerImage,
        environment: dict[str, str],
        secrets: dict[str, ecs.Secret],
        topic: sns.ITopic,
        max_receives: int,
        visibility_timeout: Duration,
        log_retention: logs.RetentionDays,
        cpu: int = 256,
        memory_mib: int = 512,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dlq = sqs.Queue(
            self,
            "Dlq",
            retention_period=Duration.days(14),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            visibility_timeout=visibility_timeout,
            retention_period=Duration.days(14),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=max_receives, queue=self.dlq),
        )
        topic.add_subscription(subscriptions.SqsSubscription(self.queue, raw_message_delivery=True))
        self.environment = {"LEDGER_QUEUE_URL": self.queue.queue_url}
        self.task_definition = app_task_definition(
            self,
            name="ledger",
            image=image,
            command=["python", "manage.py", "ledger_project"],
            before=MIGRATE_COMMAND,
            environment={**environment, **self.environment},
            secrets=secrets,
            cpu=cpu,
            memory_mib=memory_mib,
            log_retention=log_retention,
            # A batch finishes (one read, one transaction) well within this after SIGTERM.
            stop_timeout=Duration.seconds(30),
        )
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=self.task_definition,
            desired_count=1,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )

    def alarms(self, *, topic: sns.ITopic, lag: Duration) -> list[cloudwatch.Alarm]:
        """Ledger lag: the oldest event not yet projected, older than `lag`; anything in the DLQ."""
        one_minute = Duration.minutes(1)
        lag_alarm = self.queue.metric_approximate_age_of_oldest_message(
            period=one_minute, statistic="Maximum"
        ).create_alarm(
            self,
            "LagAlarm",
            alarm_description=f"Ledger lag: an order event waited more than {int(lag.to_seconds())} s "
            "to be projected (is the projector running? is the database reachable?)",
            threshold=lag.to_seconds(),
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        dlq_alarm = self.dlq.metric_approximate_number_of_messages_visible(
            period=one_minute, statistic="Maximum"
        ).create_alarm(
            self,
            "DlqAlarm",
            alarm_description="Order events the projector failed 5 times (run ledger_check, then redrive)",
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        for alarm in (lag_alarm, dlq_alarm):
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
        return [lag_alarm, dlq_alarm]
