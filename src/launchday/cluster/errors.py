"""What goes wrong bringing a one-machine cluster up or down, said for a person."""

from __future__ import annotations


class ClusterError(RuntimeError):
    """The cluster could not be brought up (or down): the message says what, and which
    log to read."""
