"""Which mutants the observation tail alone kills: for each mutant, its witness
(tests/host/mutant_cases/NAME.case) without the last step, the step that observes the bug,
followed by the tail (generators/observation_tail.py), run against the mutant. A kill means a
generator only has to reach the bug's effect; the tail looks.

    python benchmarks/tail_kills.py                      # every mutant
    python benchmarks/tail_kills.py ipc-set-keeps-owner lpid-kept-at-shmdt

Prints one line per mutant (its verdict and the case's length), then the count killed.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sharespec.generators.observation_tail import observed  # noqa: E402
from sharespec.kit import CommandSession  # noqa: E402
from sharespec.model.case import Case  # noqa: E402
from sharespec.model.case_text import case_from_text  # noqa: E402
from sharespec.model.oracle import allowed_per_step  # noqa: E402
from sharespec.mutants.catalogue import MUTANTS  # noqa: E402
from sharespec.runner import resolve_impl  # noqa: E402

WITNESSES = ROOT / "tests" / "host" / "mutant_cases"


def tail_verdict(name: str, timeout: float = 5.0) -> tuple:
    """(verdict, steps) of the witness's prefix and its tail against mutant ``name``."""
    witness = case_from_text((WITNESSES / f"{name}.case").read_text(), name)
    program = observed(witness.steps[:-1], witness.profile)
    case = Case(name=f"tail-{name}", profile=witness.profile, rules=(), origin="benchmark",
                description="a witness's prefix and its observation tail", steps=program,
                allowed=tuple(allowed_per_step(program, witness.profile)))
    session = CommandSession(resolve_impl(f"mutant:{name}", timeout), witness.profile, timeout)
    try:
        return session.run(case).verdict, len(program)
    finally:
        session.close()


def main(argv=None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or sorted(MUTANTS)
    killed = 0
    for name in names:
        verdict, steps = tail_verdict(name)
        killed += verdict == "FAIL"
        print(f"{name:40} {verdict:13} {steps:3} steps", flush=True)
    print(f"the tail kills {killed} of {len(names)} mutants from their witnesses' prefixes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
