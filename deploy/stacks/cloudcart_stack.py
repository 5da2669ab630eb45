"""The CloudCart stack: composes the constructs, wires env and grants, and states the outputs."""

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import (
    Acknowledgment,
    Aws,
    CfnOutput,
    CfnParameter,
    Duration,
    Fn,
    SecretValue,
    Stack,
    Validations,
)
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from django.conf import settings

from accounts.bootstrap import PASSWORD_POLICY
from cloudcart.bootstrap import table_models
from deploy.stacks import access
from deploy.stacks.access import tables_grant
from deploy.stacks.accounts import CustomerAccounts
from deploy.stacks.firewall import Firewall
from deploy.stacks.images import ProductImages
from deploy.stacks.ledger import MIGRATE_COMMAND, LedgerDatabase, LedgerProjector
from deploy.stacks.monitoring import Alarms
from deploy.stacks.network import Network
from deploy.stacks.notifications import Notifications, Notifier
from deploy.stacks.queues import OrdersQueues
from deploy.stacks.services import SeedTask, StaffService, WebService, Workers
from deploy.stacks.storefront import Storefront
from deploy.stacks.tables import Tables

ROOT = Path(__file__).resolve().parents[2]
# The Stripe secret's JSON fields, each handed to the containers as the variable of its name.
STRIPE_KEY_NAMES = ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET")
# gunicorn finishes in-flight requests this long after SIGTERM (deploy/gunicorn.conf.py reads it).
GRACEFUL_TIMEOUT = Duration.seconds(20)


@dataclass(frozen=True, kw_only=True)
class Sizing:
    """How big the always-on parts run; `SIZES` names the choices (context `size`)."""

    web_tasks: tuple[int, int] = (2, 10)  # min, max: two for availability across AZs
    web_cpu: int = 512  # Fargate CPU units (1024 = 1 vCPU)
    web_memory_mib: int = 1024
    web_concurrency: int = 2  # gunicorn processes per task
    workers: tuple[int, int] = (1, 10)
    worker_cpu: int = 512
    worker_memory_mib: int = 1024
    # Staff catalog writes: one task of Fargate's smallest size in every sizing (a few staff).
    staff_tasks: int = 1
    staff_cpu: int = 256
    staff_memory_mib: int = 512
    # The ledger's Aurora Serverless v2 capacity (ACUs), min and max.
    ledger_acu: tuple[float, float] = (0.5, 4)
    container_insights: bool = True
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH


SIZES = {
    "default": Sizing(),
    # A trial or development stack (docs/deploy.md has its cost): one small web task, small
    # workers, no Container Insights, a week of logs. No redundancy: not for customers.
    "dev": Sizing(
        web_tasks=(1, 2),
        web_cpu=256,
        web_memory_mib=512,
        web_concurrency=1,
        workers=(1, 2),
        worker_cpu=256,
        worker_memory_mib=512,
        container_insights=False,
        log_retention=logs.RetentionDays.ONE_WEEK,
        ledger_acu=(0.5, 1),
    ),
}


