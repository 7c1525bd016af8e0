"""The secret that signs launchday's own tokens (customers' HS256 tokens, and admission
tokens through a key derived from it), rotated without downtime: a new secret signs from
its rotation on, and the one before it still verifies until a set time, then retires.

The first secret is the instance's (`LAUNCHDAY_SECRET`, or the one kept with the
database); each rotation adds the next, and says until when the one it replaced still
verifies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Rotation:
    generation: int  # 1 for the first rotation: the instance's secret is generation 0
    secret: bytes
    rotated_at: datetime
    previous_until: datetime  # until then the secret this one replaced still verifies


@dataclass(frozen=True, slots=True)
class SecretsInForce:
    signing: bytes
    also_verifying: tuple[bytes, ...]  # the retiring ones, newest first
    generation: int
    next_retirement: datetime | None  # when the set changes next without a rotation


def secrets_in_force(
    instance: bytes, rotations: Sequence[Rotation], now: datetime
) -> SecretsInForce:
    """Which secret signs and which others still verify at `now`."""
    ordered = sorted(rotations, key=lambda rotation: rotation.generation)
    chain = [instance, *(rotation.secret for rotation in ordered)]
    retiring = []
    upcoming = []
    for index, rotation in enumerate(ordered):
        if rotation.previous_until > now:
            retiring.append(chain[index])
            upcoming.append(rotation.previous_until)
    return SecretsInForce(
        signing=chain[-1],
        also_verifying=tuple(reversed(retiring)),
        generation=ordered[-1].generation if ordered else 0,
        next_retirement=min(upcoming) if upcoming else None,
    )
