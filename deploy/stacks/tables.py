"""The DynamoDB tables, built from the PynamoDB models: the models are the one source of truth."""

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct
from django.conf import settings

from cloudcart.bootstrap import ttl_attribute_name

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}
_PROJECTIONS = {
    "ALL": dynamodb.ProjectionType.ALL,
    "KEYS_ONLY": dynamodb.ProjectionType.KEYS_ONLY,
    "INCLUDE": dynamodb.ProjectionType.INCLUDE,
}


def table_setting_name(model) -> str:
    """The setting (and env var) that names `model`'s table, e.g. "PRODUCTS_TABLE"."""
    names = [
        name
        for name in dir(settings)
        if name.endswith("_TABLE") and getattr(settings, name) == model.Meta.table_name
    ]
    if len(names) != 1:
        raise LookupError(f"{model.__name__}: expected one *_TABLE setting for its table, found {names}")
    return names[0]


def _keys(key_schema: list[dict], types: dict[str, str]) -> dict:
    keys = {}
    for key in key_schema:
        name = key["AttributeName"]
        role = "partition_key" if key["KeyType"] == "HASH" else "sort_key"
        keys[role] = dynamodb.Attribute(name=name, type=_ATTRIBUTE_TYPES[types[name]])
    return keys


class Tables(Construct):
    """One on-demand table per model, with its GSIs and TTL; PITR, deletion protection, RETAIN.

    The schema is what PynamoDB's `create_table` sends (the same call `manage.py bootstrap_aws`
    makes locally), so the deployed tables cannot drift from the ones the tests run against.
    Table names are left to CloudFormation and handed to the containers as env (`by_setting`).
    """

    def __init__(self, scope: Construct, construct_id: str, *, models: list) -> None:
        super().__init__(scope, construct_id)
        self.by_setting: dict[str, dynamodb.Table] = {}
        for model in models:
            setting = table_setting_name(model)
            self.by_setting[setting] = self._table(setting, model)

    def _table(self, setting: str, model) -> dynamodb.Table:
        schema = model._get_schema()  # PynamoDB's own create_table input
        types = {a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]}
        if schema["local_secondary_indexes"]:
            raise NotImplementedError(f"{model.__name__}: local secondary indexes are not deployed yet")
        table = dynamodb.Table(
            self,
            "".join(part.capitalize() for part in setting.split("_")),  # "ProductsTable"
            **_keys(schema["key_schema"], types),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            time_to_live_attribute=ttl_attribute_name(model),
            # Customer data: survives `cdk destroy`; delete it by hand if you really mean to.
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in schema["global_secondary_indexes"]:
            projection = index["projection"]
            table.add_global_secondary_index(
                index_name=index["index_name"],
                **_keys(index["key_schema"], types),
                projection_type=_PROJECTIONS[projection["ProjectionType"]],
                non_key_attributes=projection.get("NonKeyAttributes"),
            )
        return table

    def environment(self) -> dict[str, str]:
        """{"PRODUCTS_TABLE": <deployed name>, ...}: the env the app's settings read."""
        return {setting: table.table_name for setting, table in self.by_setting.items()}
