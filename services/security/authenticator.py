"""Who may do what: a bearer token in, a Principal holding the required scopes out.

`authenticator_from(settings)` is called by each composition root (the API's `create_app`,
the sales consumer's `main`) and fails there, with one line, on a missing or unusable key.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from cryptography.exceptions import UnsupportedAlgorithm

from boundbox.errors import ConfigurationError
from boundbox.settings import Settings
from services.security.errors import InsufficientScopeError, MissingTokenError
from services.security.keys import JwksKeys, KeySource, PublicKey, SecretKey
from services.security.principal import UNCHECKED, Principal
from services.security.tokens import MIN_SECRET_BYTES
from services.security.verifier import TokenVerifier

KEY_VARIABLES = "AUTH_SECRET, AUTH_PUBLIC_KEY or AUTH_JWKS_URL"


class Authenticator:
    """Checks a request's token and scopes; with no verifier (AUTH_MODE=none), nothing."""

    def __init__(self, verifier: TokenVerifier | None) -> None:
        self._verifier = verifier

    @property
    def enabled(self) -> bool:
        return self._verifier is not None

    async def authenticate(self, token: str | None, required: Sequence[str] = ()) -> Principal:
        """The caller of `token`, holding every scope of `required`; else an AuthError."""
        if self._verifier is None:
            return UNCHECKED
        if token is None:
            raise MissingTokenError("a bearer token is required")
        principal = await self._verifier.verify(token)
        if missing := principal.missing(required):
            raise InsufficientScopeError(missing)
        return principal


def authenticator_from(settings: Settings) -> Authenticator:
    """The authenticator of AUTH_MODE and the one key source set; ConfigurationError if unusable."""
    if settings.auth_mode == "none":
        return Authenticator(None)
    keys = key_source(settings)
    return Authenticator(
        TokenVerifier(keys, issuer=settings.auth_issuer, audience=settings.auth_audience)
    )


def key_source(settings: Settings) -> KeySource:
    """The key source of exactly one of AUTH_SECRET, AUTH_PUBLIC_KEY and AUTH_JWKS_URL."""
    secret = settings.auth_secret.get_secret_value()
    chosen = [
        name
        for name, value in (
            ("AUTH_SECRET", secret),
            ("AUTH_PUBLIC_KEY", settings.auth_public_key),
            ("AUTH_JWKS_URL", settings.auth_jwks_url),
        )
        if value.strip()
    ]
    if not chosen:
        raise ConfigurationError(
            f"AUTH_MODE=jwt needs a key to verify tokens: set {KEY_VARIABLES} "
            "(or AUTH_MODE=none to turn authentication off)"
        )
    if len(chosen) > 1:
        raise ConfigurationError(
            f"set only one of {KEY_VARIABLES}, not {' and '.join(chosen)}: "
            "one kind of key, so a token cannot choose its algorithm"
        )
    match chosen[0]:
        case "AUTH_SECRET":
            if len(secret.encode()) < MIN_SECRET_BYTES:
                raise ConfigurationError(f"AUTH_SECRET: must be at least {MIN_SECRET_BYTES} bytes")
            return SecretKey(secret)
        case "AUTH_PUBLIC_KEY":
            return _public_key(settings.auth_public_key)
        case _:
            return _jwks(settings.auth_jwks_url)


def _public_key(value: str) -> PublicKey:
    # An environment variable often carries a PEM's newlines as literal `\n`.
    pem = value.strip().replace("\\n", "\n")
    try:
        return PublicKey(pem)
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigurationError("AUTH_PUBLIC_KEY: not a PEM RSA or EC P-256 public key") from None


def _jwks(value: str) -> JwksKeys:
    url = urlsplit(value.strip())
    try:
        url.port  # noqa: B018 (raises ValueError when the port is not a number 0-65535)
    except ValueError:
        url = url._replace(netloc="")
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigurationError("AUTH_JWKS_URL: must be an http:// or https:// URL")
    return JwksKeys(url.geturl())
