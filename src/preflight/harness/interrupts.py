"""Ctrl-C and SIGTERM (what CI sends on cancel or timeout).

The first signal stops the run the way pytest stops on Ctrl-C (a KeyboardInterrupt), after
which the controller retires what the run enabled and writes the gate. A second signal
during that clean-up skips the rest of it; the gate says so. Signals that arrive while the
gate itself is written wait until it is on disk.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import Any

HANDLED = (signal.SIGINT, signal.SIGTERM)


class CleanupSkipped(Exception):
    """A second signal arrived during the clean-up: stop retiring links."""


class Interrupts:
    def __init__(self) -> None:
        self.on_first: Callable[[], None] | None = None  # e.g. pass the signal on to the xdist workers
        self.signals: list[str] = []
        self.phase = "run"  # run | ending (pytest tears down) | cleanup | final (the gate is written)
        self.cleanup_skipped = False
        self._previous: dict[int, Any] = {}

    @property
    def interrupted(self) -> bool:
        return bool(self.signals)

    @property
    def skip_cleanup(self) -> bool:
        """A second signal came (before or during the clean-up)."""
        return len(self.signals) > 1

    @property
    def first(self) -> str | None:
        return self.signals[0] if self.signals else None

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in HANDLED:
            self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: Any) -> None:
        self.signals.append(signal.Signals(signum).name)
        if self.phase == "run" and len(self.signals) == 1:
            if self.on_first is not None:
                self.on_first()
            raise KeyboardInterrupt(self.signals[0])
        if self.phase == "cleanup" and len(self.signals) > 1:
            # The first signal, even arriving now, lets the clean-up finish; a second one stops it.
            self.cleanup_skipped = True
            raise CleanupSkipped(f"{self.signals[-1]} during the clean-up")
        # Otherwise (pytest is already stopping, or the gate is being written) it is remembered.


def worker_stops_once() -> None:
    """On an xdist worker: SIGINT or SIGTERM stops the test like Ctrl-C (SIGTERM's default would
    kill it mid-request), once; a repeat (the terminal's and the controller's) is ignored. The
    worker holds nothing the controller needs: the journal is on disk."""
    if threading.current_thread() is not threading.main_thread():
        return
    seen: list[int] = []

    def handle(signum: int, frame: Any) -> None:
        if not seen:
            seen.append(signum)
            raise KeyboardInterrupt(signal.Signals(signum).name)

    for sig in HANDLED:
        signal.signal(sig, handle)


def pass_on(pids: list[int]) -> None:
    """Send SIGINT to each process still there (the workers, when only the controller was signalled)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGINT)
        except (ProcessLookupError, PermissionError):
            pass
