"""The synthesized CloudCart stack, asserted with aws_cdk.assertions (never on hashed logical ids)."""

import runpy
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
from aws_cdk.assertions import Match
from django.conf import settings

from cart.models import Cart
from catalog.models import Product
from cloudcart import aws
from cloudcart.bootstrap import table_models
from cloudcart.throttling import ThrottleCounter
from deploy.stacks.services import XRAY_ACTIONS
from notifications.models import NotificationMarker
from orders.models import IdempotencyKey, Order
from tests.deploy.conftest import CERTIFICATE_ARN, DOMAIN_NAME

ROOT = Path(__file__).resolve().parents[2]
APP_CONTAINERS = (
    "web",
    "staff",
    "worker",
    "beat",
    "seed",
    "notifier",
    "ledger",
    "staff-before",
    "ledger-before",
)
# The env var (= setting) that names each model's table: written out here, not derived, so a
# wrong mapping in the stack cannot agree with itself.
TABLE_SETTINGS = {
    Product: "PRODUCTS_TABLE",
    Cart: "CARTS_TABLE",
    Order: "ORDERS_TABLE",
    IdempotencyKey: "IDEMPOTENCY_TABLE",
    ThrottleCounter: "THROTTLE_TABLE",
    NotificationMarker: "NOTIFICATIONS_TABLE",
}


def _ref(value) -> str:
    assert isinstance(value, dict) and "Ref" in value, value
    return value["Ref"]


def _gunicorn_conf(**env) -> dict:
    """deploy/gunicorn.conf.py evaluated with `env` as the environment."""
    import os

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    finally:
        os.environ.clear()
        os.environ.update(saved)


# --- Tables: the PynamoDB models are the one source of truth ---------------------------------


def test_every_model_has_its_table_and_nothing_else():
    assert set(table_models()) == set(TABLE_SETTINGS)


def test_tables_match_the_tables_the_app_runs_against(stack):
    """Keys, GSIs and TTL of each deployed table equal those `bootstrap_aws` created in moto."""
    web_env = stack.environment("web")
    tables = stack.of_type("AWS::DynamoDB::Table")
    assert len(tables) == len(TABLE_SETTINGS)
    dynamodb = aws.client("dynamodb")
    for model, setting in TABLE_SETTINGS.items():
        deployed = tables[_ref(web_env[setting])]["Properties"]
        local = dynamodb.describe_table(TableName=model.Meta.table_name)["Table"]
        assert deployed["KeySchema"] == local["KeySchema"], model
        assert sorted(deployed["AttributeDefinitions"], key=str) == sorted(
            local["AttributeDefinitions"], key=str
        ), model
        local_indexes = {
            index["IndexName"]: (index["KeySchema"], index["Projection"])
            for index in local.get("GlobalSecondaryIndexes", [])
        }
        deployed_indexes = {
            index["IndexName"]: (index["KeySchema"], index["Projection"])
            for index in deployed.get("GlobalSecondaryIndexes", [])
        }
        assert deployed_indexes == local_indexes, model
        ttl = dynamodb.describe_time_to_live(TableName=model.Meta.table_name)["TimeToLiveDescription"]
        if ttl.get("AttributeName"):
            assert deployed["TimeToLiveSpecification"] == {
                "AttributeName": ttl["AttributeName"],
                "Enabled": True,
            }
        else:
            assert "TimeToLiveSpecification" not in deployed, model


def test_tables_are_on_demand_recoverable_protected_and_retained(stack):
    stack.template.all_resources(
        "AWS::DynamoDB::Table",
        {
            "Properties": Match.object_like(
                {
                    "BillingMode": "PAY_PER_REQUEST",
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                    "DeletionProtectionEnabled": True,
                }
            ),
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_stored_data_outlives_the_stack(stack):
    for resource_type in ("AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::Logs::LogGroup"):
        for logical_id, resource in stack.of_type(resource_type).items():
            assert resource.get("DeletionPolicy") == "Retain", logical_id


# --- Queues ----------------------------------------------------------------------------------


def test_orders_queue_redrives_to_an_encrypted_dlq_after_max_receives(stack):
    stack.template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "VisibilityTimeout": settings.ORDERS_VISIBILITY_TIMEOUT,
            "SqsManagedSseEnabled": True,
            "RedrivePolicy": {
                "maxReceiveCount": settings.ORDERS_MAX_RECEIVES,
                "deadLetterTargetArn": {"Fn::GetAtt": [Match.any_value(), "Arn"]},
            },
        },
    )
    assert settings.ORDERS_MAX_RECEIVES == 5
    assert settings.ORDERS_VISIBILITY_TIMEOUT > settings.ORDER_TASK_TIME_LIMIT
    stack.template.all_resources_properties("AWS::SQS::Queue", {"SqsManagedSseEnabled": True})
    # Both queues refuse plain HTTP.
    policies = stack.template.find_resources(
        "AWS::SQS::QueuePolicy",
        {
            "Properties": {
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                            )
                        ]
                    )
                }
            }
        },
    )
    assert len(policies) == 6  # orders + DLQ, notifications + DLQ, ledger + DLQ


def test_worker_and_queue_share_the_time_limits(stack):
    queue = _orders_queue(stack)
    worker_env = stack.environment("worker")
    assert int(worker_env["ORDERS_VISIBILITY_TIMEOUT"]) == queue["Properties"]["VisibilityTimeout"]
    assert int(worker_env["ORDER_TASK_TIME_LIMIT"]) < queue["Properties"]["VisibilityTimeout"]


