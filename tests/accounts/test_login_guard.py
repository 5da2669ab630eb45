"""The sign-in guard under load and over time: attempts are reserved before Cognito is asked, so
parallel guesses cannot slip past the limit; a person who mistypes waits a minute, a guesser
runs into the hourly budget."""

import threading
import time
import uuid

import pytest
import requests

from tests.accounts.support import PASSWORD, email_new, user_create


def _address() -> str:
    return f"192.0.2.{uuid.uuid4().int % 250 + 1}"


def test_twenty_parallel_wrong_passwords_let_at_most_five_reach_cognito(web):
    email = email_new("parallel")
    user_create(email=email)
    barrier = threading.Barrier(20)
    answers: list[requests.Response] = []
    lock = threading.Lock()

    def guess() -> None:
        with requests.Session() as session:  # its own connection: any worker and thread may answer
            barrier.wait(timeout=30)
            response = session.post(
                f"{web.url}/auth/login", json={"email": email, "password": "Wrong-passw0rd!"}, timeout=60
            )
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)

    codes = sorted(response.json()["code"] for response in answers)
    # Only a guess the guard let through reaches Cognito and comes back `invalid_credentials`.
    reached = codes.count("invalid_credentials")
    assert len(codes) == 20
    assert 1 <= reached <= 5, codes
    assert codes.count("throttled") == 20 - reached, codes
    # The right password is refused too while the account is locked: guessing stops here.
    locked = requests.post(f"{web.url}/auth/login", json={"email": email, "password": PASSWORD}, timeout=60)
    assert locked.status_code == 429


def test_a_person_who_mistypes_five_times_waits_at_most_a_minute(api):
    """The demo customer's complaint: five typos locked the account for 15 minutes."""
    email = email_new("typo")
    user_create(email=email)

    def login(password: str):
        body = {"email": email, "password": password}
        return api.post("/auth/login", body, format="json", REMOTE_ADDR=_address())

    assert [login("Typo-passw0rd!").status_code for _ in range(5)] == [401] * 5
    locked = login(PASSWORD)
    assert locked.status_code == 429
    assert 1 <= int(locked["Retry-After"]) <= 61


def test_each_lock_that_follows_another_is_twice_as_long(settings):
    from accounts.errors import LoginThrottled
    from accounts.login_guard import login_attempt_release, login_attempt_reserve

    settings.LOGIN_FAILURES_PER_ACCOUNT, settings.LOGIN_LOCK_SECONDS = 5, 60
    email, address = email_new("slow"), _address()
    now = time.time()
    locks = []
    for _ in range(4):  # a guesser who comes back as soon as each lock ends
        for _ in range(5):
            login_attempt_reserve(email=email, address=address, now=now)  # a wrong password: kept
        with pytest.raises(LoginThrottled) as refused:
            login_attempt_reserve(email=email, address=address, now=now + 1)
        locks.append(refused.value.wait)
        now += refused.value.wait + 1
    assert locks == [60, 120, 240, 480]
    # A success gives its attempt back: signing in often never locks the owner out.
    owner = email_new("owner")
    for _ in range(8):
        login_attempt_release(login_attempt_reserve(email=owner, address=address, now=now))
    login_attempt_reserve(email=owner, address=address, now=now)
    # Failures are forgotten after a quiet day: the next lock is the first one's again.
    later = now + settings.LOGIN_FAILURE_MEMORY_SECONDS + 1
    for _ in range(5):
        login_attempt_reserve(email=email, address=address, now=later)
    with pytest.raises(LoginThrottled) as refused:
        login_attempt_reserve(email=email, address=address, now=later)
    assert refused.value.wait == 61
