"""The ECS services that run the one image: web and staff (behind the ALB), worker, beat; the seed task."""

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk.aws_applicationautoscaling import AdjustmentType, ScalingInterval
from constructs import Construct

WEB_PORT = 8000
# Fargate allows at most 120 s between SIGTERM and SIGKILL.
FARGATE_MAX_STOP_TIMEOUT = 120
# The staff catalog writes (catalog/urls.py, catalog/staff_views.py): these methods on these ALB
# path patterns go to the staff service, whose role may write products and image objects; every
# other request (product GETs, staff reads included) goes to web, whose role may not.
# Refunds are staff writes too: restocking returns units to products, which web may not write.
STAFF_WRITE_PATHS = ("/products", "/products/*", "/uploads/*", "/orders/*/refunds")
STAFF_WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Stripe's webhook: served by web, through a target group of its own (its own 4xx/5xx metrics),
# matched before every other rule.
WEBHOOK_PATH = "/webhooks/stripe"
WEBHOOK_RULE_PRIORITY = 5
# The back office (the Django admin over the order ledger) is served by the staff service too.
BACK_OFFICE_PATHS = ("/admin", "/admin/*")
# An ALB rule holds at most 5 condition values (paths and methods together).
ALB_RULE_MAX_VALUES = 5


# The AWS Distro for OpenTelemetry collector beside each app container: the app sends its spans
# over OTLP/HTTP to localhost, the collector batches them to X-Ray (the X-Ray daemon and SDKs
# are in maintenance; OTLP is the way in). Pinned, like every image we run.
OTEL_COLLECTOR_IMAGE = "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3"
OTLP_HTTP_ENDPOINT = "http://localhost:4318"
OTEL_COLLECTOR_CONFIG = """\
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:4318
processors:
  batch:
    timeout: 5s
exporters:
  awsxray:
    indexed_attributes: [messaging.message.id, celery.task_name]
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [awsxray]
"""
# What the collector's awsxray exporter calls: no resource-level scoping exists for these.
XRAY_ACTIONS = [
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
]


def otel_collector_add(
    scope: Construct,
    task_definition: ecs.FargateTaskDefinition,
    *,
    name: str,
    log_group: logs.ILogGroup,
) -> ecs.ContainerDefinition:
    """The ADOT collector sidecar (not essential: tracing down never stops the app) and the task
    role's X-Ray grant."""
    collector = task_definition.add_container(
        "otel-collector",
        container_name="otel-collector",
        image=ecs.ContainerImage.from_registry(OTEL_COLLECTOR_IMAGE),
        essential=False,
        memory_reservation_mib=64,
        environment={"AOT_CONFIG_CONTENT": OTEL_COLLECTOR_CONFIG},
        logging=ecs.LogDrivers.aws_logs(stream_prefix=f"{name}-otel", log_group=log_group),
    )
    task_definition.add_to_task_role_policy(iam.PolicyStatement(actions=XRAY_ACTIONS, resources=["*"]))
    Validations.of(task_definition.task_role).acknowledge(
        Acknowledgment(
            id="AwsSolutions-IAM5[Resource::*]",
            reason="X-Ray's PutTraceSegments, PutTelemetryRecords and sampling calls have no "
            "resource-level permissions; the ADOT collector sidecar makes them.",
        )
    )
    return collector