def _orders_queue(stack) -> dict:
    return stack.resources[_orders_queue_id(stack)]


def _orders_queue_id(stack) -> str:
    """The queue every process is told is the orders queue (the notifications queue has a DLQ too)."""
    return _ref(stack.environment("web")["ORDERS_QUEUE_URL"])


# --- Network and web tier --------------------------------------------------------------------


def test_vpc_spans_two_availability_zones(stack):
    stack.template.resource_count_is("AWS::EC2::VPC", 1)
    subnets = stack.of_type("AWS::EC2::Subnet").values()
    zones = {str(subnet["Properties"]["AvailabilityZone"]) for subnet in subnets}
    assert len(zones) == 2
    public = [s for s in subnets if s["Properties"].get("MapPublicIpOnLaunch")]
    assert len(public) == 2 and len(subnets) == 4


def test_web_is_behind_an_alb_checking_healthz(stack):
    stack.template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {"HealthCheckPath": "/healthz", "Matcher": {"HttpCode": "200"}, "Port": 8000, "TargetType": "ip"},
    )
    stack.template.has_resource_properties(
        "AWS::ECS::Service",
        {
            "LaunchType": "FARGATE",
            # The API's target group and the Stripe webhook's.
            "LoadBalancers": [Match.object_like({"ContainerName": "web", "ContainerPort": 8000})] * 2,
        },
    )
    stack.template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer", {"Scheme": "internet-facing"}
    )


def _alb_attributes(stack) -> dict:
    (alb,) = stack.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    return {a["Key"]: a["Value"] for a in alb["Properties"]["LoadBalancerAttributes"]}


def test_alb_idle_timeout_is_below_gunicorn_keepalive(stack):
    idle = int(_alb_attributes(stack)["idle_timeout.timeout_seconds"])
    web_env = stack.environment("web")
    assert int(web_env["GUNICORN_KEEPALIVE"]) > idle
    # The config file's own default holds too, for a task that lost the variable.
    assert _gunicorn_conf()["keepalive"] > idle
    assert _gunicorn_conf(GUNICORN_KEEPALIVE=web_env["GUNICORN_KEEPALIVE"])["keepalive"] > idle


def test_https_listener_with_the_certificate_and_http_redirects(stack):
    stack.template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": 443,
            "Protocol": "HTTPS",
            "Certificates": [{"CertificateArn": CERTIFICATE_ARN}],
            "DefaultActions": [Match.object_like({"Type": "forward"})],
        },
    )
    stack.template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": 80,
            "Protocol": "HTTP",
            "DefaultActions": [
                Match.object_like(
                    {"Type": "redirect", "RedirectConfig": Match.object_like({"Protocol": "HTTPS"})}
                )
            ],
        },
    )
    stack.template.has_output("ApiUrl", {"Value": f"https://{DOMAIN_NAME}"})
    web_env = stack.environment("web")
    assert web_env["SECURE_SSL_REDIRECT"] == "true"


def test_without_a_certificate_the_alb_serves_plain_http_and_django_does_not_redirect(synthesized):
    plain = synthesized["http"]
    plain.template.resource_count_is("AWS::ElasticLoadBalancingV2::Listener", 1)
    plain.template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {"Port": 80, "Protocol": "HTTP", "DefaultActions": [Match.object_like({"Type": "forward"})]},
    )
    assert plain.environment("web")["SECURE_SSL_REDIRECT"] == "false"
    assert plain.nag_failure is None, plain.nag_failure


def test_web_scales_on_cpu_and_on_requests_per_task(stack):
    stack.template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": Match.object_like(
                {"PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}
            ),
        },
    )
    stack.template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": Match.object_like(
                {
                    "PredefinedMetricSpecification": Match.object_like(
                        {"PredefinedMetricType": "ALBRequestCountPerTarget"}
                    )
                }
            ),
        },
    )


def test_forwarded_headers_are_trusted_from_the_load_balancer_subnets_only(stack):
    public_cidrs = {
        s["Properties"]["CidrBlock"]
        for s in stack.of_type("AWS::EC2::Subnet").values()
        if s["Properties"].get("MapPublicIpOnLaunch")
    }
    allowed = stack.environment("web")["FORWARDED_ALLOW_IPS"].split(",")
    assert set(allowed) == public_cidrs
    assert "*" not in allowed


def test_only_the_load_balancer_reaches_the_tasks(stack):
    """What makes trusting X-Forwarded-* from the ALB's subnets safe: nothing else gets in."""
    (alb,) = stack.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    (alb_group,) = alb["Properties"]["SecurityGroups"]
    ingress = list(stack.of_type("AWS::EC2::SecurityGroupIngress").values())
    # Two services behind the ALB, web and staff: each admits the ALB on the app's port, only.
    from_alb = [rule for rule in ingress if rule["Properties"]["SourceSecurityGroupId"] == alb_group]
    assert len(from_alb) == 2
    for rule in from_alb:
        assert rule["Properties"]["FromPort"] == rule["Properties"]["ToPort"] == 8000
    # Every other rule lets a task into the ledger's database proxy, or the proxy into Aurora.
    database_groups = {
        {"Fn::GetAtt": [k, "GroupId"]}["Fn::GetAtt"][0]
        for k, g in stack.of_type("AWS::EC2::SecurityGroup").items()
        if "ledger" in g["Properties"]["GroupDescription"].lower()
    }
    for rule in ingress:
        if rule not in from_alb:
            assert rule["Properties"]["GroupId"]["Fn::GetAtt"][0] in database_groups, rule
    for logical_id, group in stack.of_type("AWS::EC2::SecurityGroup").items():
        if {"Fn::GetAtt": [logical_id, "GroupId"]} != alb_group:
            assert "SecurityGroupIngress" not in group["Properties"], logical_id


