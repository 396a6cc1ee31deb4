"""Ctrl-C as a request to stop cleanly: the loop finishes its step, saves, and returns.

    with StopOnInterrupt() as stop:
        for step in ...:
            ...
            if stop.requested:
                break

A second Ctrl-C while saving falls through to Python's default (KeyboardInterrupt),
so a user can always kill a stuck run.
"""
from __future__ import annotations

import signal
import threading

from algorithms.common.progress import status


class StopOnInterrupt:
    def __init__(self, what="run"):
        self.what = what
        self.requested = False
        self._old = None

    def _handler(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        status(f"\ninterrupted: finishing the current step and saving the {self.what} "
               "(press Ctrl-C again to abort at once)")

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def request(self):
        """Ask the loop to stop (the UI's cancel button calls this)."""
        self.requested = True

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False
