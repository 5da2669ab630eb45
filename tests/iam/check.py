"""Compare the AWS calls the suite logged (cloudcart/aws.py, AWS_CALL_LOG) with each process
kind's task role in the synthesized stack: every call granted, every grant used or explained."""

import fnmatch
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from tests.iam.actions import iam_actions
from tests.iam.kinds import KINDS, kinds_of, queue_name

# Granted but never seen called in the suite, and why that is right:
# (kind or "*", action, the table or queue setting or None for any) -> the reason.
ALLOWED_UNUSED: dict[tuple[str, str, str | None], str] = {
    ("*", "sqs:GetQueueUrl", None): "part of the CDK's grant_send_messages/grant_consume_messages; kombu "
    "looks a queue up by name only when it has no URL, and the stack gives every process the URLs",
    ("worker", "sqs:ReceiveMessage", "ORDERS_QUEUE_NAME"): "kombu receives through its own asynchronous "
    "SQS client (kombu/asynchronous/aws/sqs), which signs requests outside botocore's call events: "
    "the log cannot see it, and a consumer cannot work without it",
    ("notifier", "sqs:ReceiveMessage", "NOTIFICATIONS_QUEUE_NAME"): "as the worker's: kombu's own client",
    ("*", "sqs:ChangeMessageVisibility", None): "kombu's consumer changes a message's visibility when a "
    "task retries with a countdown or is rejected; part of grant_consume_messages",
    ("*", "sqs:GetQueueAttributes", None): "kombu reads a queue's attributes once per process, on its "
    "first publish there: which request or task makes it depends on the order tests run in; part "
    "of grant_send_messages",
    ("seed", "dynamodb:BatchGetItem", "PRODUCTS_TABLE"): "`seed_products --count N` (synthetic products, "
    "catalog/services.py) reads a chunk's ids before its BatchWriteItem; the suite runs the seed "
    "process without --count (tests/ops/test_outage.py) and the synthetic path in-process",
    ("seed", "dynamodb:BatchWriteItem", "PRODUCTS_TABLE"): "as BatchGetItem: the synthetic products' writes",
    **{
        ("*", f"xray:{action}", None): "the OpenTelemetry collector beside the app in each task "
        "(deploy/stacks/services.py) sends the traces to X-Ray with the task's role: no call of the app's"
        for action in (
            "PutTraceSegments",
            "PutTelemetryRecords",
            "GetSamplingRules",
            "GetSamplingTargets",
            "GetSamplingStatisticSummaries",
        )
    },
    ("*", "cognito-idp:AdminListGroupsForUser", None): "the staff re-check (accounts/staff_check.py) on "
    "staff writes; its answer is kept per process and caller for STAFF_RECHECK_SECONDS, so which "
    "process asks in the suite depends on the order tests run in",
    ("staff", "cognito-idp:AdminGetUser", None): "the back office's customer page shows whether the "
    "account may sign in (accounts/selectors.py user_sign_in_enabled); the admin tests read it "
    "directly, not through the page",
    ("ledger", "dynamodb:Scan", "ORDERS_TABLE"): "`ledger_rebuild` and `ledger_check` run as the "
    "projector's one-off tasks on AWS (docs/operations.md); the suite runs them in its own process "
    "(tests/backoffice/test_projector.py)",
    ("notifier", "kms:Decrypt", None): "SNS uses the events topic's KMS key on the publisher's behalf: "
    "sns:Publish to an encrypted topic needs it, no call of ours does",
    ("notifier", "kms:GenerateDataKey*", None): "as kms:Decrypt: SNS encrypts each published event",
}


# Calls the suite makes only because it runs locally, never on AWS: not judged as needs.
# (kind, action) -> why.
LOCAL_ONLY: dict[tuple[str, str], str] = {
    ("web", "cognito-idp:AdminConfirmSignUp"): "ACCOUNTS_AUTO_CONFIRM confirms a sign-up at once locally "
    "(moto sends no e-mail); it is off on AWS, where the customer confirms with the e-mailed code",
    ("web", "cognito-idp:ListUserPools"): "accounts/cognito.py finds the local pool by name when "
    "COGNITO_USER_POOL_ID is unset; the stack sets it (production refuses to start without it)",
    ("web", "cognito-idp:ListUserPoolClients"): "as ListUserPools: COGNITO_CLIENT_ID is set on AWS",
    ("staff", "cognito-idp:ListUserPools"): "as the web's: the back office's sign-in finds the local "
    "pool by name when COGNITO_USER_POOL_ID is unset; the stack sets it",
    ("staff", "cognito-idp:ListUserPoolClients"): "as ListUserPools: COGNITO_CLIENT_ID is set on AWS",
}


@dataclass(frozen=True)
class Need:
    kind: str
    action: str
    resource: str | None  # the setting naming the table or queue (PRODUCTS_TABLE), when known
    origin: str


