"""The notifications table: one "sent" marker per order, state and channel."""

from django.conf import settings
from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.constants import PAY_PER_REQUEST_BILLING_MODE
from pynamodb.models import Model

from cloudcart.aws import DynamoMeta


class NotificationMarker(Model):
    """Whether the SNS event or the e-mail for one order state went out.

    The range key is `<STATUS>#<channel>` ("CONFIRMED#email"), so one Query reads an order's
    markers. A send first *claims* its marker (a conditional write with a lease), then sends, then
    records the outcome; see notifications/services.py for what a crash in between means.
    """

    class Meta(DynamoMeta):
        table_name = settings.NOTIFICATIONS_TABLE
        billing_mode = PAY_PER_REQUEST_BILLING_MODE

    order_id = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    state = UnicodeAttribute()
    # The attempt that holds the claim, and until when it may still be sending.
    token = UnicodeAttribute(null=True)
    lease_until = UTCDateTimeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    message_id = UnicodeAttribute(null=True)  # SNS's or SES's id for what was sent
    detail = UnicodeAttribute(null=True)  # why it was not sent (REFUSED, UNCERTAIN)
    updated_at = UTCDateTimeAttribute()
    # Kept long enough for any redelivery or operator retry; DynamoDB's TTL then removes it.
    expires_at = TTLAttribute()

    CLAIMED = "CLAIMED"  # an attempt is sending now (until lease_until)
    RELEASED = "RELEASED"  # an attempt failed before anything went out: free to claim again
    SENT = "SENT"
    REFUSED = "REFUSED"  # the service refused it for good (e.g. an address SES rejects)
    UNCERTAIN = "UNCERTAIN"  # an e-mail attempt died or timed out mid-send: never resent
    SKIPPED = "SKIPPED"  # not sent on purpose: its recipient had all its e-mails for the hour
    FINAL = frozenset({SENT, REFUSED, UNCERTAIN, SKIPPED})


class RecipientEmailCount(Model):
    """How many e-mails went to one recipient address in one clock hour.

    Items of the markers' table (its key names, other values): the hash key is
    `recipient#<sha256 of the address>`, never an order id, the range key the hour.
    """

    class Meta(DynamoMeta):
        table_name = settings.NOTIFICATIONS_TABLE
        billing_mode = PAY_PER_REQUEST_BILLING_MODE

    order_id = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    sent = NumberAttribute(default=0)
    expires_at = TTLAttribute()