def app_task_definition(
    scope: Construct,
    *,
    name: str,
    image: ecs.ContainerImage,
    command: list[str],
    environment: dict[str, str],
    secrets: dict[str, ecs.Secret],
    cpu: int,
    memory_mib: int,
    log_retention: logs.RetentionDays,
    stop_timeout: Duration,
    port: int | None = None,
    tracing: bool = True,
    before: list[str] | None = None,
) -> ecs.FargateTaskDefinition:
    """A task definition with one container `name` running `command` in the app image; with
    `tracing`, the ADOT collector beside it and the app's spans sent there; with `before`, a
    container `{name}-before` runs that command first (same image, environment and secrets) and
    `name` starts only once it has exited successfully."""
    task_definition = ecs.FargateTaskDefinition(
        scope,
        "TaskDefinition",
        cpu=cpu,
        memory_limit_mib=memory_mib,
        runtime_platform=ecs.RuntimePlatform(
            operating_system_family=ecs.OperatingSystemFamily.LINUX,
            cpu_architecture=ecs.CpuArchitecture.X86_64,
        ),
    )
    log_group = logs.LogGroup(scope, "Logs", retention=log_retention, removal_policy=RemovalPolicy.RETAIN)
    if tracing:
        environment = {
            **environment,
            "OTEL_SERVICE_NAME": name,
            "OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_HTTP_ENDPOINT,
        }
    app = task_definition.add_container(
        name,
        container_name=name,
        image=image,
        command=command,
        environment=environment,
        secrets=secrets,
        logging=ecs.LogDrivers.aws_logs(stream_prefix=name, log_group=log_group),
        stop_timeout=stop_timeout,
        port_mappings=[ecs.PortMapping(container_port=port)] if port else None,
    )
    if tracing:
        otel_collector_add(scope, task_definition, name=name, log_group=log_group)
    if before:
        first = task_definition.add_container(
            f"{name}-before",
            container_name=f"{name}-before",
            image=image,
            command=before,
            environment=environment,
            secrets=secrets,
            essential=False,
            logging=ecs.LogDrivers.aws_logs(stream_prefix=f"{name}-before", log_group=log_group),
            stop_timeout=Duration.seconds(30),
        )
        app.add_container_dependencies(
            ecs.ContainerDependency(container=first, condition=ecs.ContainerDependencyCondition.SUCCESS)
        )
    Validations.of(task_definition.execution_role).acknowledge(
        Acknowledgment(
            id="AwsSolutions-IAM5[Resource::*]",
            reason="ECS execution role: ecr:GetAuthorizationToken has no resource scope (the CDK's "
            "own grant for pulling the image); the app's task role has no such wildcard.",
        )
    )
    return task_definition


def staff_write_rules() -> list[tuple[list[str], list[str]]]:
    """(path patterns, methods) of each listener rule: one path per rule, its methods in chunks
    that keep every rule within ALB_RULE_MAX_VALUES condition values."""
    per_rule = ALB_RULE_MAX_VALUES - 1
    return [
        ([path], list(STAFF_WRITE_METHODS[start : start + per_rule]))
        for path in STAFF_WRITE_PATHS
        for start in range(0, len(STAFF_WRITE_METHODS), per_rule)
    ]


def _health_check() -> elbv2.HealthCheck:
    """`/healthz` (no dependencies): a task is taken out of the target group only if it hangs."""
    return elbv2.HealthCheck(
        path="/healthz",
        healthy_http_codes="200",
        interval=Duration.seconds(15),
        timeout=Duration.seconds(5),
        healthy_threshold_count=2,
        unhealthy_threshold_count=3,
    )