def calls_read(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _by_suffix(name: str, settings_suffix: str, prefix: str) -> str | None:
    """The setting (…_TABLE, …_QUEUE_NAME) whose value `name` is, also under another prefix."""
    best = None
    for setting in dir(settings):
        if not setting.endswith(settings_suffix):
            continue
        value = getattr(settings, setting)
        if not isinstance(value, str) or not value:
            continue
        tail = value.removeprefix(prefix)
        if (name == value or name.endswith(tail)) and (best is None or len(tail) > len(best[1])):
            best = (setting, tail)
    return best[0] if best else None


def resource_setting(call: dict, table: str | None) -> str | None:
    if table:
        return _by_suffix(table, "_TABLE", settings.TABLE_PREFIX)
    queue = queue_name(call)
    if call["service"] == "sqs" and queue:
        return _by_suffix(queue, "_QUEUE_NAME", settings.QUEUE_PREFIX) or _by_suffix(
            queue, "_DLQ_NAME", settings.QUEUE_PREFIX
        )
    return None


def needs_of(calls: list[dict]) -> tuple[set[Need], list[dict]]:
    """What each kind needs; and the calls nothing attributes to a kind (a task on a queue no
    kind consumes: add its kind to tests/iam/kinds.py)."""
    needs, unattributed = set(), []
    for call in calls:
        kinds = kinds_of(call)
        if kinds is None:
            unattributed.append(call)
            continue
        for kind in kinds:
            for action, table in iam_actions(call):
                if (kind, action) in LOCAL_ONLY:
                    continue
                needs.add(Need(kind, action, resource_setting(call, table), call["origin"]))
    return needs, unattributed


# --- The stack's side --------------------------------------------------------------------


def _role_statements(template: dict, container: str) -> list[dict] | None:
    resources = template["Resources"]
    for resource in resources.values():
        if resource["Type"] != "AWS::ECS::TaskDefinition":
            continue
        if any(c["Name"] == container for c in resource["Properties"]["ContainerDefinitions"]):
            role_id = resource["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
            return [
                statement
                for policy in resources.values()
                if policy["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in policy["Properties"]["Roles"]
                for statement in policy["Properties"]["PolicyDocument"]["Statement"]
                if statement.get("Effect", "Allow") == "Allow"
            ]
    return None


def _logical_ids(template: dict) -> dict[str, str]:
    """{setting: logical id} for the tables and queues the containers are told about."""
    found = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::ECS::TaskDefinition":
            continue
        for container in resource["Properties"]["ContainerDefinitions"]:
            for variable in container.get("Environment", []):
                value = variable["Value"]
                if isinstance(value, dict) and (
                    variable["Name"].endswith(("_TABLE", "_QUEUE_NAME", "_DLQ_NAME"))
                ):
                    ref = value.get("Ref") or value.get("Fn::GetAtt", [None])[0]
                    if ref:
                        found[variable["Name"]] = ref
    return found


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _grants(statement: dict, action: str, logical_id: str | None) -> bool:
    if not any(fnmatch.fnmatch(action.lower(), pattern.lower()) for pattern in _listed(statement["Action"])):
        return False
    resources = _listed(statement["Resource"])
    return logical_id is None or "*" in resources or logical_id in json.dumps(resources)


def check(template: dict, calls: list[dict], *, used_too: bool, notes: list[str] | None = None) -> list[str]:
    """Every problem found, one line each (empty: the roles fit the calls). A kind the stack does
    not run yet (no container of its name) is not judged: it goes to `notes`."""
    needs, unattributed = needs_of(calls)
    logical = _logical_ids(template)
    problems = [
        f"unattributed: {c['service']}:{c['operation']} from {c['origin']!r} "
        "(no kind in tests/iam/kinds.py runs it)"
        for c in unattributed
    ]
    for kind in KINDS:
        statements = _role_statements(template, kind.name)
        mine = {need for need in needs if need.kind == kind.name}
        if statements is None:
            if mine and notes is not None:
                actions = ", ".join(
                    sorted({n.action + (f" on {n.resource}" if n.resource else "") for n in mine})
                )
                notes.append(
                    f"{kind.name}: no task role of its own in the stack yet; not judged, it needs {actions}"
                )
            continue
        for need in sorted(mine, key=lambda n: (n.action, n.resource or "", n.origin)):
            logical_id = logical.get(need.resource) if need.resource else None
            if not any(_grants(s, need.action, logical_id) for s in statements):
                where = f" on {need.resource}" if need.resource else ""
                problems.append(f"{kind.name}: {need.action}{where} is not granted (called by {need.origin})")
        if not used_too or not mine:
            continue
        used = defaultdict(set)
        for need in mine:
            used[need.action.lower()].add(logical.get(need.resource) if need.resource else None)
        for statement in statements:
            targets = [s for s, lid in logical.items() if lid in json.dumps(statement["Resource"])] or [None]
            for action in _listed(statement["Action"]):
                for setting in targets:
                    lid = logical.get(setting) if setting else None
                    seen = used.get(action.lower(), set())
                    if lid in seen or None in seen or (lid is None and seen):
                        continue
                    keys = [(who, action, what) for who in (kind.name, "*") for what in (setting, None)]
                    if any(key in ALLOWED_UNUSED for key in keys):
                        continue
                    where = f" on {setting}" if setting else ""
                    problems.append(
                        f"{kind.name}: {action}{where} is granted but no call in the suite used it"
                    )
    return sorted(set(problems), key=problems.index)
