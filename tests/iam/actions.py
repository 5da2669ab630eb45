"""Which IAM actions a botocore operation needs: one table, including the names that differ."""

# Cognito's user APIs are authorized by the user's own tokens (or none: sign-up, sign-in), not by
# IAM: the web role needs no permission for them. Admin* calls are IAM-authorized.
COGNITO_PUBLIC = frozenset(
    {
        "SignUp",
        "ConfirmSignUp",
        "ResendConfirmationCode",
        "InitiateAuth",
        "RespondToAuthChallenge",
        "GetUser",
        "GlobalSignOut",
        "RevokeToken",
        "ForgotPassword",
        "ConfirmForgotPassword",
        "ChangePassword",
        "GetTokensFromRefreshToken",
    }
)
# botocore service name -> IAM service prefix, where they differ.
IAM_PREFIX = {"sesv2": "ses", "monitoring": "cloudwatch"}
# Operations whose IAM action is not `<prefix>:<Operation>`.
RENAMED = {
    ("s3", "HeadObject"): ("s3:GetObject",),
    ("s3", "HeadBucket"): ("s3:ListBucket",),
    ("s3", "ListObjectsV2"): ("s3:ListBucket",),
    ("s3", "ListObjects"): ("s3:ListBucket",),
    # A copy reads its source and writes its destination (and its tags, when it sets them: below).
    ("s3", "CopyObject"): ("s3:GetObject", "s3:PutObject"),
    ("s3", "GetObjectTagging"): ("s3:GetObjectTagging",),
    # Not a call: botocore builds a presigned POST on the CreateBucket model (botocore/signers.py,
    # generate_presigned_post), and the app creates no bucket (bootstrap_aws is the harness's).
    # The form lets a browser put the object, with its tag, as the signer: what the signer needs.
    ("s3", "CreateBucket"): ("s3:PutObject", "s3:PutObjectTagging"),
    ("sesv2", "SendEmail"): ("ses:SendEmail",),
    ("ses", "SendEmail"): ("ses:SendEmail",),
    ("ses", "SendRawEmail"): ("ses:SendRawEmail",),
    # SQS's batch calls are authorized by the one-message action (IAM has no *Batch action).
    ("sqs", "DeleteMessageBatch"): ("sqs:DeleteMessage",),
    ("sqs", "SendMessageBatch"): ("sqs:SendMessage",),
    ("sqs", "ChangeMessageVisibilityBatch"): ("sqs:ChangeMessageVisibility",),
}
# DynamoDB transactions have no action of their own: IAM checks each item's.
TRANSACT_ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}


def iam_actions(call: dict) -> list[tuple[str, str | None]]:
    """[(IAM action, DynamoDB table name or None)] one logged call needs; [] when IAM is not asked."""
    service, operation = call["service"], call["operation"]
    if service == "cognito-idp" and operation in COGNITO_PUBLIC:
        return []
    if service == "dynamodb" and operation in ("TransactWriteItems", "TransactGetItems"):
        return [(TRANSACT_ITEM_ACTIONS[kind], table) for kind, table in call.get("Items", [])]
    if service == "dynamodb" and "Tables" in call:  # BatchGetItem, BatchWriteItem
        return [(f"dynamodb:{operation}", table) for table in call["Tables"]]
    actions = RENAMED.get((service, operation)) or (f"{IAM_PREFIX.get(service, service)}:{operation}",)
    if service == "s3" and call.get("Tagging"):  # PutObject or CopyObject that sets the tags
        actions = (*actions, "s3:PutObjectTagging")
    return [(action, call.get("TableName")) for action in actions]
