"""devdb's exceptions: one root, and command errors that become MongoDB error replies."""

from __future__ import annotations

from typing import Any

TRANSIENT = "TransientTransactionError"


class DevdbError(Exception):
    """Root of every error devdb raises."""


class DevDatabaseError(DevdbError):
    """The dev database cannot start or serve."""


class CommandError(DevdbError):
    """A command failed the way MongoDB reports it: a code, its name, a message, labels."""

    def __init__(
        self,
        code: int,
        code_name: str,
        message: str,
        *,
        labels: tuple[str, ...] = (),
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.code_name = code_name
        self.message = message
        self.labels = labels
        self.details = details or {}

    def reply(self) -> dict[str, Any]:
        """The command reply MongoDB sends for this error."""
        reply: dict[str, Any] = {
            "ok": 0,
            "errmsg": self.message,
            "code": self.code,
            "codeName": self.code_name,
        }
        reply.update(self.details)
        if self.labels:
            reply["errorLabels"] = list(self.labels)
        return reply

    def write_error(self, index: int) -> dict[str, Any]:
        """This error as one entry of a write command's `writeErrors`."""
        return {"index": index, "code": self.code, "errmsg": self.message, **self.details}


def bad_value(message: str) -> CommandError:
    return CommandError(2, "BadValue", message)


def type_mismatch(message: str) -> CommandError:
    return CommandError(14, "TypeMismatch", message)


def write_conflict() -> CommandError:
    return CommandError(
        112,
        "WriteConflict",
        "Write conflict during plan execution and yielding is disabled.",
        labels=(TRANSIENT,),
    )


def no_such_transaction(command: str) -> CommandError:
    labels = () if command == "abortTransaction" else (TRANSIENT,)
    return CommandError(
        251,
        "NoSuchTransaction",
        "Transaction has been aborted or has expired",
        labels=labels,
    )


def namespace_not_found(message: str = "ns not found") -> CommandError:
    return CommandError(26, "NamespaceNotFound", message)


def namespace_exists(namespace: str) -> CommandError:
    return CommandError(48, "NamespaceExists", f"Collection {namespace} already exists.")


def invalid_namespace(message: str) -> CommandError:
    return CommandError(73, "InvalidNamespace", message)


def duplicate_key(
    namespace: str, index: str, key_pattern: dict[str, Any], key_value: dict[str, Any]
) -> CommandError:
    shown = ", ".join(f"{name}: {value!r}" for name, value in key_value.items())
    return CommandError(
        11000,
        "DuplicateKey",
        f"E11000 duplicate key error collection: {namespace} index: {index} dup key: {{ {shown} }}",
        details={"keyPattern": key_pattern, "keyValue": key_value},
    )
