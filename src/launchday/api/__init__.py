"""The HTTP API: a lean ASGI app, msgspec for JSON, errors mapped to statuses once."""

from launchday.api.app import create_app

__all__ = ["create_app"]
