"""Clients and headers for the API's authentication tests."""

from __future__ import annotations

from collections.abc import Iterable

from tests.support.auth import token


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


def as_(sub: str, *scopes: str) -> dict[str, str]:
    """The Authorization of a token for `sub` with exactly `scopes`."""
    return bearer(token(sub, scopes))


def customer(sub: str, extra: Iterable[str] = ()) -> dict[str, str]:
    """A customer's token: orders:write and orders:read for their own orders."""
    return as_(sub, "orders:write", "orders:read", *extra)
