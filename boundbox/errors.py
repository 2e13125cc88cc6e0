"""The root of every error boundbox raises on purpose."""


class BoundboxError(Exception):
    """Base class of the errors raised by boundbox itself."""


class ConfigurationError(BoundboxError):
    """The environment holds a missing or unsafe setting."""
