"""The web pages: the launch list and the live launch dashboard (no front-end build).

The api package mounts these routes (`launchday.api.app`) and these modules use its
routing types, so it is imported first whichever of the two a program imports first.
"""

import launchday.api  # noqa: F401  (import order: see above)
from launchday.web.dashboard import Dashboard

__all__ = ["Dashboard"]
