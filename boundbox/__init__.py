"""boundbox: change state and publish an event, atomically."""

__version__ = "0.1.0"