def test_stop_timeouts_cover_gunicorn_drain_and_the_longest_task(stack):
    containers = stack.containers()
    web_env = stack.environment("web")
    assert containers["web"]["StopTimeout"] > int(web_env["GUNICORN_GRACEFUL_TIMEOUT"])
    assert containers["worker"]["StopTimeout"] > settings.ORDER_TASK_TIME_LIMIT
    assert containers["worker"]["StopTimeout"] <= 120  # Fargate's maximum


# --- Worker and beat -------------------------------------------------------------------------


def test_processes_run_the_one_image_by_command(stack):
    containers = stack.containers()
    assert set(containers) == set(APP_CONTAINERS)
    images = {str(c["Image"]) for c in containers.values()}
    assert len(images) == 1
    assert containers["web"]["Command"][:3] == ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
    assert containers["staff"]["Command"] == containers["web"]["Command"]
    assert containers["worker"]["Command"][:4] == ["celery", "-A", "cloudcart", "worker"]
    assert containers["notifier"]["Command"][:4] == ["celery", "-A", "cloudcart", "worker"]
    assert containers["beat"]["Command"][:4] == ["celery", "-A", "cloudcart", "beat"]
    assert containers["seed"]["Command"] == ["python", "manage.py", "seed_products"]
    assert containers["ledger"]["Command"] == ["python", "manage.py", "ledger_project"]
    for before in ("staff-before", "ledger-before"):
        assert containers[before]["Command"][:3] == ["python", "manage.py", "ledger_migrate"]


def _service_of(stack, container_name: str) -> tuple[str, dict]:
    task = stack.containers()[container_name]["TaskDefinition"]
    (found,) = [
        (k, s)
        for k, s in stack.of_type("AWS::ECS::Service").items()
        if s["Properties"]["TaskDefinition"] == {"Ref": task}
    ]
    return found


def _scalable_targets_of(stack, service_id: str) -> list[dict]:
    def mentions(value) -> bool:
        return service_id in str(value)

    return [t for t in stack.of_type("AWS::ApplicationAutoScaling::ScalableTarget").values() if mentions(t)]


def test_exactly_one_beat_task_ever(stack):
    beats = [c for c in stack.containers().values() if "beat" in c["Command"]]
    assert len(beats) == 1
    service_id, service = _service_of(stack, "beat")
    assert service["Properties"]["DesiredCount"] == 1
    deployment = service["Properties"]["DeploymentConfiguration"]
    assert deployment["MaximumPercent"] == 100 and deployment["MinimumHealthyPercent"] == 0
    assert _scalable_targets_of(stack, service_id) == []
    # The seed task is a task definition only: no service keeps one running.
    assert len(stack.of_type("AWS::ECS::Service")) == 6  # web, staff, worker, beat, notifier, ledger


def test_worker_scales_on_orders_queue_depth(stack):
    service_id, _ = _service_of(stack, "worker")
    (target,) = _scalable_targets_of(stack, service_id)
    assert target["Properties"]["MinCapacity"] >= 1
    stack.template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "PolicyType": "StepScaling",
            "StepScalingPolicyConfiguration": Match.object_like({"AdjustmentType": "ChangeInCapacity"}),
        },
    )
    queue_id = _orders_queue_id(stack)
    stack.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}],
            "AlarmActions": [{"Ref": Match.string_like_regexp("QueueDepth")}],
        },
    )


# --- Least privilege -------------------------------------------------------------------------


def _statements_of(stack, container_name: str) -> list[dict]:
    task = stack.resources[stack.containers()[container_name]["TaskDefinition"]]
    role_id = task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
    statements = []
    for policy in stack.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    # The tracing sidecar's X-Ray grant is the same on every role (tests/deploy/test_tracing_stack.py).
    statements = [statement for statement in statements if not _xray_statement(statement)]
    role = stack.resources[role_id]["Properties"]
    assert not role.get("ManagedPolicyArns") and not role.get("Policies"), "grants only, no managed policies"
    return statements


def _actions_on(statements: list[dict], logical_id: str) -> set[str]:
    actions = set()
    for statement in statements:
        if logical_id in str(statement["Resource"]):
            found = statement["Action"]
            actions |= {found} if isinstance(found, str) else set(found)
    return actions


def _table_id(stack, setting: str) -> str:
    return _ref(stack.environment("web")[setting])


def test_web_can_send_to_the_queue_but_never_consume(stack):
    web = _statements_of(stack, "web")
    queue_actions = _actions_on(web, _orders_queue_id(stack))
    assert "sqs:SendMessage" in queue_actions
    assert not queue_actions & {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:PurgeQueue",
    }
    assert "dynamodb:PutItem" not in _actions_on(web, _table_id(stack, "PRODUCTS_TABLE"))
    assert "dynamodb:GetItem" in _actions_on(web, _table_id(stack, "PRODUCTS_TABLE"))
    # Exactly what web calls (tests/iam/ checks every grant against the calls the suite made).
    assert _actions_on(web, _table_id(stack, "CARTS_TABLE")) == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    }
    assert _actions_on(web, _table_id(stack, "IDEMPOTENCY_TABLE")) == {"dynamodb:GetItem", "dynamodb:PutItem"}
    assert "dynamodb:UpdateItem" in _actions_on(web, _table_id(stack, "THROTTLE_TABLE"))
    assert "dynamodb:PutItem" in _actions_on(web, _table_id(stack, "ORDERS_TABLE")), "checkout creates orders"


