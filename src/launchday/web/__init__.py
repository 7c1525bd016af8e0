"""The web pages: the launch list and the live launch dashboard (no front-end build)."""

from launchday.web.dashboard import Dashboard

__all__ = ["Dashboard"]
