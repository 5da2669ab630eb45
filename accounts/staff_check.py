"""Staff writes re-check the caller's `staff` group at Cognito, at most every STAFF_RECHECK_SECONDS.

An access token lists the caller's groups as they were at sign-in and verifies for up to an hour:
without a re-check, someone removed from `staff` keeps staff rights until it expires. The answer
of AdminListGroupsForUser is kept per process and per caller for STAFF_RECHECK_SECONDS, so a
removal takes effect within that bound and busy staff cost one Cognito call a minute per process.
"""

import threading
import time

from botocore.exceptions import ClientError
from django.conf import settings

from accounts.cognito import cognito, error_code, pool_config

_checked: dict[str, tuple[float, bool]] = {}  # username -> (when checked, in the staff group)
_lock = threading.Lock()


def _in_staff_group(username: str) -> bool:
    groups = []
    try:
        paginator = cognito().get_paginator("admin_list_groups_for_user")
        for page in paginator.paginate(UserPoolId=pool_config().pool_id, Username=username):
            groups += [group["GroupName"] for group in page["Groups"]]
    except ClientError as exc:
        if error_code(exc) == "UserNotFoundException":  # deleted since sign-in
            return False
        raise
    return settings.COGNITO_STAFF_GROUP in groups


def staff_still_member(*, username: str, now: float | None = None) -> bool:
    """True when `username` was in the staff group at Cognito within STAFF_RECHECK_SECONDS."""
    now = time.monotonic() if now is None else now
    with _lock:
        checked = _checked.get(username)
    if checked is not None and now - checked[0] < settings.STAFF_RECHECK_SECONDS:
        return checked[1]
    member = _in_staff_group(username)
    with _lock:
        _checked[username] = (now, member)
    return member