# Every DynamoDB call that changes an existing item, or many of them.
_ITEM_WRITES = {"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:PutItem"}


def test_web_cannot_change_a_product_stock_nor_delete_an_order(stack):
    web = _statements_of(stack, "web")
    products = _actions_on(web, _table_id(stack, "PRODUCTS_TABLE"))
    orders = _actions_on(web, _table_id(stack, "ORDERS_TABLE"))
    assert not products & _ITEM_WRITES, products
    # PutItem: checkout creates orders (on condition that the id is new); UpdateItem: the payment
    # call, Stripe's webhook and cancel move an order's payment on (conditional on its status).
    assert not orders & (_ITEM_WRITES - {"dynamodb:PutItem", "dynamodb:UpdateItem"}), orders
    assert {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"} <= orders


def test_web_role_writes_no_product_and_no_image_object(stack):
    """Staff catalog writes run on the staff service: the public web role cannot make them."""
    web = _statements_of(stack, "web")
    products = _actions_on(web, _table_id(stack, "PRODUCTS_TABLE"))
    assert not products & {"dynamodb:PutItem", "dynamodb:UpdateItem"}, products
    actions = {a for s in web for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    s3_actions = {a for a in actions if a.startswith("s3:")}
    assert not s3_actions, s3_actions
    assert _actions_on(web, _images_bucket_id(stack)) == set()


def test_staff_role_writes_products_image_objects_and_refunds_and_nothing_else(stack):
    staff = _statements_of(stack, "staff")
    products = _actions_on(staff, _table_id(stack, "PRODUCTS_TABLE"))
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"} <= products
    # Archiving keeps the item; no batch writes, no scans: staff reads are web's.
    assert not products & {"dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:Scan"}, products
    # Refunds: read the order, reserve and record on it; never create or delete one.
    orders = _actions_on(staff, _table_id(stack, "ORDERS_TABLE"))
    assert orders == {"dynamodb:GetItem", "dynamodb:UpdateItem"}, orders
    bucket_id = _images_bucket_id(stack)
    assert _actions_on(staff, bucket_id) == {"s3:PutObject", "s3:PutObjectTagging", "s3:GetObject"}
    notifications_queue = _ref(stack.environment("staff")["NOTIFICATIONS_QUEUE_URL"])
    assert _actions_on(staff, notifications_queue) >= {"sqs:SendMessage"}
    assert "sqs:ReceiveMessage" not in _actions_on(staff, notifications_queue)
    allowed = (
        _table_id(stack, "PRODUCTS_TABLE"),
        _table_id(stack, "ORDERS_TABLE"),
        bucket_id,
        notifications_queue,
        *stack.of_type("AWS::Cognito::UserPool"),  # the staff group's re-check (test_accounts_stack)
        # The back office's retry publishes the order to the worker; its sign-in counts attempts.
        _orders_queue_id(stack),
        _table_id(stack, "THROTTLE_TABLE"),
    )
    resources = [s["Resource"] for s in staff]
    for statement in staff:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        # A receipt sent again (SES) and a customer's sign-in turned off or on (Cognito admin calls).
        if all(a.startswith(("ses:", "cognito-idp:Admin")) for a in actions):
            continue
        assert any(logical_id in str(statement["Resource"]) for logical_id in allowed), statement
    assert not any(_orders_queue_id(stack) in str(r) and "sqs:ReceiveMessage" in str(r) for r in resources)


def test_every_dynamodb_action_is_listed_explicitly(stack):
    """No `dynamodb:*`-style grants: each role gets exactly its list from deploy/stacks/access.py."""
    from deploy.stacks import access

    for container, lists in (
        ("web", access.WEB),
        ("staff", access.STAFF),
        ("worker", access.WORKER),
        ("seed", access.SEED),
        ("notifier", access.NOTIFIER),
        ("ledger", access.LEDGER),
    ):
        statements = _statements_of(stack, container)
        for setting in TABLE_SETTINGS.values():
            granted = {
                a for a in _actions_on(statements, _table_id(stack, setting)) if a.startswith("dynamodb:")
            }
            assert granted == set(lists.get(setting, ())), (container, setting, granted)


def test_worker_cannot_touch_carts(stack):
    worker = _statements_of(stack, "worker")
    assert _actions_on(worker, _table_id(stack, "CARTS_TABLE")) == set()
    assert not any("Carts" in str(s["Resource"]) for s in worker)
    assert _actions_on(worker, _table_id(stack, "IDEMPOTENCY_TABLE")) == set()
    assert _actions_on(worker, _table_id(stack, "THROTTLE_TABLE")) == set()
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage"} <= _actions_on(worker, _orders_queue_id(stack))
    for setting in ("PRODUCTS_TABLE", "ORDERS_TABLE"):
        assert "dynamodb:UpdateItem" in _actions_on(worker, _table_id(stack, setting))


def test_beat_and_seed_get_only_what_they_use(stack):
    beat = _statements_of(stack, "beat")
    assert all(_orders_queue_id(stack) in str(s["Resource"]) for s in beat)
    assert "sqs:ReceiveMessage" not in _actions_on(beat, _orders_queue_id(stack))
    seed = _statements_of(stack, "seed")
    assert all(_table_id(stack, "PRODUCTS_TABLE") in str(s["Resource"]) for s in seed)


def _metrics_statement(statement: dict) -> bool:
    """PutMetricData has no resource-level permissions: `*`, held to one namespace by a condition."""
    return statement["Action"] == "cloudwatch:PutMetricData" and statement.get("Condition") == {
        "StringEquals": {"cloudwatch:namespace": "CloudCart/CloudCart"}
    }


def _sms_statement(name: str, statement: dict) -> bool:
    """SNS Publish to a phone number names no resource: `*`, the notifier's only (order SMS)."""
    return (
        name == "notifier"
        and statement["Action"] == "sns:Publish"
        and statement.get("Sid") == "SmsToPhoneNumbers"
    )


def _xray_statement(statement: dict) -> bool:
    """The ADOT collector's X-Ray calls have no resource-level permissions: `*`, X-Ray only."""
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    return sorted(actions) == sorted(XRAY_ACTIONS)


def test_no_task_role_has_wildcard_actions_or_resources(stack):
    for name in APP_CONTAINERS:
        for statement in _statements_of(stack, name):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any(a.endswith(":*") or a == "*" for a in actions), (name, statement)
            assert (
                statement["Resource"] != "*"
                or _metrics_statement(statement)
                or _sms_statement(name, statement)
                or _xray_statement(statement)
            ), (name, statement)


def test_only_the_worker_and_projector_put_metrics_and_only_in_the_stacks_namespace(stack):
    for name in APP_CONTAINERS:
        puts = [s for s in _statements_of(stack, name) if "cloudwatch:PutMetricData" in str(s["Action"])]
        # The worker (heartbeat, PENDING age) and the ledger task (its projector's lag).
        expected = [True] if name in ("worker", "ledger", "ledger-before") else []
        assert [_metrics_statement(s) for s in puts] == expected, name
        assert stack.environment(name)["METRICS_NAMESPACE"] == "CloudCart/CloudCart", name


# --- Configuration handed to the containers --------------------------------------------------


def _secret_id(stack, description_start: str) -> str:
    (found,) = [
        logical_id
        for logical_id, secret in stack.of_type("AWS::SecretsManager::Secret").items()
        # The database's generated secret describes itself with a token (a dict), not a string.
        if str(secret["Properties"].get("Description", "")).startswith(description_start)
    ]
    return found


def test_secret_key_comes_from_secrets_manager(stack):
    secret_id = _secret_id(stack, "CloudCart's Django SECRET_KEY")
    for name, container in stack.containers().items():
        assert {"Name": "SECRET_KEY", "ValueFrom": {"Ref": secret_id}} in container["Secrets"], name
        assert "SECRET_KEY" not in stack.environment(name), name


def test_resource_names_reach_every_process_from_the_constructs(stack):
    tables = stack.of_type("AWS::DynamoDB::Table")
    queue_id = _orders_queue_id(stack)
    for name in APP_CONTAINERS:
        env = stack.environment(name)
        assert env["DJANGO_ENV"] == "production"
        assert env["AWS_REGION"] == {"Ref": "AWS::Region"}
        assert {_ref(env[setting]) for setting in TABLE_SETTINGS.values()} == set(tables)
        assert env["ORDERS_QUEUE_NAME"] == {"Fn::GetAtt": [queue_id, "QueueName"]}
        assert env["ORDERS_QUEUE_URL"] == {"Ref": queue_id}
        assert env["ORDERS_DLQ_NAME"]["Fn::GetAtt"][1] == "QueueName"
        assert "AWS_ENDPOINT_URL" not in env and "AWS_ACCESS_KEY_ID" not in env
        hosts = env["ALLOWED_HOSTS"]
        assert DOMAIN_NAME in str(hosts) and "DNSName" in str(hosts)


def test_every_variable_the_stack_sets_is_read_by_the_app_or_gunicorn(stack):
    """A misspelt name would be silently ignored by the app and fall back to a local default."""
    readers = (ROOT / "cloudcart" / "settings.py").read_text() + (
        ROOT / "deploy" / "gunicorn.conf.py"
    ).read_text()
    for name in APP_CONTAINERS:
        for variable in stack.environment(name):
            assert f'"{variable}"' in readers, (name, variable)


def test_every_container_logs_to_a_group_with_retention(stack):
    stack.template.all_resources_properties("AWS::Logs::LogGroup", {"RetentionInDays": Match.any_value()})
    for name, container in stack.containers().items():
        assert container["LogConfiguration"]["LogDriver"] == "awslogs", name


# --- Alarms and outputs ----------------------------------------------------------------------


def test_alarms_reach_an_email_topic(stack):
    (topic_id,) = [
        logical_id
        for logical_id, topic in stack.of_type("AWS::SNS::Topic").items()
        if topic["Properties"].get("DisplayName") == "CloudCart alarms"
    ]
    stack.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}, "TopicArn": {"Ref": topic_id}},
    )
    stack.template.has_parameter("AlarmEmail", {"Type": "String"})
    notify = {"AlarmActions": [{"Ref": topic_id}]}
    queue_id = _orders_queue_id(stack)
    # 5xx rate at the ALB: (ELB 5xx + target 5xx) / requests.
    stack.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            **notify,
            "Metrics": Match.array_with(
                [Match.object_like({"Expression": Match.string_like_regexp(r"elb.*target.*/ requests")})]
            ),
        },
    )
    stack.template.has_resource_properties(
        "AWS::CloudWatch::Alarm", {**notify, "MetricName": "TargetResponseTime", "ExtendedStatistic": "p99"}
    )
    stack.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            **notify,
            "MetricName": "ApproximateAgeOfOldestMessage",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}],
        },
    )
    dlq_arn = _orders_queue(stack)["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]
    dlq_id = dlq_arn["Fn::GetAtt"][0]
    stack.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            **notify,
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}],
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
        },
    )