class CloudCartStack(Stack):
    """Everything CloudCart needs in one account and region; env-agnostic, so it synthesizes offline."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        certificate_arn: str | None = None,
        domain_name: str | None = None,
        hosted_zone_id: str | None = None,
        hosted_zone_name: str | None = None,
        email_identity: str = "example.com",
        image: ecs.ContainerImage | None = None,
        nat_gateways: int = 1,
        alarm_email: str | None = None,
        payments_provider: str = "stripe",
        sizing: Sizing = SIZES["default"],
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        if payments_provider not in ("stripe", "none"):
            raise ValueError(f"payments_provider={payments_provider!r}: choose stripe or none")
        # A parameter, so `cdk deploy --parameters AlarmEmail=...` sets it; a pipeline cannot
        # pass parameters, so it gives the address here and it becomes the default.
        alarm_email_parameter = CfnParameter(
            self,
            "AlarmEmail",
            type="String",
            description="Where CloudWatch alarms are sent (confirm the subscription email).",
            allowed_pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
            constraint_description="an email address",
            default=alarm_email,
        )
        image = image or ecs.ContainerImage.from_asset(
            str(ROOT),
            file="deploy/Dockerfile",
            # Fargate tasks run on x86_64, whatever machine builds the image.
            platform=ecr_assets.Platform.LINUX_AMD64,
        )

        tables = Tables(self, "Tables", models=table_models())
        task_time_limit = Duration.seconds(settings.ORDER_TASK_TIME_LIMIT)
        queues = OrdersQueues(
            self,
            "Queues",
            max_receives=settings.ORDERS_MAX_RECEIVES,
            visibility_timeout=Duration.seconds(settings.ORDERS_VISIBILITY_TIMEOUT),
            task_time_limit=task_time_limit,
        )
        notify_time_limit = Duration.seconds(settings.NOTIFY_TASK_TIME_LIMIT)
        notifications = Notifications(
            self,
            "Notifications",
            identity=email_identity,
            max_receives=settings.NOTIFICATIONS_MAX_RECEIVES,
            visibility_timeout=Duration.seconds(settings.NOTIFICATIONS_VISIBILITY_TIMEOUT),
            task_time_limit=notify_time_limit,
        )
        log_retention = sizing.log_retention
        network = Network(
            self,
            "Network",
            nat_gateways=nat_gateways,
            log_retention=log_retention,
            container_insights=sizing.container_insights,
        )
        secret_key = secretsmanager.Secret(
            self,
            "DjangoSecretKey",
            description="CloudCart's Django SECRET_KEY (signs pagination cursors)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
        )
        # Read by ECS (the execution role) at task start: the app never calls Secrets Manager.
        secrets = {"SECRET_KEY": ecs.Secret.from_secrets_manager(secret_key)}
        # The processes that call Stripe (web and staff: payments, refunds; the worker: capture,
        # cancel, the payment reconciler; beat starts the same settings) get its keys as well.
        payment_secrets = dict(secrets)
        if payments_provider == "stripe":
            stripe_keys = self._stripe_keys()
            payment_secrets |= {
                name: ecs.Secret.from_secrets_manager(stripe_keys, field=name) for name in STRIPE_KEY_NAMES
            }

        images = ProductImages(
            self,
            "Images",
            abandoned_after=Duration.days(1),
            replaced_after=Duration.days(7),
            log_retention=Duration.days(90),
        )

        certificate = (
            acm.Certificate.from_certificate_arn(self, "Certificate", certificate_arn)
            if certificate_arn
            else None
        )
        accounts = CustomerAccounts(
            self,
            "Accounts",
            password_min_length=PASSWORD_POLICY["MinimumLength"],
            staff_group=settings.COGNITO_STAFF_GROUP,
        )

        # What every process gets; the web service adds its own (and ALLOWED_HOSTS, below, once
        # the load balancer's name exists).
        # Custom metrics (the beat heartbeat, the oldest PENDING order's age): one namespace per
        # stack, so two stacks in one account never feed each other's alarms.
        metrics_namespace = f"CloudCart/{self.stack_name}"
        environment = {
            "DJANGO_ENV": "production",
            "METRICS_NAMESPACE": metrics_namespace,
            "AWS_REGION": Aws.REGION,
            "LOG_LEVEL": "INFO",
            "WEB_CONCURRENCY": str(sizing.web_concurrency),
            "ORDER_TASK_TIME_LIMIT": str(settings.ORDER_TASK_TIME_LIMIT),
            "ORDERS_VISIBILITY_TIMEOUT": str(settings.ORDERS_VISIBILITY_TIMEOUT),
            **tables.environment(),
            **queues.environment(),
            **images.environment(),
            **notifications.environment(),
            **accounts.environment(),
            "NOTIFY_TASK_TIME_LIMIT": str(settings.NOTIFY_TASK_TIME_LIMIT),
            "NOTIFICATIONS_VISIBILITY_TIMEOUT": str(settings.NOTIFICATIONS_VISIBILITY_TIMEOUT),
            "PAYMENTS_PROVIDER": payments_provider,
            # Stripe itself (the local default is localstripe's address).
            "STRIPE_API_BASE": "",
            "STRIPE_JS_URL": "https://js.stripe.com/v3/",
            "PAYMENT_TIMEOUT_SECONDS": str(settings.PAYMENT_TIMEOUT_SECONDS),
        }
        web = WebService(
            self,
            "Web",
            cluster=network.cluster,
            image=image,
            environment=environment,
            secrets=payment_secrets,
            certificate=certificate,
            domain_name=domain_name,
            idle_timeout=Duration.seconds(60),
            graceful_timeout=GRACEFUL_TIMEOUT,
            min_tasks=sizing.web_tasks[0],
            max_tasks=sizing.web_tasks[1],
            cpu=sizing.web_cpu,
            memory_mib=sizing.web_memory_mib,
            requests_per_task=1000,
            log_retention=log_retention,
        )
        # The back office's order ledger: Aurora Serverless v2 behind RDS Proxy. Only the staff
        # service (the admin) and the projector get its URL and password, and reach it.
        ledger_database = LedgerDatabase(
            self,
            "LedgerDatabase",
            vpc=network.cluster.vpc,
            min_capacity=sizing.ledger_acu[0],
            max_capacity=sizing.ledger_acu[1],
        )
        # The web container again, on its own small service and role, behind the same ALB.
        staff = StaffService(
            self,
            "Staff",
            web=web,
            cluster=network.cluster,
            tasks=sizing.staff_tasks,
            cpu=sizing.staff_cpu,
            memory_mib=sizing.staff_memory_mib,
            environment=ledger_database.environment(),
            secrets=ledger_database.secrets(),
            before=MIGRATE_COMMAND,
        )
        ledger_database.allow_from(staff.service, "the back office (staff service)")
        # Checkouts per client address at the edge: 100 per 5 minutes (a shop's customer makes a
        # few; a script minting a new cart id per request is stopped here).
        Firewall(
            self,
            "Firewall",
            load_balancer=web.load_balancer,
            checkouts_per_address=100,
            window=Duration.minutes(5),
        )
        # The web shop and the API on one CloudFront distribution (the API behind it, at the load
        # balancer); with a hosted zone, on `domain_name` with its own certificate and DNS records.
        storefront = Storefront(
            self,
            "Storefront",
            build_dir=ROOT / "storefront" / "dist" / "shop",
            load_balancer=web.load_balancer,
            load_balancer_https=certificate is not None,
            domain_name=domain_name if hosted_zone_id else None,
            hosted_zone_id=hosted_zone_id,
            hosted_zone_name=hosted_zone_name,
        )
        # Requests through the distribution keep the viewer's Host; browsers post from its origin.
        web.allowed_hosts = ",".join(dict.fromkeys([*web.allowed_hosts.split(","), storefront.host]))
        for task_definition in (web.task_definition, staff.task_definition):
            task_definition.default_container.add_environment("ALLOWED_HOSTS", web.allowed_hosts)
            for name, value in storefront.environment().items():
                task_definition.default_container.add_environment(name, value)
        environment["ALLOWED_HOSTS"] = web.allowed_hosts
        # Browsers upload images from the API's own pages (the browsable API) and the shop's
        # origins (context `shopOrigins`, comma-separated).
        shop_origins = [o for o in (self.node.try_get_context("shopOrigins") or "").split(",") if o]
        images.allow_uploads_from([web.url, *shop_origins])
        environment["SHOP_URL"] = web.url  # the order link in e-mails

        workers = Workers(
            self,
            "Workers",
            cluster=network.cluster,
            image=image,
            # Orders only: notifications have their own service (below).
            environment={**environment, "WORKER_QUEUES": "orders"},
            secrets=payment_secrets,
            queue=queues.queue,
            task_time_limit=task_time_limit,
            min_workers=sizing.workers[0],
            max_workers=sizing.workers[1],
            cpu=sizing.worker_cpu,
            memory_mib=sizing.worker_memory_mib,
            log_retention=log_retention,
        )
        # The notifier and the seed task never call Stripe, so they get no keys; production
        # settings refuse `stripe` without them, and for these processes it changes nothing.
        without_stripe = {**environment, "PAYMENTS_PROVIDER": "none"}
        notifier = Notifier(
            self,
            "Notifier",
            cluster=network.cluster,
            image=image,
            environment=without_stripe,
            secrets=secrets,
            task_time_limit=notify_time_limit,
            log_retention=log_retention,
        )
        ledger = LedgerProjector(
            self,
            "Ledger",
            cluster=network.cluster,
            image=image,
            environment={**environment, **ledger_database.environment()},
            secrets={**secrets, **ledger_database.secrets()},
            topic=notifications.topic,
            max_receives=settings.LEDGER_MAX_RECEIVES,
            visibility_timeout=Duration.seconds(settings.LEDGER_VISIBILITY_TIMEOUT),
            log_retention=log_retention,
        )
        ledger_database.allow_from(ledger.service, "the ledger projector")
        seed = SeedTask(
            self,
            "Seed",
            cluster=network.cluster,
            image=image,
            environment=without_stripe,
            secrets=secrets,
            log_retention=log_retention,
        )

        # Least privilege: explicit DynamoDB action lists per process (deploy/stacks/access.py),
        # grant_* for the rest. The web tier may only *send* to the queue.
        by_setting = tables.by_setting
        web_role = web.task_definition.task_role
        tables_grant(web_role, tables=by_setting, actions=access.WEB)
        queues.queue.grant_send_messages(web_role)
        # Staff catalog writes (the ALB sends them to the staff service): products, and image
        # uploads signed, verified and published (products/ only). The web role has neither.
        staff_role = staff.task_definition.task_role
        tables_grant(staff_role, tables=by_setting, actions=access.STAFF)
        images.grant_upload_and_verify(staff_role)
        # Staff writes re-check the caller's group at Cognito (accounts/staff_check.py), so a
        # removal from `staff` takes effect within STAFF_RECHECK_SECONDS, not when the token ends.
        for role in (web_role, staff_role):
            accounts.user_pool.grant(role, "cognito-idp:AdminListGroupsForUser")
        # Refunds (the ALB sends them to staff too) move the order on and enqueue its notifications.
        notifications.queue.grant_send_messages(staff_role)
        # The worker applies stock and order status; it consumes the queue and re-publishes
        # (retries, the reconciler). It never touches carts, idempotency keys or throttles.
        worker_role = workers.worker_task_definition.task_role
        tables_grant(worker_role, tables=by_setting, actions=access.WORKER)
        queues.queue.grant_consume_messages(worker_role)
        queues.queue.grant_send_messages(worker_role)
        # The periodic tasks it runs put the heartbeat and PENDING-age metrics, in our namespace only.
        worker_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],  # PutMetricData has no resource-level permissions
                conditions={"StringEquals": {"cloudwatch:namespace": metrics_namespace}},
            )
        )
        # Beat only publishes the periodic tasks.
        queues.queue.grant_send_messages(workers.beat_task_definition.task_role)
        tables_grant(seed.task_definition.task_role, tables=by_setting, actions=access.SEED)
        # The projector reads orders (BatchGetItem; Scan for ledger_rebuild/ledger_check run as
        # its one-off task), consumes its queue and puts its lag metric.
        ledger_role = ledger.task_definition.task_role
        tables_grant(ledger_role, tables=by_setting, actions=access.LEDGER)
        ledger.queue.grant_consume_messages(ledger_role)
        ledger_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],  # PutMetricData has no resource-level permissions
                conditions={"StringEquals": {"cloudwatch:namespace": metrics_namespace}},
            )
        )
        # The back office's actions, each through its owner's service: retry (the order's status,
        # granted with the refunds' in access.STAFF, and a publish to the worker), resend a receipt
        # (read the order, send through SES), a customer's sign-in on or off (Cognito admin calls).
        queues.queue.grant_send_messages(staff_role)
        notifications.grant_email(staff_role)
        accounts.user_pool.grant(
            staff_role,
            "cognito-idp:AdminDisableUser",
            "cognito-idp:AdminEnableUser",
            "cognito-idp:AdminUserGlobalSignOut",
            "cognito-idp:AdminGetUser",
        )
        # Notifications: web (an order placed) and the worker (final states, FAILED by the
        # reconciler) only enqueue them; the notifier alone reads the order, keeps the markers,
        # publishes the events and sends the e-mails.
        notifications.queue.grant_send_messages(web_role)
        notifications.queue.grant_send_messages(worker_role)
        notifier_role = notifier.task_definition.task_role
        notifications.queue.grant_consume_messages(notifier_role)
        notifications.queue.grant_send_messages(notifier_role)  # a retry is a new message
        tables_grant(notifier_role, tables=by_setting, actions=access.NOTIFIER)
        notifications.grant_send(notifier_role)

        alarms = Alarms(
            self,
            "Alarms",
            load_balancer=web.load_balancer,
            target_group=web.target_group,
            webhook_target_group=web.webhook_target_group,
            queue=queues.queue,
            dlq=queues.dlq,
            email=alarm_email_parameter.value_as_string,
            error_rate_percent=5,
            p99_latency=Duration.seconds(1),
            oldest_message_age=Duration.minutes(5),
            metrics_namespace=metrics_namespace,
            # The reconciler republishes an order PENDING this long: one still PENDING after it
            # (and one more reconciler run) was not processed even then.
            pending_order_age=Duration.seconds(
                settings.ORDERS_RECONCILE_AFTER_SECONDS + int(settings.ORDERS_RECONCILE_INTERVAL_SECONDS)
            ),
            reconcile_every=Duration.seconds(int(settings.ORDERS_RECONCILE_INTERVAL_SECONDS)),
            # The payment reconciler expires an order unpaid this long: one AWAITING_PAYMENT past
            # it (and one more reconciler run) was not expired.
            awaiting_payment_age=Duration.seconds(
                settings.PAYMENT_TIMEOUT_SECONDS + int(settings.PAYMENTS_RECONCILE_INTERVAL_SECONDS)
            ),
            heartbeat_every=Duration.seconds(int(settings.BEAT_HEARTBEAT_SECONDS)),
        )

        notifications.alarm_dead_letters(topic=alarms.topic)
        # The ledger's lag: an order event not projected within a minute (the bench keeps p99 < 2 s).
        ledger.alarms(topic=alarms.topic, lag=Duration.minutes(1))
        # Above the longest retry backoff of a notification: a retried e-mail is no backlog.
        notifications.alarm_backlog(topic=alarms.topic, oldest_message_age=Duration.minutes(10))

        self.api_url = CfnOutput(self, "ApiUrl", value=web.url, description="The API's base URL")
        for setting, table in by_setting.items():
            CfnOutput(self, f"{table.node.id}Name", value=table.table_name, description=setting)
        CfnOutput(self, "ProductImagesBucket", value=images.bucket.bucket_name)
        CfnOutput(self, "ProductImagesUrl", value=images.base_url, description="The image CDN")
        CfnOutput(self, "OrdersQueueUrl", value=queues.queue.queue_url)
        CfnOutput(self, "OrdersDlqUrl", value=queues.dlq.queue_url)
        CfnOutput(self, "OrderEventsTopicArn", value=notifications.topic.topic_arn)
        CfnOutput(self, "NotificationsDlqUrl", value=notifications.dlq.queue_url)
        CfnOutput(self, "UserPoolId", value=accounts.user_pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=accounts.client.user_pool_client_id)
        CfnOutput(self, "ClusterName", value=network.cluster.cluster_name)
        CfnOutput(self, "LedgerQueueUrl", value=ledger.queue.queue_url)
        CfnOutput(self, "LedgerDlqUrl", value=ledger.dlq.queue_url)
        CfnOutput(self, "LedgerTaskDefinitionArn", value=ledger.task_definition.task_definition_arn)
        CfnOutput(self, "LedgerProxyEndpoint", value=ledger_database.proxy.endpoint)
        CfnOutput(self, "SeedTaskDefinitionArn", value=seed.task_definition.task_definition_arn)
        CfnOutput(self, "SeedSubnetIds", value=Fn.join(",", seed.subnets.subnet_ids))
        CfnOutput(self, "SeedSecurityGroupId", value=seed.security_group.security_group_id)

        self._acknowledge_nag_findings(web=web, tables=tables, images=images)

    def _stripe_keys(self) -> secretsmanager.Secret:
        """Stripe's keys, one JSON field each, empty until an operator puts them (docs/deploy.md):
        the app refuses to start in production with an empty one, so a stack never takes orders
        with keys nobody set."""
        return secretsmanager.Secret(
            self,
            "StripeKeys",
            description="CloudCart's Stripe keys: " + ", ".join(STRIPE_KEY_NAMES),
            secret_object_value={name: SecretValue.unsafe_plain_text("") for name in STRIPE_KEY_NAMES},
        )

    def _acknowledge_nag_findings(self, *, web: WebService, tables: Tables, images: ProductImages) -> None:
        """cdk-nag AwsSolutions findings we accept across the stack, each with the reason."""
        index_wildcards = [
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::<{self.get_logical_id(table.node.default_child)}.Arn>/index/*]",
                reason="Table grants add the table's own indexes (table/index/*) so that Query on "
                "a GSI works; scoped to this one table.",
            )
            for table in tables.by_setting.values()
        ]
        images_bucket = self.get_logical_id(images.bucket.node.default_child)
        Validations.of(self).acknowledge(
            *index_wildcards,
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::<{images_bucket}.Arn>/products/*]",
                reason="The staff role signs uploads of new, randomly named image objects, checks "
                "and copies them: it needs the product images prefix, not named objects; nothing "
                "outside it.",
            ),
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="cloudwatch:PutMetricData has no resource-level permissions; the worker's "
                "statement is limited to the stack's own metric namespace by a condition.",
            ),
            Acknowledgment(
                id="AwsSolutions-ECS2",
                reason="Only non-secret configuration (resource names, limits) is plain env; "
                "SECRET_KEY and Stripe's keys come from Secrets Manager.",
            ),
            Acknowledgment(
                id="AwsSolutions-COG2",
                reason="MFA is optional by design: customers may turn on TOTP; requiring it would "
                "stop guest-to-customer sign-up at the till. Staff accounts should enable it.",
            ),
            Acknowledgment(
                id="AwsSolutions-COG8",
                reason="The Plus feature plan (threat protection) is billed per active user; "
                "sign-in brute force is throttled by the app per account and per address instead.",
            ),
            Acknowledgment(
                id="AwsSolutions-SMG4",
                reason="Rotating SECRET_KEY invalidates every pagination cursor in flight: it is "
                "rotated by hand (docs/operations.md), not on a schedule. Stripe's keys are "
                "issued by Stripe: rolled in its dashboard and put here by hand.",
            ),
        )
