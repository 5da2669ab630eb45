"""Staff actions from the admin, each run once per form submission through the owning app's service.

The admin never writes DynamoDB or the ledger itself: retry, cancel, refund and resend call the
orders, payments and notifications services; catalog changes call the catalog services; sign-in
changes call the accounts services. The ledger catches up when the order events come back.

Every form carries an idempotency key made when it was rendered. `action_run` claims the key
with an INSERT on its primary key before calling the service: a second submission of the same
form (a double click, a browser resend) finds the claim and runs nothing. The key also goes to
services that take one (the refund), so a crash between the claim and the outcome cannot refund
twice either.
"""

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from backoffice.models import ActionRun
from cloudcart.errors import ApplicationError
from cloudcart.money import format_cents

logger = logging.getLogger(__name__)


class ActionUnavailable(ApplicationError):
    status_code = 501
    default_code = "action_unavailable"
    default_detail = "This action's service is not available in this release."


def service(path: str) -> Callable:
    """The service function at `module.function`, looked up when used: an app that has not
    shipped it yet makes its action unavailable, not the admin broken."""
    module_name, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError):
        raise ActionUnavailable(f"{path} is not available.") from None


@dataclass(frozen=True)
class Outcome:
    ran: bool  # False: this submission had already been run (or is running)
    ok: bool
    message: str


def action_run(*, key: str, action: str, by: str, order_id: str = "", run: Callable[[], str]) -> Outcome:
    """Run `run` once for this form submission `key`; what it said, or what the first run said."""
    try:
        with transaction.atomic():
            claim = ActionRun.objects.create(key=key, action=action, order_id=order_id, by=by)
    except IntegrityError:
        first = ActionRun.objects.get(key=key)
        message = first.outcome or "This form was already submitted; it is being processed."
        return Outcome(ran=False, ok=first.state != ActionRun.FAILED, message=message)
    try:
        message = run()
        claim.state, claim.outcome = ActionRun.DONE, message
    except ApplicationError as error:
        claim.state, claim.outcome = ActionRun.FAILED, str(error.detail)
    except Exception as error:
        logger.exception("Admin action %s on %s failed", action, order_id or "-")
        claim.state, claim.outcome = ActionRun.FAILED, f"The action failed: {error.__class__.__name__}."
    claim.save(update_fields=["state", "outcome"])
    return Outcome(ran=True, ok=claim.state == ActionRun.DONE, message=claim.outcome)


# --- The order actions: each one service call ---------------------------------------------


def order_retry_action(*, order_id: str) -> str:
    order = service("orders.services.order_retry")(order_id=order_id)
    if order is None:
        raise ApplicationError("Only a FAILED order can be retried; this one is not FAILED.")
    return "The order is PENDING again and was published to the worker."


def order_cancel_action(*, order_id: str) -> str:
    # The life cycle's actor is the role ("staff"), not who: the action's row keeps who.
    service("orders.services.order_cancel")(order_id=order_id, actor="staff")
    return "The order is cancelled."


def order_refund_action(
    *, order_id: str, amount_cents: int | None, restock: bool, reason: str | None, key: str, actor: str
) -> str:
    refund = service("payments.refunds.order_refund")(
        order_id=order_id,
        amount_cents=amount_cents,
        restock=restock,
        reason=reason,
        idempotency_key=key,
        actor=actor,
    )
    amount = getattr(refund, "amount_cents", None)
    return f"Refunded {format_cents(int(amount))}." if amount is not None else "Refunded."


def order_receipt_resend_action(*, order_id: str) -> str:
    message_id = service("notifications.services.order_receipt_resend")(order_id=order_id)
    if message_id is None:
        raise ApplicationError("No receipt to send: the order is not paid or has no e-mail address.")
    return "The receipt was sent again."


def customer_sign_in_action(*, customer_id: str, enabled: bool) -> str:
    service("accounts.services.user_sign_in_set")(user_id=customer_id, enabled=enabled)
    return "Sign-in enabled." if enabled else "Sign-in disabled; the customer's sessions are revoked."
