"""The HTTP command API: `create_app(settings)` is the composition root of the API process."""

from services.api.app import create_app

__all__ = ["create_app"]
