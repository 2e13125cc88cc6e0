"""What boundbox says about a broker connection: its address without the password, and the
gist of why it failed, in one line a person can act on (never a repr of an AMQP frame)."""

from __future__ import annotations

from aiormq.exceptions import InvalidFrameError, ProbableAuthenticationError
from yarl import URL


def broker_address(url: str) -> str:
    """`amqp://user@host:port/vhost`: the broker and login a process uses, without password."""
    try:
        parsed = URL(url)
    except ValueError:
        return "the broker (AMQP URL unreadable)"
    return str(parsed.with_password(None).with_query(None))


def _vhost(url: str) -> str:
    try:
        path = URL(url).path
    except ValueError:
        return "/"
    return path[1:] or "/"


def _user(url: str) -> str:
    try:
        return URL(url).user or "guest"
    except ValueError:
        return "guest"


def describe_broker_error(error: BaseException, url: str) -> str:
    """One line on why connecting to the broker at `url` failed."""
    text = " ".join(str(error).split())
    if isinstance(error, InvalidFrameError) and "Connection.Close" in text:
        # RabbitMQ answers Connection.Open with Connection.Close (NOT_ALLOWED) when the virtual
        # host does not exist or the user may not use it; aiormq keeps only the frame's repr.
        return (
            f"the broker refused virtual host {_vhost(url)!r} to user {_user(url)!r}: it does "
            "not exist or the user has no permission on it (check the AMQP URL's path)"
        )
    if isinstance(error, ProbableAuthenticationError):
        return f"login refused for user {_user(url)!r}: wrong user name or password"
    if isinstance(error, ConnectionError | OSError) and error.args and len(error.args) == 2:
        return f"{type(error).__name__}: {error.args[1]}"
    first = text.split(". For details", 1)[0] if text else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__
