"""The back office's part of the stack: Aurora Serverless v2 behind RDS Proxy, reached only by the
staff service and the projector, migrations before either serves, the projector's queue fed by
the order events, and the lag alarm."""

from tests.deploy.test_stack import _actions_on, _ref, _statements_of


def _one(stack, resource_type: str) -> dict:
    (resource,) = stack.of_type(resource_type).values()
    return resource["Properties"]


def test_aurora_serverless_v2_is_encrypted_backed_up_protected_and_tls_only(stack):
    cluster = _one(stack, "AWS::RDS::DBCluster")
    assert cluster["Engine"] == "aurora-postgresql"
    assert cluster["StorageEncrypted"] is True
    assert cluster["BackupRetentionPeriod"] == 7
    assert cluster["DeletionProtection"] is True
    assert cluster["ServerlessV2ScalingConfiguration"]["MinCapacity"] == 0.5
    (cluster_id,) = stack.of_type("AWS::RDS::DBCluster")
    assert stack.resources[cluster_id]["DeletionPolicy"] == "Snapshot"
    parameters = _one(stack, "AWS::RDS::DBClusterParameterGroup")["Parameters"]
    assert parameters["rds.force_ssl"] == "1"
    instance = _one(stack, "AWS::RDS::DBInstance")
    assert instance["DBInstanceClass"] == "db.serverless" and instance["PubliclyAccessible"] is False


def test_the_proxy_requires_tls_and_authenticates_with_the_secret(stack):
    proxy = _one(stack, "AWS::RDS::DBProxy")
    assert proxy["RequireTLS"] is True and proxy["EngineFamily"] == "POSTGRESQL"
    (auth,) = proxy["Auth"]
    assert auth["AuthScheme"] == "SECRETS"


def test_only_the_staff_service_and_the_projector_reach_the_database(stack):
    proxy_groups = {
        sg["Ref"] if "Ref" in sg else sg["Fn::GetAtt"][0]
        for sg in _one(stack, "AWS::RDS::DBProxy")["VpcSecurityGroupIds"]
    }
    sources = set()
    for ingress in stack.of_type("AWS::EC2::SecurityGroupIngress").values():
        properties = ingress["Properties"]
        if properties["GroupId"]["Fn::GetAtt"][0] in proxy_groups:
            sources.add(properties["SourceSecurityGroupId"]["Fn::GetAtt"][0])
    services = {
        name: stack.resources[sid]["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"][
            "SecurityGroups"
        ][0]["Fn::GetAtt"][0]
        for sid, name in (
            (service_id, stack.resources[service_id]["Properties"]["TaskDefinition"]["Ref"])
            for service_id in stack.of_type("AWS::ECS::Service")
        )
    }
    by_container = {
        container: services[info["TaskDefinition"]]
        for container, info in stack.containers().items()
        if info["TaskDefinition"] in services
    }
    assert sources == {by_container["staff"], by_container["ledger"]}
    for container in ("web", "worker", "beat", "notifier"):
        assert "DATABASE_URL" not in stack.environment(container), container


def test_the_database_url_names_the_proxy_with_tls_and_the_password_comes_from_the_secret(stack):
    for container in ("staff", "ledger"):
        url = stack.environment(container)["DATABASE_URL"]
        assert "sslmode=require" in str(url)
        (secret,) = [s for s in stack.containers()[container]["Secrets"] if s["Name"] == "DATABASE_PASSWORD"]
        assert ":password::" in str(secret["ValueFrom"])


def test_migrations_run_before_the_staff_and_projector_containers_start(stack):
    containers = stack.containers()
    for name in ("staff", "ledger"):
        before = containers[f"{name}-before"]
        assert before["Command"][:3] == ["python", "manage.py", "ledger_migrate"]
        assert before["Essential"] is False
        assert {"ContainerName": f"{name}-before", "Condition": "SUCCESS"} in containers[name]["DependsOn"]


def test_the_projector_consumes_its_own_queue_subscribed_raw_to_the_order_events(stack):
    queue_id = _ref(stack.environment("ledger")["LEDGER_QUEUE_URL"])
    queue = stack.resources[queue_id]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 5
    assert queue["SqsManagedSseEnabled"] is True
    subscriptions = [
        s["Properties"]
        for s in stack.of_type("AWS::SNS::Subscription").values()
        if s["Properties"].get("Protocol") == "sqs" and queue_id in str(s["Properties"]["Endpoint"])
    ]
    assert len(subscriptions) == 1 and subscriptions[0]["RawMessageDelivery"] is True
    ledger = _statements_of(stack, "ledger")
    assert "sqs:ReceiveMessage" in _actions_on(ledger, queue_id)
    assert "dynamodb:BatchGetItem" in _actions_on(ledger, _ref(stack.environment("web")["ORDERS_TABLE"]))
    for other in ("web", "worker", "notifier"):
        assert not _actions_on(_statements_of(stack, other), queue_id), other


def test_the_ledger_lag_alarm_watches_the_oldest_unprojected_event(stack):
    queue_id = _ref(stack.environment("ledger")["LEDGER_QUEUE_URL"])
    alarms = [
        a["Properties"]
        for a in stack.of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ApproximateAgeOfOldestMessage"
        and queue_id in str(a["Properties"].get("Dimensions"))
    ]
    assert len(alarms) == 1 and alarms[0]["Threshold"] == 60
    assert alarms[0]["AlarmActions"]


def test_the_back_office_is_routed_to_the_staff_service(stack):
    rules = [
        r["Properties"]
        for r in stack.of_type("AWS::ElasticLoadBalancingV2::ListenerRule").values()
        if any(
            c.get("PathPatternConfig", {}).get("Values") == ["/admin", "/admin/*"]
            for c in r["Properties"]["Conditions"]
        )
    ]
    assert rules
    staff = _statements_of(stack, "staff")
    assert any("cognito-idp:AdminDisableUser" in str(s["Action"]) for s in staff)
