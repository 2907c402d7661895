"""A few implementation processes kept running, for the many small runs of shrinking.

``run_cases`` starts its implementations for one stream of cases and stops them at its end; a
shrink sends hundreds of one-case batches, and starting an implementation for each (a Python
interpreter, a mutant's patching) cost more than the case itself (about 0.13 s a run against
0.01-0.03 s). An ImplementationPool starts ``width`` implementations once, on first use, and
runs each batch of cases across them, one thread per case in flight: the cases run in the
implementations' processes, so the threads mostly wait; each result is judged exactly as
``run_cases`` judges it (runner._one_case). ``close()`` stops them (and sweeps what their cases
left, as the runner does); the pool is also a context manager.

The -j N of ``sharespec run`` is the width: the run's own workers are idle while it shrinks.
"""
from __future__ import annotations

import threading
from typing import Optional

from sharespec.runner import CaseResult, ImplementationProcess, _one_case, case_line


class ImplementationPool:
    def __init__(self, impl: Optional[str], profile: str, timeout: float, width: int = 1):
        self.impl, self.profile, self.timeout = impl, profile, timeout
        self.width = max(1, int(width))
        self.processes: list = []
        self.runs = 0

    def _start(self) -> None:
        while len(self.processes) < self.width:
            self.processes.append(ImplementationProcess(self.impl, self.timeout))

    def run(self, cases: list) -> list:
        """The CaseResults of ``cases``, in order; at most ``width`` run at once."""
        self._start()
        results: list = [None] * len(cases)
        numbered = list(enumerate(cases))
        for first in range(0, len(cases), self.width):
            chunk = numbered[first:first + self.width]
            if len(chunk) == 1:
                index, case = chunk[0]
                results[index] = self._one(self.processes[0], case)
                continue
            threads = []
            for process, (index, case) in zip(self.processes, chunk):
                def work(process=process, index=index, case=case):
                    results[index] = self._one(process, case)
                threads.append(threading.Thread(target=work, daemon=True))
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        self.runs += len(cases)
        return results

    def _one(self, process: ImplementationProcess, case) -> CaseResult:
        line = case_line(case)
        try:
            return _one_case(process, case, line, self.profile)
        except Exception as e:     # a bug of ours: that candidate taught nothing
            return CaseResult(case, "ERROR", f"internal error: {e!r}")

    def close(self) -> None:
        processes, self.processes = self.processes, []
        for process in processes:
            process.close()

    def __enter__(self) -> "ImplementationPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
