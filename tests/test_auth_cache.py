"""Verified tokens are remembered, but never past their expiry nor for another token."""

from __future__ import annotations

import gc
import time
from datetime import UTC, datetime, timedelta

import pytest

from launchday.api.auth import Authenticator, mint_customer_token
from launchday.http.errors import HttpError
from launchday.http.routing import Caller
from tests.support import SECRET


def customer_of(auth: Authenticator, token: str) -> str | None:
    """The customer a token names; tokens of launchday's secret are checked at once."""
    caller = auth.caller(f"Bearer {token}")
    assert isinstance(caller, Caller)
    return caller.customer


def test_a_remembered_token_still_expires() -> None:
    auth = Authenticator(SECRET, "admin-key")
    token = mint_customer_token(SECRET, "c-1", datetime.now(UTC), timedelta(seconds=1))
    assert customer_of(auth, token) == "c-1"
    assert customer_of(auth, token) == "c-1"  # from memory
    time.sleep(1.2)
    with pytest.raises(HttpError, match="expired"):
        auth.caller(f"Bearer {token}")


def test_a_token_differing_from_a_remembered_one_is_verified_afresh() -> None:
    auth = Authenticator(SECRET, "admin-key")
    token = mint_customer_token(SECRET, "c-1", datetime.now(UTC), timedelta(hours=1))
    auth.caller(f"Bearer {token}")
    head, payload, signature = token.split(".")
    # The signature's first character swapped for another: its last carries padding
    # bits, so changing the end can decode to the same bytes.
    forged = f"{head}.{payload}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"
    with pytest.raises(HttpError, match="not valid"):
        auth.caller(f"Bearer {forged}")
    other = mint_customer_token(
        b"another-secret-0123456789abcdef-012345", "c-1", datetime.now(UTC), timedelta(hours=1)
    )
    with pytest.raises(HttpError, match="not valid"):
        auth.caller(f"Bearer {other}")


def test_what_is_remembered_of_a_token_is_not_for_the_garbage_collector() -> None:
    """A launch's crush remembers thousands of tokens a second: kept as strings and floats,
    never a tuple each, so no collection of the young generation walks them."""
    auth = Authenticator(SECRET, "admin-key")
    now = datetime.now(UTC)
    for i in range(100):
        token = mint_customer_token(SECRET, f"c-{i}", now, timedelta(hours=1))
        assert customer_of(auth, token) == f"c-{i}"
        assert customer_of(auth, token) == f"c-{i}"  # from memory
    remembered = [vars(auth)[name] for name in vars(auth) if name.startswith("_verified")]
    assert remembered
    assert sum(len(kept) for kept in remembered) >= 100
    assert not any(gc.is_tracked(kept) for kept in remembered)