def _alarm_topic_id(stack) -> str:
    (topic_id,) = [
        logical_id
        for logical_id, topic in stack.of_type("AWS::SNS::Topic").items()
        if topic["Properties"].get("DisplayName") == "CloudCart alarms"
    ]
    return topic_id


def test_an_order_pending_past_the_reconcile_window_raises_an_alarm(stack):
    topic_id = _alarm_topic_id(stack)
    window = settings.ORDERS_RECONCILE_AFTER_SECONDS + settings.ORDERS_RECONCILE_INTERVAL_SECONDS
    stack.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmActions": [{"Ref": topic_id}],
            "Namespace": "CloudCart/CloudCart",
            "MetricName": "OldestPendingOrderAgeSeconds",
            "Statistic": "Maximum",
            "Threshold": window,
            "ComparisonOperator": "GreaterThanThreshold",
        },
    )


def test_beat_stopping_raises_an_alarm(stack):
    """No heartbeat points is the alarm: missing data breaches."""
    topic_id = _alarm_topic_id(stack)
    stack.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmActions": [{"Ref": topic_id}],
            "Namespace": "CloudCart/CloudCart",
            "MetricName": "BeatHeartbeat",
            "Statistic": "SampleCount",
            "Threshold": 1,
            "ComparisonOperator": "LessThanThreshold",
            "TreatMissingData": "breaching",
        },
    )
    (beat,) = [c for name, c in stack.containers().items() if name == "beat"]
    assert "beat" in beat["Command"]
    assert settings.CELERY_BEAT_SCHEDULE["beat-heartbeat"]["task"] == "cloudcart.tasks.beat_heartbeat"


