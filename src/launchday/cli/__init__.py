"""The `launchday` command: thin, it parses arguments and calls the package.

`commands` holds serve, db, token and report; `rehearsals` holds demo and simulate;
`rehearse` what those two share.
"""

from __future__ import annotations

from launchday.cli import commands, rehearsals
from launchday.cli.app import app, free_port

__all__ = ["app", "commands", "free_port", "main", "rehearsals"]


def main() -> None:
    app()
