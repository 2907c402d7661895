"""One agreement check of a program given as case text: the explicit model and the z3
encoding allow the same results, and the last step's are ``last`` (the set of its texts)."""
from __future__ import annotations

from sharespec.model.case_text import case_from_text
from sharespec.model.symbolic.agreement import check_program


def assert_agrees(unrolling, text: str, last: set) -> None:
    steps = case_from_text("case p\nprofile linux\norigin test\n\n" + text.strip() + "\n",
                           "<test>").steps
    agreement = check_program(unrolling, steps)
    assert agreement.agrees, agreement.explain()
    assert {str(seq[-1]) for seq in agreement.explicit} == last