def test_outputs_give_the_url_the_tables_the_queue_and_the_seed_task(stack):
    outputs = stack.template_json["Outputs"]
    assert {"ApiUrl", "OrdersQueueUrl", "ClusterName", "SeedTaskDefinitionArn", "SeedSubnetIds"} <= set(
        outputs
    )
    assert outputs["OrdersQueueUrl"]["Value"] == {"Ref": _orders_queue_id(stack)}
    table_outputs = {
        _ref(o["Value"]) for o in outputs.values() if isinstance(o["Value"], dict) and "Ref" in o["Value"]
    }
    assert set(stack.of_type("AWS::DynamoDB::Table")) <= table_outputs
    seed_task = stack.containers()["seed"]["TaskDefinition"]
    assert outputs["SeedTaskDefinitionArn"]["Value"] == {"Ref": seed_task}


@pytest.mark.parametrize(
    "command", ["aws ecs run-task", "SeedTaskDefinitionArn", "seed_products", "cdk deploy"]
)
def test_deploy_doc_documents_deploying_and_seeding(command):
    assert command in (ROOT / "docs" / "deploy.md").read_text()


# --- Product images: bucket, CDN, and what the web role may do with them ------------------------


def _images_bucket_id(stack) -> str:
    return _ref(stack.environment("web")["PRODUCT_IMAGES_BUCKET"])


def test_images_bucket_is_private_encrypted_unversioned_and_expires_only_unused_uploads(stack):
    bucket = stack.resources[_images_bucket_id(stack)]
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert props.get("VersioningConfiguration", {}).get("Status") != "Enabled"
    rules = {rule.get("Id"): rule for rule in props["LifecycleConfiguration"]["Rules"]}
    # Only objects the app tagged as unused expire: attached images have no rule at all.
    assert rules["AbandonedUploads"]["TagFilters"] == [{"Key": "cloudcart-image", "Value": "pending"}]
    assert rules["ReplacedImages"]["TagFilters"] == [{"Key": "cloudcart-image", "Value": "replaced"}]
    assert all("ExpirationInDays" not in rule or rule.get("TagFilters") for rule in rules.values())
    # The app's own tag names are the ones the rules act on.
    from catalog import images

    assert {images.PENDING, images.REPLACED} == {
        r["TagFilters"][0]["Value"] for r in rules.values() if "TagFilters" in r
    }
    assert images.STATE_TAG == "cloudcart-image"


