"""Progress bars that show live numbers, and go quiet on request or when output is not a terminal."""
from __future__ import annotations

import sys
import time

from tqdm.auto import tqdm

_QUIET = [False]


def set_quiet(flag: bool):
    """Silence every progress bar and status line (the CLI's --quiet)."""
    _QUIET[0] = bool(flag)


def is_quiet() -> bool:
    return _QUIET[0]


def progress(total, desc, unit="it", leave=True):
    """A tqdm bar writing to stderr; disabled under --quiet."""
    return tqdm(total=total, desc=desc, unit=unit, leave=leave, disable=_QUIET[0],
                dynamic_ncols=True, file=sys.stderr, mininterval=0.5)


def status(msg: str):
    """One line of status on stderr (not printed under --quiet)."""
    if not _QUIET[0]:
        tqdm.write(msg, file=sys.stderr)


def fmt(values: dict, digits=4) -> dict:
    """Numbers formatted for a bar's postfix."""
    return {k: (f"{v:.{digits}g}" if isinstance(v, float) else v) for k, v in values.items()}


class Timer:
    """Seconds since start, and per-step averages for reports."""

    def __init__(self):
        self.start = time.perf_counter()
        self.steps = 0

    def tick(self, n=1):
        self.steps += n

    @property
    def elapsed(self):
        return time.perf_counter() - self.start

    @property
    def per_step(self):
        return self.elapsed / self.steps if self.steps else float("nan")