class WebService(Construct):
    """gunicorn on Fargate behind an internet-facing ALB; scaled on CPU and on requests per task."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ecs.ICluster,
        image: ecs.ContainerImage,
        environment: dict[str, str],
        secrets: dict[str, ecs.Secret],
        certificate: acm.ICertificate | None,
        domain_name: str | None,
        idle_timeout: Duration,
        graceful_timeout: Duration,
        min_tasks: int,
        max_tasks: int,
        requests_per_task: int,
        log_retention: logs.RetentionDays,
        cpu: int = 512,
        memory_mib: int = 1024,
    ) -> None:
        super().__init__(scope, construct_id)
        vpc = cluster.vpc
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=True,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            idle_timeout=idle_timeout,
            drop_invalid_header_fields=True,
        )
        access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # the only kind ALB log delivery supports
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.load_balancer.log_access_logs(access_logs, prefix="alb")
        Validations.of(self.load_balancer).acknowledge(
            Acknowledgment(
                id="AwsSolutions-EC23",
                reason="The public API's load balancer: its listeners are open to the internet by design.",
            )
        )
        Validations.of(access_logs).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="This bucket holds the load balancer's access logs; logging access to the "
                "log bucket itself would need yet another bucket.",
            )
        )

        # The ALB connects from its own subnets; only those may set X-Forwarded-* for gunicorn
        # (and the task's security group admits the ALB only).
        alb_cidrs = [subnet.ipv4_cidr_block for subnet in vpc.public_subnets]
        # The names clients reach the API by; other processes need it too (production settings).
        self.allowed_hosts = ",".join(
            [self.load_balancer.load_balancer_dns_name] + ([domain_name] if domain_name else [])
        )
        web_environment = {
            **environment,
            "ALLOWED_HOSTS": self.allowed_hosts,
            "HOST": "0.0.0.0",  # noqa: S104 - inside the task's network namespace, behind its SG
            "PORT": str(WEB_PORT),
            "FORWARDED_ALLOW_IPS": ",".join(alb_cidrs),
            # Above the ALB's idle timeout: the ALB, not gunicorn, closes idle connections, so it
            # never sends a request on a connection gunicorn has just closed (a 502).
            "GUNICORN_KEEPALIVE": str(int(idle_timeout.to_seconds()) + 15),
            "GUNICORN_GRACEFUL_TIMEOUT": str(int(graceful_timeout.to_seconds())),
            # Without a certificate the ALB speaks plain HTTP: redirecting to https would loop.
            "SECURE_SSL_REDIRECT": "true" if certificate else "false",
            "SECURE_HSTS_PRELOAD": "true" if certificate else "false",
        }
        self._image = image
        self._environment = web_environment
        self._secrets = secrets
        self._log_retention = log_retention
        self._graceful_timeout = graceful_timeout
        self.task_definition = self.gunicorn_task_definition(self, name="web", cpu=cpu, memory_mib=memory_mib)
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=self.task_definition,
            desired_count=min_tasks,
            min_healthy_percent=100,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            health_check_grace_period=Duration.seconds(60),
        )

        if certificate:
            listener = self.load_balancer.add_listener(
                "Https",
                port=443,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[elbv2.ListenerCertificate.from_certificate_manager(certificate)],
                ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            )
            self.load_balancer.add_redirect(source_port=80, target_port=443)
        else:
            listener = self.load_balancer.add_listener(
                "Http", port=80, protocol=elbv2.ApplicationProtocol.HTTP
            )
        self.listener = listener
        self.target_group = listener.add_targets(
            "Web",
            port=WEB_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[self.service.load_balancer_target(container_name="web", container_port=WEB_PORT)],
            health_check=_health_check(),
            deregistration_delay=self.deregistration_delay,
        )

        # The same web tasks in a second target group, reached only by Stripe's webhook: the
        # webhook failures alarm watches its HTTPCode_Target_4XX/5XX counts.
        self.webhook_target_group = elbv2.ApplicationTargetGroup(
            self,
            "WebhookTargetGroup",
            vpc=vpc,
            port=WEB_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[self.service.load_balancer_target(container_name="web", container_port=WEB_PORT)],
            health_check=_health_check(),
            deregistration_delay=self.deregistration_delay,
        )
        listener.add_target_groups(
            "StripeWebhook",
            priority=WEBHOOK_RULE_PRIORITY,
            conditions=[elbv2.ListenerCondition.path_patterns([WEBHOOK_PATH])],
            target_groups=[self.webhook_target_group],
        )

        scaling = self.service.auto_scale_task_count(min_capacity=min_tasks, max_capacity=max_tasks)
        scaling.scale_on_cpu_utilization(
            "Cpu",
            target_utilization_percent=60,
            scale_in_cooldown=Duration.seconds(300),
            scale_out_cooldown=Duration.seconds(60),
        )
        scaling.scale_on_request_count(
            "Requests",
            requests_per_target=requests_per_task,
            target_group=self.target_group,
            scale_in_cooldown=Duration.seconds(300),
            scale_out_cooldown=Duration.seconds(60),
        )

        scheme = "https" if certificate else "http"
        self.url = f"{scheme}://{domain_name or self.load_balancer.load_balancer_dns_name}"

    @property
    def deregistration_delay(self) -> Duration:
        # Shorter than gunicorn's graceful timeout: requests drain before the task stops.
        return Duration.seconds(min(30, int(self._graceful_timeout.to_seconds())))

    def gunicorn_task_definition(
        self,
        scope: Construct,
        *,
        name: str,
        cpu: int,
        memory_mib: int,
        web_concurrency: int | None = None,
        environment: dict[str, str] | None = None,
        secrets: dict[str, ecs.Secret] | None = None,
        before: list[str] | None = None,
    ) -> ecs.FargateTaskDefinition:
        """The web container (image, gunicorn command, environment, secrets, port, stop timeout)
        in a task definition of its own under `scope`: web's, and any service behind this ALB
        that serves a share of its routes (staff). `web_concurrency` sets its gunicorn processes;
        `environment` and `secrets` add to web's, `before` runs first (app_task_definition)."""
        environment = {**self._environment, **(environment or {})}
        if web_concurrency is not None:
            environment["WEB_CONCURRENCY"] = str(web_concurrency)
        return app_task_definition(
            scope,
            name=name,
            image=self._image,
            command=["gunicorn", "-c", "deploy/gunicorn.conf.py", "cloudcart.wsgi"],
            environment=environment,
            secrets={**self._secrets, **(secrets or {})},
            cpu=cpu,
            memory_mib=memory_mib,
            log_retention=self._log_retention,
            before=before,
            # gunicorn finishes in-flight requests for graceful_timeout after SIGTERM.
            stop_timeout=self._graceful_timeout.plus(Duration.seconds(10)),
            port=WEB_PORT,
        )


