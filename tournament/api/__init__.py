"""The HTTP JSON API (FastAPI): a thin layer over the services, documented at /openapi.json."""

from tournament.api.app import create_app

__all__ = ["create_app"]
