"""Notification writes: enqueue an order's notifications, and send each of them once.

`order_notify(order_id=...)` is the one call other code makes at every order state change
(placed at checkout, CONFIRMED/REJECTED in the worker, FAILED by the reconciler). It only puts
a `notify_order` task on the notifications queue, so SES or SNS being slow or down never holds up
an order. The task reads the order and walks its history: every state the order has been in gets
one SNS event (and every refund its own), the customer's states one e-mail each (when the order
has an address: CONFIRMED, REJECTED, EXPIRED, CANCELLED, each refund), and a customer who opted
in one SMS for CONFIRMED and for each refund (SNS Publish to the phone number, transactional).
Because the task derives the work from the order itself, any later enqueue for the order (a redelivered
order message, the next state change) also sends whatever an earlier, lost enqueue should have.

Once per order, state and channel: each send claims a marker (conditional write with a lease,
NOTIFY_TASK_TIME_LIMIT + margin), sends, then records SENT. A crash between claim and record
is resolved differently per channel:
- SNS events: at least once. A lapsed claim is claimed again and the event republished;
  subscribers deduplicate on the event's `id` (SNS delivers at least once anyway).
- E-mails and SMS: at most once (neither SES nor SNS SMS has an idempotency key). A lapsed
  claim, or a call that timed out after the request went out, is recorded UNCERTAIN and logged
  at ERROR, never resent: a worker dying inside its SES (SNS) call (bounded by the client's
  timeouts, no SDK retry) may cost that one message; nothing sends it twice. A failure that
  certainly sent nothing (connection refused, throttling, a 5xx answer) releases the claim and
  the task retries with backoff.

E-mails go to whatever address a guest typed at checkout, from the shop's address: each
recipient (an address; a phone number for SMS) gets at most NOTIFY_EMAILS_PER_RECIPIENT_PER_HOUR
messages (a conditional counter per recipient and hour, taken after the claim and given back
when nothing went out). Past it the message is SKIPPED and logged; the order is unaffected.
"""

import hashlib
import json
import logging
import secrets
from datetime import UTC, datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError
from django.conf import settings
from pynamodb.constants import NONE
from pynamodb.exceptions import PynamoDBException, UpdateError

from cloudcart import aws
from cloudcart.aws import is_transient_aws_error
from cloudcart.logs import request_id_var
from notifications.emails import EMAILED_STATES, Email, order_email_render
from notifications.events import REFUND_STATES, order_event, order_notices
from notifications.models import NotificationMarker, RecipientEmailCount
from notifications.selectors import marker_get, order_markers, order_with_markers
from notifications.sms import SMS_STATES, order_sms_render, order_sms_wanted
from orders.lifecycle import STATUSES
from orders.models import Order

logger = logging.getLogger(__name__)

SNS = "sns"
EMAIL = "email"
SMS = "sms"
# A claim outlives the task's hard time limit: past it, the attempt that made it is dead.
LEASE_MARGIN_SECONDS = 5
MARKER_TTL = timedelta(days=90)
RECIPIENT_PREFIX = "recipient#"
# The markers a pass reads with the order, in one BatchGetItem: every key a state's notice may use
# (its event; its e-mail, its SMS where it has one). A refund's notice is named after its refund
# ("REFUNDED:re_..."), unknown before the order is read: an order with one has its markers Queried.
# Each key costs a consistent read unit whether its marker exists or not (12, where the Query of
# the few that exist costs one or two): cheap beside the call it saves on every pass.
_STATES_READ_WITH_ORDER = frozenset(STATUSES) - REFUND_STATES
_MARKER_KEYS_READ_WITH_ORDER = frozenset(
    {f"{status}#{SNS}" for status in _STATES_READ_WITH_ORDER}
    | {f"{status}#{EMAIL}" for status in _STATES_READ_WITH_ORDER & EMAILED_STATES}
    | {f"{status}#{SMS}" for status in _STATES_READ_WITH_ORDER & SMS_STATES}
)
# SES answers that mean "not sent, try later" (besides any 5xx).
SES_RETRY_CODES = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException"})


class NotifyRetryLater(Exception):
    """Nothing went out and it may work later (AWS unreachable or throttling): retry the task."""


def _now() -> datetime:
    return datetime.now(UTC)


def order_notify(*, order_id: str) -> bool:
    """Enqueue the notifications of `order_id`'s current state (and any earlier one not yet sent).

    Returns False (logged) when SQS cannot be reached. Callers that must not lose the event
    treat False as "retry": the order worker raises, so its own message comes back.
    """
    from notifications.tasks import notify_order

    try:
        notify_order.apply_async(args=[order_id], retry=True)
    except Exception:
        logger.warning("Enqueueing notifications for order %s failed", order_id, exc_info=True)
        return False
    return True