class StaffService(Construct):
    """The staff catalog writes: the web container on a small service with its own task role.

    The web ALB's listener sends STAFF_WRITE_METHODS on STAFF_WRITE_PATHS here, everything else
    to web: only this role may write products and image objects (deploy/stacks/access.py). A
    fixed count (one task by default), no autoscaling: a few staff edit the catalog.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        web: WebService,
        cluster: ecs.ICluster,
        tasks: int,
        cpu: int,
        memory_mib: int,
        first_priority: int = 10,
        environment: dict[str, str] | None = None,
        secrets: dict[str, ecs.Secret] | None = None,
        before: list[str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # One gunicorn process: the smallest task has a quarter of a vCPU. The back office (the
        # admin over the ledger) is served here too: only this service reaches the database.
        self.task_definition = web.gunicorn_task_definition(
            self,
            name="staff",
            cpu=cpu,
            memory_mib=memory_mib,
            web_concurrency=1,
            environment=environment,
            secrets=secrets,
            before=before,
        )
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=self.task_definition,
            desired_count=tasks,
            # A deploy starts the new task before stopping the old one: staff writes stay up.
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            health_check_grace_period=Duration.seconds(60),
        )
        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "TargetGroup",
            vpc=cluster.vpc,
            port=WEB_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[self.service.load_balancer_target(container_name="staff", container_port=WEB_PORT)],
            health_check=_health_check(),
            deregistration_delay=web.deregistration_delay,
        )
        for offset, (paths, methods) in enumerate(staff_write_rules()):
            web.listener.add_target_groups(
                f"StaffWrites{offset}",
                priority=first_priority + offset,
                conditions=[
                    elbv2.ListenerCondition.path_patterns(paths),
                    elbv2.ListenerCondition.http_request_methods(methods),
                ],
                target_groups=[self.target_group],
            )
        # The back office, every method: its pages, forms and CSV export.
        web.listener.add_target_groups(
            "BackOffice",
            priority=first_priority + len(staff_write_rules()),
            conditions=[elbv2.ListenerCondition.path_patterns(list(BACK_OFFICE_PATHS))],
            target_groups=[self.target_group],
        )


class Workers(Construct):
    """Celery workers scaled on the orders queue's depth, and exactly one Celery beat."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ecs.ICluster,
        image: ecs.ContainerImage,
        environment: dict[str, str],
        secrets: dict[str, ecs.Secret],
        queue: sqs.IQueue,
        task_time_limit: Duration,
        min_workers: int,
        max_workers: int,
        log_retention: logs.RetentionDays,
        cpu: int = 512,
        memory_mib: int = 1024,
    ) -> None:
        super().__init__(scope, construct_id)
        worker = Construct(self, "Worker")
        self.worker_task_definition = app_task_definition(
            worker,
            name="worker",
            image=image,
            command=["celery", "-A", "cloudcart", "worker", "--loglevel", "INFO"],
            environment=environment,
            secrets=secrets,
            cpu=cpu,
            memory_mib=memory_mib,
            log_retention=log_retention,
            # Celery's warm shutdown lets the running task finish (it is bounded by the time limit).
            stop_timeout=Duration.seconds(
                min(FARGATE_MAX_STOP_TIMEOUT, int(task_time_limit.to_seconds()) + 30)
            ),
        )
        self.worker_service = ecs.FargateService(
            worker,
            "Service",
            cluster=cluster,
            task_definition=self.worker_task_definition,
            desired_count=min_workers,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )
        scaling = self.worker_service.auto_scale_task_count(
            min_capacity=min_workers, max_capacity=max_workers
        )
        scaling.scale_on_metric(
            "QueueDepth",
            metric=queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic="Maximum"
            ),
            scaling_steps=[
                ScalingInterval(upper=0, change=-1),
                ScalingInterval(lower=20, change=+1),
                ScalingInterval(lower=200, change=+3),
            ],
            adjustment_type=AdjustmentType.CHANGE_IN_CAPACITY,
            cooldown=Duration.seconds(120),
        )

        beat = Construct(self, "Beat")
        self.beat_task_definition = app_task_definition(
            beat,
            name="beat",
            image=image,
            # The image's files belong to root: beat keeps its schedule file in /tmp.
            command=[
                "celery",
                "-A",
                "cloudcart",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                "/tmp/celerybeat-schedule",  # noqa: S108 - the task's own private /tmp
            ],
            environment=environment,
            secrets=secrets,
            cpu=256,
            memory_mib=512,
            log_retention=log_retention,
            stop_timeout=Duration.seconds(10),
        )
        # One beat, ever: two would publish every periodic task twice. During a deployment the
        # old task stops before the new one starts (max 100 %, min 0 %).
        self.beat_service = ecs.FargateService(
            beat,
            "Service",
            cluster=cluster,
            task_definition=self.beat_task_definition,
            desired_count=1,
            min_healthy_percent=0,
            max_healthy_percent=100,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )


class SeedTask(Construct):
    """A one-off task (`aws ecs run-task`, see docs/deploy.md) that seeds the deployed catalog."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ecs.ICluster,
        image: ecs.ContainerImage,
        environment: dict[str, str],
        secrets: dict[str, ecs.Secret],
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        self.task_definition = app_task_definition(
            self,
            name="seed",
            image=image,
            command=["python", "manage.py", "seed_products"],
            environment=environment,
            secrets=secrets,
            cpu=512,
            memory_mib=1024,
            log_retention=log_retention,
            stop_timeout=Duration.seconds(30),
            tracing=False,  # a one-off batch: its spans would outlive the task's collector
        )
        # Outbound only (AWS APIs); nothing connects to a seed task.
        self.security_group = ec2.SecurityGroup(
            self, "SecurityGroup", vpc=cluster.vpc, description="CloudCart seed task: egress only"
        )
        self.subnets = cluster.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
