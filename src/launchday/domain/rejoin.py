"""The second chance: a buyer whose admission lapsed joins the waiting room again.

An admission token lives `token_ttl_seconds`. A buyer who was admitted and then put
the phone down (to switch to the payment app, to wait for a text message, to think)
finds it expired. Joining again is how they come back; the launch's
`rejoin_grace_seconds` says where they come back to:

- Within the grace period after the token expired, the ticket keeps its place: its
  turn had come, so it is admitted again at once, with a fresh token. This takes
  nobody's turn: admission runs at a rate, not in seats, and the place was reached
  fairly, so forgiving a short absence costs the people waiting nothing.
- A place is kept once. A ticket that lapses again, or comes back after the grace
  period, goes to the back of the queue: a new place behind everyone who joined
  before it, first come, first served, as a newcomer would get. So nobody holds an
  admission open by letting it lapse on purpose, and nobody overtakes the queue by
  coming back late.
- Only an expired ticket can rejoin. Joining with a waiting or admitted ticket gives
  that ticket back unchanged, so one identity never holds two places.

A grace of 0 sends every lapsed ticket to the back. Pure: times are arguments.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from launchday.domain.admission import TicketState, TicketView


class Rejoin(StrEnum):
    """Where a lapsed ticket comes back to."""

    KEPT_PLACE = "kept_place"  # admitted again at once: its turn had come
    BACK_OF_QUEUE = "back_of_queue"  # a new place behind everyone who joined before


def rejoin_kind(view: TicketView, at: datetime) -> Rejoin | None:
    """How the ticket seen as `view` rejoins at launch time `at`; None unless it lapsed."""
    if view.state is not TicketState.EXPIRED:
        return None
    if view.keeps_place_until is not None and at < view.keeps_place_until:
        return Rejoin.KEPT_PLACE
    return Rejoin.BACK_OF_QUEUE
