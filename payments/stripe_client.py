"""The one place that builds the StripeClient (API base, key, timeouts) and maps Stripe's errors to ours.

Every call goes through `stripe_call`: Stripe unreachable, timing out, rate limiting or failing
(5xx) is `PaymentsUnavailable` (503 + Retry-After); a card refused is `PaymentDeclined` (402) with
Stripe's message; anything else (a request Stripe calls invalid) stays a `stripe.StripeError` for
the caller to judge.
"""

import functools
import logging

import stripe
from django.conf import settings

from cloudcart.aws import external_call_count
from payments.errors import PaymentDeclined, PaymentsUnavailable

logger = logging.getLogger(__name__)


@functools.cache
def _client(api_key: str, api_base: str, timeout: float, retries: int) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base} if api_base else None,
        http_client=stripe.RequestsClient(timeout=timeout),
        max_network_retries=retries,
    )


def stripe_client() -> stripe.StripeClient:
    """The StripeClient for the current settings (built once per process and settings)."""
    return _client(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE,
        settings.STRIPE_TIMEOUT_SECONDS,
        settings.STRIPE_MAX_NETWORK_RETRIES,
    )


def is_unavailable(exc: stripe.StripeError) -> bool:
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError | stripe.APIError):
        return True
    return (exc.http_status or 0) >= 500


def _operation(call) -> str:
    """`PaymentIntent.create` for `client.v1.payment_intents.create`."""
    owner = type(getattr(call, "__self__", None)).__name__.removesuffix("Service")
    return f"{owner}.{getattr(call, '__name__', 'call')}"


def stripe_call(call, *args, **kwargs):
    """`call(*args, **kwargs)` with Stripe's errors mapped (see the module's docstring). Counted
    as `stripe.<Resource>.<method>` by cloudcart.aws's per-request call counter (`make bench`)."""
    external_call_count(service="stripe", operation=_operation(call))
    try:
        return call(*args, **kwargs)
    except stripe.CardError as exc:
        raise PaymentDeclined(exc.user_message or str(exc) or None) from exc
    except stripe.StripeError as exc:
        if is_unavailable(exc):
            logger.warning(
                "Stripe unavailable: %s", type(exc).__name__, extra={"stripe_error": str(exc)[:200]}
            )
            raise PaymentsUnavailable() from exc
        raise
