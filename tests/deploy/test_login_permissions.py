"""Sign-in makes only the DynamoDB calls the web role is granted in the synthesized stack.

The emulators check no IAM: the calls of the sign-in service (what `POST /auth/login` runs after
its write throttle) are recorded with the app's own call counter (cloudcart.aws.aws_calls_counted)
and each is looked up in the web task role's statements.
"""

import uuid

import pytest
from rest_framework.exceptions import APIException

from accounts.services import session_start
from cloudcart.aws import aws_calls_counted
from tests.accounts.support import PASSWORD, email_new, user_create
from tests.deploy.test_stack import _actions_on, _statements_of, _table_id

# IAM checks each item of a transaction against its own action (Put/Update/Delete/ConditionCheck).
_NO_ACTION_OF_ITS_OWN = {"TransactWriteItems"}


def _address() -> str:
    return f"198.51.100.{uuid.uuid4().int % 250 + 1}"


def _sign_in(*, email: str, password: str, guest_cart_id: str | None = None) -> tuple[int, set[str]]:
    """(the answer's status, the DynamoDB actions the sign-in needed)."""
    with aws_calls_counted() as calls:
        try:
            session_start(email=email, password=password, address=_address(), guest_cart_id=guest_cart_id)
            status = 200
        except APIException as exc:
            status = exc.status_code
    actions = {
        f"dynamodb:{operation}"
        for service, _, operation in (key.partition(".") for key in calls)
        if service == "dynamodb" and operation not in _NO_ACTION_OF_ITS_OWN
    }
    return status, actions


@pytest.fixture
def web_statements(stack) -> list[dict]:
    return _statements_of(stack, "web")


def test_every_dynamodb_call_of_the_login_guard_is_granted_to_the_web_role(settings, stack, web_statements):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    granted = _actions_on(web_statements, _table_id(stack, "THROTTLE_TABLE"))
    email = email_new("iam")
    user_create(email=email)
    made = {
        "success": _sign_in(email=email, password=PASSWORD),
        "failure 1": _sign_in(email=email, password="Wrong-passw0rd!"),
        "failure 2": _sign_in(email=email, password="Wrong-passw0rd!"),
        "refused": _sign_in(email=email, password=PASSWORD),
    }
    assert {path: status for path, (status, _) in made.items()} == {
        "success": 200,
        "failure 1": 401,
        "failure 2": 401,
        "refused": 429,
    }
    for path, (_, actions) in made.items():
        assert actions, path  # the guard reads or writes on every path: the check means something
        assert actions <= granted, (path, actions - granted)


def test_signing_in_with_a_guest_cart_calls_only_what_the_web_role_holds(
    api, stack, web_statements, make_product
):
    product = make_product()
    cart = api.post("/cart", {"id": product.id, "qty": 1}, format="json")
    assert cart.status_code in (200, 201), cart.content
    email = email_new("iam-cart")
    user_create(email=email)
    granted = set()
    for setting in ("PRODUCTS_TABLE", "CARTS_TABLE", "THROTTLE_TABLE"):
        granted |= _actions_on(web_statements, _table_id(stack, setting))
    status, actions = _sign_in(email=email, password=PASSWORD, guest_cart_id=cart.json()["id"])
    assert status == 200
    assert actions <= granted, actions - granted
