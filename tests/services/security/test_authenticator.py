"""authenticator_from: AUTH_MODE and exactly one usable key, or one line saying what is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from boundbox.errors import ConfigurationError
from boundbox.settings import Settings
from services.security import UNCHECKED, authenticator_from
from services.security.errors import InsufficientScopeError, MissingTokenError
from tests.services.security.jwts import claims, ec_key, hs256, public_pem, rsa_key, signed
from tests.support.auth import TEST_SECRET


def settings(**values: Any) -> Settings:
    keys = {"auth_secret": "", "auth_public_key": "", "auth_jwks_url": ""}
    return Settings(_env_file=None, **(keys | values))  # type: ignore[call-arg]


def configuration_error(**values: Any) -> str:
    with pytest.raises(ConfigurationError) as raised:
        authenticator_from(settings(**values))
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_jwt_without_any_key_fails_naming_every_way_out() -> None:
    message = configuration_error(auth_mode="jwt")

    for name in ("AUTH_SECRET", "AUTH_PUBLIC_KEY", "AUTH_JWKS_URL", "AUTH_MODE=none"):
        assert name in message


def test_two_key_sources_fail() -> None:
    message = configuration_error(auth_secret=TEST_SECRET, auth_jwks_url="https://idp/jwks")

    assert "only one" in message


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"auth_secret": "short"}, "AUTH_SECRET"),
        ({"auth_public_key": "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----"}, "PEM"),
        ({"auth_jwks_url": "file:///etc/passwd"}, "AUTH_JWKS_URL"),
        ({"auth_jwks_url": "not a url"}, "AUTH_JWKS_URL"),
    ],
)
def test_an_unusable_key_fails(values: dict[str, str], variable: str) -> None:
    assert variable in configuration_error(**values)


async def test_none_mode_checks_nothing_and_grants_every_scope() -> None:
    authenticator = authenticator_from(settings(auth_mode="none"))

    assert not authenticator.enabled
    assert await authenticator.authenticate(None, ["orders:admin"]) == UNCHECKED


async def test_a_pem_with_escaped_newlines_as_in_an_env_file_is_read() -> None:
    pem = public_pem(ec_key()).replace("\n", "\\n")
    authenticator = authenticator_from(settings(auth_public_key=pem))

    principal = await authenticator.authenticate(signed(claims(), ec_key(), "ES256"))

    assert principal.sub == "ada"


async def test_required_scopes_are_checked_and_the_missing_ones_named() -> None:
    authenticator = authenticator_from(settings(auth_secret=TEST_SECRET))
    token = hs256(claims(scope="orders:read"))

    with pytest.raises(InsufficientScopeError) as raised:
        await authenticator.authenticate(token, ["orders:read", "orders:admin", "sales:read"])
    with pytest.raises(MissingTokenError):
        await authenticator.authenticate(None)

    assert raised.value.missing == ("orders:admin", "sales:read")


def test_an_rsa_public_key_is_accepted() -> None:
    assert authenticator_from(settings(auth_public_key=public_pem(rsa_key()))).enabled
