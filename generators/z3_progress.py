"""Progress of a z3 coverage run (z3_coverage.py) on a stream, usually stderr.

A run has phases: encoding the steps, the shortest programs of 1, 2, ... steps (the search;
the goals it leaves open are tried by induction on the way), then the expected results of
every program from the explicit oracle. On a terminal one bar is redrawn (a ticker thread
keeps its clock going while z3 works: z3 lets go of the interpreter during a check);
otherwise each phase is one plain line (and one every ``QUIET_FOR`` seconds of a long phase,
so that a log shows the run is alive and where the time went).

    progress = CoverageProgress(sys.stderr, "z3 coverage (linux, bound 4)")
    cases = list(z3_corpus(4, progress=progress))
"""
from __future__ import annotations

import os
import threading
import time
from typing import Optional, TextIO

from sharespec.interrupts import raise_if_swallowed

BAR = 24
QUIET_FOR = 10.0     # seconds without a plain line before a long phase says it goes on


class CoverageProgress:
    def __init__(self, stream: TextIO, label: str = "z3 coverage", tty: Optional[bool] = None):
        self.stream, self.label = stream, label
        # said when a long phase goes on with no solver answer since the last line
        self.stalled_hint = "one long z3 question"
        self._calls_at_line = -1
        if tty is None:
            tty = stream.isatty() and os.environ.get("TERM") != "dumb"
        self.tty = tty
        self.bound = 1
        self.step = 0
        self.text = "starting"
        self.reached = self.calls = 0
        self.done = self.of = 0
        self.started = self._last_line = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: Optional[threading.Thread] = None

    # -- what the generator reports ---------------------------------------------------------

    def start(self, bound: int) -> None:
        self.bound, self.started = max(1, bound), time.monotonic()
        if self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()

    def phase(self, text: str, step: Optional[int] = None, of: Optional[int] = None) -> None:
        raise_if_swallowed()     # a Ctrl-C lost in z3's finalizers stops the search here
        with self._lock:
            self.text = text
            self.stalled_hint = "one long z3 question"
            if step is not None:
                self.step = step
            if of is not None:
                self.of, self.done, self.step = of, 0, self.bound + 1
            if not self.tty:
                self._line(f"{self.label}: {text}{self._counts()}")
            else:
                self._draw()

    def answered(self, sat: bool) -> None:
        raise_if_swallowed()
        with self._lock:
            self.calls += 1
            self.reached += sat

    def advance(self, done: int) -> None:
        raise_if_swallowed()
        with self._lock:
            self.done = done

    def finish(self, text: str) -> None:
        self.close()
        with self._lock:
            self._line(f"{self.label}: {text} in {time.monotonic() - self.started:.1f} s")

    def close(self) -> None:
        """Stop the bar (an interrupted run ends here too); idempotent."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None
            if self.tty:
                with self._lock:
                    self.stream.write("\r" + " " * 79 + "\r")
                    self.stream.flush()

    # -- drawing ----------------------------------------------------------------------------

    def _counts(self) -> str:
        seconds = time.monotonic() - self.started
        if self.of:
            return f" ({self.done}/{self.of}, {seconds:.1f} s)"
        return f" ({self.calls} solver calls, {self.reached} answered sat, {seconds:.1f} s)"

    def fraction(self) -> float:
        """Rough: the search steps take 80% of the bar, the explicit oracle the rest."""
        if self.of:
            return 0.8 + 0.2 * self.done / self.of
        return 0.8 * max(0, self.step - 1) / self.bound

    def _draw(self) -> None:
        filled = int(BAR * self.fraction())
        line = f"{self.label} [{'#' * filled}{'.' * (BAR - filled)}] {self.text}{self._counts()}"
        self.stream.write("\r" + line[:79].ljust(79))
        self.stream.flush()

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()
        self._last_line = time.monotonic()
        self._calls_at_line = self.calls

    def _tick(self) -> None:
        while not self._stop.wait(0.25):
            with self._lock:
                if self.tty:
                    self._draw()
                elif time.monotonic() - self._last_line >= QUIET_FOR:
                    stalled = f" ({self.stalled_hint})" if self.calls == self._calls_at_line else ""
                    self._line(f"{self.label}: {self.text}, going on{stalled}{self._counts()}")
