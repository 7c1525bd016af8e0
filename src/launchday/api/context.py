"""What the API's handlers work with: the use cases, the wall clock, the metrics, and the
watch on this host's clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import msgspec

from launchday.http.metrics import Metrics
from launchday.services import Services
from launchday.services.clock_watch import ClockWatch

encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class ApiContext:
    services: Services
    clock: Callable[[], datetime]
    metrics: Metrics
    clock_watch: ClockWatch