# --- The marker: claim, then settle ------------------------------------------------------


def _marker_update(*, order_id: str, key: str, actions: list, condition) -> None:
    """One conditional UpdateItem of a marker that asks for nothing back (raises UpdateError).
    Model.update would have DynamoDB return the whole item (ALL_NEW) and deserialize it into a
    throwaway instance: ~0.2 ms of CPU on each of an event's two writes, for nothing."""
    NotificationMarker._get_connection().update_item(
        order_id, range_key=key, actions=actions, condition=condition, return_values=NONE
    )


def _claim(*, order_id: str, key: str, reclaim_lapsed: bool) -> str | None:
    """Claim the marker for one send; the claim's token, or None if it is not free."""
    token = secrets.token_hex(8)
    now = _now()
    free = NotificationMarker.order_id.does_not_exist() | (
        NotificationMarker.state == NotificationMarker.RELEASED
    )
    if reclaim_lapsed:
        free = free | (
            (NotificationMarker.state == NotificationMarker.CLAIMED) & (NotificationMarker.lease_until < now)
        )
    lease = timedelta(seconds=settings.NOTIFY_TASK_TIME_LIMIT + LEASE_MARGIN_SECONDS)
    try:
        _marker_update(
            order_id=order_id,
            key=key,
            actions=[
                NotificationMarker.state.set(NotificationMarker.CLAIMED),
                NotificationMarker.token.set(token),
                NotificationMarker.lease_until.set(now + lease),
                NotificationMarker.attempts.add(1),
                NotificationMarker.updated_at.set(now),
                NotificationMarker.expires_at.set(now + MARKER_TTL),
            ],
            condition=free,
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return None
        raise _retry_or_raise(exc) from exc
    return token


def _settle(*, order_id: str, key: str, token: str, state: str, message_id=None, detail=None) -> bool:
    """Record the outcome of the claim `token` holds. False if the claim was taken over."""
    now = _now()
    actions = [
        NotificationMarker.state.set(state),
        NotificationMarker.updated_at.set(now),
        NotificationMarker.lease_until.remove(),
    ]
    if message_id:
        actions.append(NotificationMarker.message_id.set(message_id))
    if detail:
        actions.append(NotificationMarker.detail.set(detail[:500]))
    try:
        _marker_update(
            order_id=order_id, key=key, actions=actions, condition=NotificationMarker.token == token
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            logger.warning(
                "Notification %s/%s: claim lapsed before its outcome (%s) was recorded", order_id, key, state
            )
            return False
        raise _retry_or_raise(exc) from exc
    return True


def _retry_or_raise(exc: Exception) -> Exception:
    return NotifyRetryLater(str(exc)) if is_transient_aws_error(exc) else exc


# --- The recipient's hourly count --------------------------------------------------------


def _recipient_count(address: str) -> RecipientEmailCount:
    """This hour's count item for `address` (hashed: the table holds no address in clear)."""
    digest = hashlib.sha256(address.strip().lower().encode()).hexdigest()
    return RecipientEmailCount(f"{RECIPIENT_PREFIX}{digest}", _now().strftime("%Y-%m-%dT%H"))


def recipient_email_reserve(*, address: str) -> bool:
    """Count one e-mail to `address` this hour; False (nothing counted) when its cap is reached."""
    count = _recipient_count(address)
    try:
        count.update(
            actions=[
                RecipientEmailCount.sent.add(1),
                RecipientEmailCount.expires_at.set(_now() + timedelta(hours=2)),
            ],
            condition=RecipientEmailCount.sent.does_not_exist()
            | (RecipientEmailCount.sent < settings.NOTIFY_EMAILS_PER_RECIPIENT_PER_HOUR),
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise _retry_or_raise(exc) from exc
    return True


def recipient_email_release(*, address: str) -> None:
    """Give back a count taken for an e-mail that certainly did not go out (best effort)."""
    try:
        _recipient_count(address).update(actions=[RecipientEmailCount.sent.add(-1)])
    except PynamoDBException:
        logger.warning("Could not give back an e-mail count; the recipient's cap is one lower this hour")


# --- Sending ----------------------------------------------------------------------------


def _sns_publish(event: dict) -> str:
    answer = aws.client("sns").publish(
        TopicArn=settings.ORDER_EVENTS_TOPIC_ARN,
        Message=json.dumps(event, separators=(",", ":")),
        MessageAttributes={"type": {"DataType": "String", "StringValue": event["type"]}},
    )
    return answer["MessageId"]


def _sms_send(*, to: str, text: str) -> str:
    """Publish one transactional SMS to a phone number (E.164). No SDK retry, as for e-mail: a
    resend after a timed-out answer could text the customer twice."""
    answer = aws.client("sns", max_attempts=1).publish(
        PhoneNumber=to,
        Message=text,
        MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}},
    )
    return answer["MessageId"]


def _ses_send(*, to: str, email: Email) -> str:
    params = {
        "Source": settings.NOTIFICATIONS_SENDER,
        "Destination": {"ToAddresses": [to]},
        "Message": {
            "Subject": {"Data": email.subject, "Charset": "UTF-8"},
            "Body": {
                "Text": {"Data": email.text, "Charset": "UTF-8"},
                "Html": {"Data": email.html, "Charset": "UTF-8"},
            },
        },
    }
    if settings.SES_CONFIGURATION_SET:
        params["ConfigurationSetName"] = settings.SES_CONFIGURATION_SET
    # No SDK retry: after a timed-out answer the e-mail may have gone out, and a blind resend
    # would be the duplicate the marker exists to prevent.
    return aws.client("ses", max_attempts=1).send_email(**params)["MessageId"]


NOT_SENT, REFUSED, UNKNOWN = "not_sent", "refused", "unknown"


def send_failure_kind(exc: Exception) -> str:
    """What a failed send tells us: NOT_SENT (retry), REFUSED (never will be), UNKNOWN (may have)."""
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        return NOT_SENT  # the request never reached the service
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if status >= 500 or code in SES_RETRY_CODES or is_transient_aws_error(exc):
            return NOT_SENT  # the service answered that it did not take it
        return REFUSED
    return UNKNOWN  # a read timeout or a dropped connection: the request may have been taken


def _send_once(
    *, order_id: str, key: str, existing, send, at_most_once: bool, recipient: str | None = None
) -> str:
    """Send at most once (e-mail) or at least once (event) per marker; return the marker state.

    With a `recipient`, the send first takes one of its hourly e-mails (SKIPPED when none is left).
    """
    if existing is not None and existing.state in NotificationMarker.FINAL:
        return existing.state
    token = _claim(order_id=order_id, key=key, reclaim_lapsed=not at_most_once)
    if token is None:
        try:
            current = marker_get(order_id=order_id, key=key)
        except PynamoDBException as exc:
            raise _retry_or_raise(exc) from exc
        if current is None:  # the condition failed on an item now gone: look again later
            raise NotifyRetryLater(f"{order_id}/{key}: marker changed under us")
        lapsed = current.state == NotificationMarker.CLAIMED and current.lease_until < _now()
        if at_most_once and lapsed:
            # The attempt holding it died between claim and record: it may have sent.
            _settle(
                order_id=order_id,
                key=key,
                token=current.token,
                state=NotificationMarker.UNCERTAIN,
                detail="the sending attempt stopped before recording its outcome",
            )
            logger.error(
                "Notification %s/%s may not have been sent; not resent (at most once)", order_id, key
            )
            return NotificationMarker.UNCERTAIN
        if current.state == NotificationMarker.CLAIMED:
            # Another attempt is sending it now. Look again once it is done (or its lease has
            # lapsed, should it have died): this message is what resolves a dead attempt's claim.
            raise NotifyRetryLater(f"{order_id}/{key}: being sent by another attempt")
        return current.state  # SENT or settled meanwhile
    if recipient is not None:
        try:
            allowed = recipient_email_reserve(address=recipient)
        except Exception as exc:
            _settle(
                order_id=order_id, key=key, token=token, state=NotificationMarker.RELEASED, detail=str(exc)
            )
            raise
        if not allowed:
            cap = settings.NOTIFY_EMAILS_PER_RECIPIENT_PER_HOUR
            _settle(
                order_id=order_id,
                key=key,
                token=token,
                state=NotificationMarker.SKIPPED,
                detail=f"its recipient had {cap} e-mails this hour (at most {cap} per hour)",
            )
            logger.warning(
                "Notification %s/%s skipped: its recipient had %s e-mails this hour", order_id, key, cap
            )
            return NotificationMarker.SKIPPED
    try:
        message_id = send()
    except Exception as exc:
        kind = send_failure_kind(exc)
        if recipient is not None and kind == NOT_SENT:
            recipient_email_release(address=recipient)
        # An event the topic refuses (a policy or configuration error) is retried into the DLQ and
        # its alarm; an e-mail SES refuses for good (a rejected address) would only be refused again.
        if kind == REFUSED and at_most_once:
            _settle(
                order_id=order_id, key=key, token=token, state=NotificationMarker.REFUSED, detail=str(exc)
            )
            logger.error("Notification %s/%s refused: %s", order_id, key, exc)
            return NotificationMarker.REFUSED
        if kind == UNKNOWN and at_most_once:
            _settle(
                order_id=order_id, key=key, token=token, state=NotificationMarker.UNCERTAIN, detail=str(exc)
            )
            logger.error("Notification %s/%s may not have been sent (%s); not resent", order_id, key, exc)
            return NotificationMarker.UNCERTAIN
        _settle(order_id=order_id, key=key, token=token, state=NotificationMarker.RELEASED, detail=str(exc))
        raise NotifyRetryLater(f"{order_id}/{key}: {exc}") from exc
    _settle(order_id=order_id, key=key, token=token, state=NotificationMarker.SENT, message_id=message_id)
    logger.info(
        "notification_sent",
        extra={"event": "notification_sent", "order_id": order_id, "marker": key, "message_id": message_id},
    )
    return NotificationMarker.SENT


def _order_and_markers(*, order_id: str) -> tuple[Order | None, dict[str, NotificationMarker]]:
    """The order and its markers: one BatchGetItem, plus a Query of the markers when the order has
    a notice whose markers it did not read (a refund's)."""
    read = order_with_markers(order_id=order_id, keys=_MARKER_KEYS_READ_WITH_ORDER)
    if read is None:
        # Throttled: the task's retry, with its backoff, is the read again.
        raise NotifyRetryLater(f"order {order_id}: DynamoDB left keys of its read unprocessed")
    order, markers = read
    if order is not None and any(n.name not in _STATES_READ_WITH_ORDER for n in order_notices(order)):
        markers = order_markers(order_id=order_id)
    return order, markers


def order_notifications_send(*, order_id: str) -> dict[str, str]:
    """Send every notification `order_id` is due and has not had: {marker key: state}.

    Raises NotifyRetryLater when something could not go out now (it is retried with backoff).
    """
    try:
        order, markers = _order_and_markers(order_id=order_id)
    except (PynamoDBException, BotoCoreError, ClientError) as exc:
        raise _retry_or_raise(exc) from exc
    if order is None:
        logger.warning("notify_order: unknown order %s, message dropped", order_id)
        return {}
    token = request_id_var.set(order.request_id)
    try:
        outcomes = {}
        for notice in order_notices(order):
            key = f"{notice.name}#{SNS}"
            event = order_event(order=order, notice=notice)
            outcomes[key] = _send_once(
                order_id=order_id,
                key=key,
                existing=markers.get(key),
                send=lambda event=event: _sns_publish(event),
                at_most_once=False,
            )
            if notice.status in EMAILED_STATES and order.email:
                key = f"{notice.name}#{EMAIL}"
                if key in markers and markers[key].state in NotificationMarker.FINAL:
                    outcomes[key] = markers[key].state
                else:
                    # Rendered before the claim: a template error never leaves a claimed marker.
                    email = order_email_render(order=order, status=notice.status, refund=notice.refund)
                    outcomes[key] = _send_once(
                        order_id=order_id,
                        key=key,
                        existing=markers.get(key),
                        send=lambda email=email: _ses_send(to=order.email, email=email),
                        at_most_once=True,
                        recipient=order.email,
                    )
            if notice.status in SMS_STATES and order_sms_wanted(order):
                key = f"{notice.name}#{SMS}"
                text = order_sms_render(order=order, status=notice.status, refund=notice.refund)
                # At most once, like an e-mail (SNS has no idempotency key for SMS), and within
                # the same hourly cap per recipient: a text costs money.
                outcomes[key] = _send_once(
                    order_id=order_id,
                    key=key,
                    existing=markers.get(key),
                    send=lambda text=text: _sms_send(to=order.phone, text=text),
                    at_most_once=True,
                    recipient=order.phone,
                )
        return outcomes
    finally:
        request_id_var.reset(token)


RECEIPT_STATES = frozenset({"CONFIRMED", "PARTIALLY_REFUNDED", "REFUNDED"})


def order_receipt_resend(*, order_id: str) -> str | None:
    """Send the order's receipt again (a staff request: the customer lost it); SES's message id.

    None when there is nothing to send: no such order, no address, or not a paid order. Callers
    make it once per request (the back office keys each submission); the once-per-state marker
    of the first receipt is left as it is.
    """
    try:
        order = Order.get(order_id, consistent_read=True)
    except Order.DoesNotExist:
        return None
    if order.status not in RECEIPT_STATES or not order.email:
        return None
    email = order_email_render(order=order, status="CONFIRMED")
    message_id = _ses_send(to=order.email, email=email)
    logger.info("Receipt of order %s sent again (message %s)", order_id, message_id)
    return message_id
