"""Unguessable ids (96 random bits, URL-safe), drawn from the OS a batch at a time.

Reading the OS's randomness releases the GIL; on the event loop's thread, getting it
back can mean waiting out the writer thread's time slice (milliseconds). Drawing 4,096
ids' worth at once makes that wait rare without making ids any less random.
"""

from __future__ import annotations

import base64
import os
import threading

_ID_BYTES = 12
_BATCH = 4096


class RandomIds:
    """A source of random ids; safe to share between threads."""

    def __init__(self) -> None:
        self._pool = b""
        self._offset = 0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            if self._offset >= len(self._pool):
                self._pool = os.urandom(_ID_BYTES * _BATCH)
                self._offset = 0
            chunk = self._pool[self._offset : self._offset + _ID_BYTES]
            self._offset += _ID_BYTES
        return base64.urlsafe_b64encode(chunk).decode()


new_id = RandomIds()