def test_images_bucket_denies_plain_http_and_lets_cloudfront_read_products_only(stack):
    bucket_id = _images_bucket_id(stack)
    (policy,) = [
        p
        for p in stack.of_type("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )
    (cdn_read,) = [s for s in statements if s.get("Principal") == {"Service": "cloudfront.amazonaws.com"}]
    assert cdn_read["Action"] == "s3:GetObject"
    assert str(cdn_read["Resource"]).endswith("'/products/*']]}") or "/products/*" in str(
        cdn_read["Resource"]
    )
    (distribution_id,) = _images_distributions(stack)
    assert distribution_id in str(cdn_read["Condition"]["StringEquals"]["AWS:SourceArn"])


def test_images_cors_allows_browser_posts_from_the_api_origin(stack):
    cors = stack.resources[_images_bucket_id(stack)]["Properties"]["CorsConfiguration"]["CorsRules"]
    assert [rule["AllowedMethods"] for rule in cors] == [["POST"]]
    assert cors[0]["AllowedOrigins"] == [f"https://{DOMAIN_NAME}"]  # the API's pages, never "*"


def _images_distributions(stack) -> dict:
    """The image CDN (the shop's distribution, deploy/stacks/storefront.py, is another)."""
    return {
        logical_id: distribution
        for logical_id, distribution in stack.of_type("AWS::CloudFront::Distribution").items()
        if distribution["Properties"]["DistributionConfig"]["Comment"] == "CloudCart product images"
    }


def test_image_cdn_uses_origin_access_control_https_and_logs(stack):
    (distribution,) = _images_distributions(stack).values()
    config = distribution["Properties"]["DistributionConfig"]
    (origin,) = config["Origins"]
    assert origin["OriginAccessControlId"]
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # OAC, not the legacy OAI
    assert _images_bucket_id(stack) in str(origin["DomainName"])
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["DefaultCacheBehavior"]["AllowedMethods"] == ["GET", "HEAD"]
    assert config["Logging"]["Bucket"]
    stack.template.has_resource_properties(
        "AWS::CloudFront::OriginAccessControl",
        {
            "OriginAccessControlConfig": Match.object_like(
                {"OriginAccessControlOriginType": "s3", "SigningBehavior": "always"}
            )
        },
    )
    base_url = stack.environment("web")["PRODUCT_IMAGES_BASE_URL"]
    assert "DomainName" in str(base_url) and "https://" in str(base_url)


def test_only_staff_may_sign_head_and_tag_image_objects_under_products_only(stack):
    bucket_id = _images_bucket_id(stack)
    staff = [s for s in _statements_of(stack, "staff") if bucket_id in str(s["Resource"])]
    assert staff, "the staff role has no access to the images bucket"
    for statement in staff:
        assert "/products/*" in str(statement["Resource"]), statement
    assert _actions_on(staff, bucket_id) == {"s3:PutObject", "s3:PutObjectTagging", "s3:GetObject"}
    for name in ("web", "worker", "beat", "seed", "notifier"):
        assert _actions_on(_statements_of(stack, name), bucket_id) == set(), name


# --- Staff writes: their own service, reached by listener rules ---------------------------------

_WRITES = ("POST", "PUT", "PATCH", "DELETE")


def _target_group_of(stack, container_name: str) -> dict:
    """The service's target group (web's API one: not the webhook's, which only its rule reaches)."""
    _, service = _service_of(stack, container_name)
    webhook = _webhook_target_group(stack)
    (load_balancer,) = [
        lb for lb in service["Properties"]["LoadBalancers"] if lb["TargetGroupArn"] != webhook
    ]
    assert load_balancer["ContainerName"] == container_name
    return load_balancer["TargetGroupArn"]


def _webhook_target_group(stack) -> dict:
    (rule,) = [
        r
        for r in stack.of_type("AWS::ElasticLoadBalancingV2::ListenerRule").values()
        if _condition_values(r, "path-pattern") == ["/webhooks/stripe"]
    ]
    (action,) = rule["Properties"]["Actions"]
    return action["TargetGroupArn"]


def _forwarding_listener(stack) -> tuple[str, dict]:
    """The listener that forwards (the HTTPS one; HTTP when there is no certificate)."""
    (found,) = [
        (k, listener)
        for k, listener in stack.of_type("AWS::ElasticLoadBalancingV2::Listener").items()
        if listener["Properties"]["DefaultActions"][0]["Type"] == "forward"
    ]
    return found


def _condition_values(rule: dict, field: str) -> list[str] | None:
    config = {"path-pattern": "PathPatternConfig", "http-request-method": "HttpRequestMethodConfig"}[field]
    for condition in rule["Properties"]["Conditions"]:
        if condition["Field"] == field:
            return condition[config]["Values"]
    return None


def _routed_to(stack, method: str, path: str):
    """The target group the ALB forwards `method path` to, as CloudFormation states it: the
    rules in priority order (all conditions of a rule must match; a path pattern's `*` matches
    any characters, `/` included), then the listener's default action."""
    listener_id, listener = _forwarding_listener(stack)
    rules = sorted(
        (
            r
            for r in stack.of_type("AWS::ElasticLoadBalancingV2::ListenerRule").values()
            if r["Properties"]["ListenerArn"] == {"Ref": listener_id}
        ),
        key=lambda r: r["Properties"]["Priority"],
    )
    for rule in rules:
        paths = _condition_values(rule, "path-pattern")
        methods = _condition_values(rule, "http-request-method")
        if paths is not None and not any(fnmatchcase(path, pattern) for pattern in paths):
            continue
        if methods is not None and method not in methods:
            continue
        (action,) = rule["Properties"]["Actions"]
        assert action["Type"] == "forward", rule
        return action["TargetGroupArn"]
    (default,) = listener["Properties"]["DefaultActions"]
    return default["TargetGroupArn"]


@pytest.mark.parametrize("shape", ["https", "http"])
def test_staff_writes_go_to_the_staff_target_group_and_nothing_else(synthesized, shape):
    stack = synthesized[shape]
    staff, web = _target_group_of(stack, "staff"), _target_group_of(stack, "web")
    assert staff != web
    for path in ("/products", "/products/p-1", "/products/p-1/stock", "/products/p-1/image", "/uploads/sign"):
        for method in _WRITES:
            assert _routed_to(stack, method, path) == staff, (method, path)
        for method in ("GET", "HEAD", "OPTIONS"):
            assert _routed_to(stack, method, path) == web, (method, path)
    for path in ("/cart", "/checkout", "/orders", "/auth/login", "/me", "/categories/books", "/healthz"):
        for method in ("GET", *_WRITES):
            assert _routed_to(stack, method, path) == web, (method, path)
    # Lookalikes outside the staff paths stay on web.
    for path in ("/productsx", "/products-export", "/uploadsx/sign", "/api/products"):
        assert _routed_to(stack, "POST", path) == web, path
    for method in _WRITES:
        assert _routed_to(stack, method, f"/orders/{'0' * 32}/refunds") == staff, method
    assert _routed_to(stack, "POST", f"/orders/{'0' * 32}/payment") == web
    rules = stack.of_type("AWS::ElasticLoadBalancingV2::ListenerRule").values()
    webhook = _webhook_target_group(stack)
    for rule in rules:
        values = sum(len(c[k]["Values"]) for c in rule["Properties"]["Conditions"] for k in c if k != "Field")
        assert values <= 5, rule  # the ALB's limit of condition values per rule
        target = staff if _condition_values(rule, "path-pattern") != ["/webhooks/stripe"] else webhook
        assert rule["Properties"]["Actions"] == [{"Type": "forward", "TargetGroupArn": target}], rule
    assert len({r["Properties"]["Priority"] for r in rules}) == len(rules)


def _write_routes():
    """(method, sample path, view module) for every write method of every route of the app."""
    from django.urls import URLPattern, URLResolver, get_resolver, reverse

    samples = {"product_id": "p-1", "category": "books", "order_id": "0" * 32}

    def walk(patterns, namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                yield from walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern):
                yield pattern, namespace

    for pattern, namespace in walk(get_resolver().url_patterns):
        view = getattr(pattern.callback, "view_class", None)
        if view is None or pattern.name is None:
            continue
        kwargs = {name: samples.get(name, "1") for name in pattern.pattern.regex.groupindex}
        path = reverse(f"{namespace}{pattern.name}", kwargs=kwargs)
        for method in _WRITES:
            if hasattr(view, method.lower()):
                yield method, path, view.__module__


def test_every_catalog_write_route_reaches_staff_and_every_other_write_web(stack):
    """The rules follow the app's routes: a new catalog write endpoint outside the staff paths,
    or a customer endpoint under them, fails here rather than with AccessDenied on AWS."""
    staff, web = _target_group_of(stack, "staff"), _target_group_of(stack, "web")
    routes = list(_write_routes())
    assert {path for _, path, module in routes if module.startswith("catalog.")} == {
        "/products",
        "/products/p-1",
        "/products/p-1/stock",
        "/products/p-1/image",
        "/uploads/sign",
    }
    for method, path, module in routes:
        # Refunds restock products: staff writes, as is the back office (/admin/).
        # Stripe's webhook is web's, on its own group.
        if module.startswith("catalog.") or path.endswith("/refunds") or path.startswith("/admin/"):
            expected = staff
        elif path == "/webhooks/stripe":
            expected = _webhook_target_group(stack)
        else:
            expected = web
        assert _routed_to(stack, method, path) == expected, (method, path, module)


def test_staff_service_runs_one_smallest_task_checked_on_healthz(stack):
    service_id, service = _service_of(stack, "staff")
    assert service["Properties"]["DesiredCount"] == 1
    assert service["Properties"]["LaunchType"] == "FARGATE"
    assert _scalable_targets_of(stack, service_id) == []
    task = stack.resources[stack.containers()["staff"]["TaskDefinition"]]["Properties"]
    assert (task["Cpu"], task["Memory"]) == ("256", "512")  # Fargate's smallest
    (group,) = [
        g
        for k, g in stack.of_type("AWS::ElasticLoadBalancingV2::TargetGroup").items()
        if {"Ref": k} == _target_group_of(stack, "staff")
    ]
    assert group["Properties"]["HealthCheckPath"] == "/healthz"
    assert group["Properties"]["Port"] == 8000 and group["Properties"]["TargetType"] == "ip"


def test_staff_container_is_the_web_container_with_one_process(stack):
    containers = stack.containers()
    web, staff = containers["web"], containers["staff"]
    for key in ("Image", "Command", "PortMappings", "StopTimeout"):
        assert staff[key] == web[key], key
    # Plus the back office's database: its URL, its password from the secret.
    (password,) = [s for s in staff["Secrets"] if s["Name"] == "DATABASE_PASSWORD"]
    assert [s for s in staff["Secrets"] if s is not password] == web["Secrets"]
    web_env, staff_env = stack.environment("web"), stack.environment("staff")
    assert "sslmode=require" in str(staff_env.pop("DATABASE_URL"))
    assert staff_env.pop("WEB_CONCURRENCY") == "1"
    web_env.pop("WEB_CONCURRENCY")
    assert (staff_env.pop("OTEL_SERVICE_NAME"), web_env.pop("OTEL_SERVICE_NAME")) == ("staff", "web")
    assert staff_env == web_env  # Cognito ids, hosts, forwarded IPs, tables, images: all the same
    assert {"COGNITO_USER_POOL_ID", "PRODUCT_IMAGES_BUCKET", "ALLOWED_HOSTS"} <= set(staff_env)
