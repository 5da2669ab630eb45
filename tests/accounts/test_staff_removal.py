"""Removal from the `staff` group stops staff writes within STAFF_RECHECK_SECONDS, although the
caller's access token still lists the group until it expires (up to an hour)."""

import time

from django.conf import settings as django_settings

from accounts.cognito import cognito, pool_config
from accounts.tokens import access_token_claims
from tests.accounts.support import access_token_for, bearer, email_new, user_create


def _staff_member() -> tuple[str, str]:
    email = email_new("exstaff")
    user_create(email=email, staff=True)
    return email, access_token_for(email=email)


def _remove_from_staff(email: str) -> None:
    cognito().admin_remove_user_from_group(
        UserPoolId=pool_config().pool_id, Username=email, GroupName=django_settings.COGNITO_STAFF_GROUP
    )


def test_a_staff_member_removed_from_the_group_can_no_longer_write(api, settings, make_product):
    settings.STAFF_RECHECK_SECONDS = 0  # the bound has passed (see the next test for the bound)
    email, token = _staff_member()
    product = make_product(stock=10)
    url = f"/products/{product.id}/stock"
    assert api.post(url, {"delta": 1}, format="json", **bearer(token)).status_code == 200
    _remove_from_staff(email)
    assert "staff" in access_token_claims(token)["cognito:groups"]  # the token still says staff
    refused = api.post(url, {"delta": 1}, format="json", **bearer(token))
    assert refused.status_code == 403, refused.content
    assert refused.json()["code"] == "permission_denied"
    assert api.get(url, **bearer(token)).json()["stock"] == 11  # the refused write changed nothing


def test_the_group_is_checked_again_once_the_bound_has_passed(settings):
    from accounts.staff_check import staff_still_member

    email, token = _staff_member()
    username = access_token_claims(token)["username"]
    now = time.monotonic()
    assert staff_still_member(username=username, now=now)
    _remove_from_staff(email)
    assert staff_still_member(username=username, now=now + settings.STAFF_RECHECK_SECONDS - 1)  # kept
    assert not staff_still_member(username=username, now=now + settings.STAFF_RECHECK_SECONDS)
