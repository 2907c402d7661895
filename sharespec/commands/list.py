"""``sharespec list [cases|mutants|variants|properties]``: what sharespec has built in, one name
and one line each.

- cases: the hand-written cases of the default suite (sharespec/cases/; ``sharespec show NAME``
  prints one), with their catalogue rules;
- mutants: the deliberately broken implementations (``--impl mutant:NAME``), with the rules
  each breaks;
- variants: the named variants of the Linux rules (``sharespec distinguish linux+NAME ...``);
- properties: what ``sharespec prove --property NAME`` proves.

Without a kind, all four, each under a heading.
"""
from __future__ import annotations

HELP = "list the built-in cases, mutants, variants of the rules, or provable properties"
KINDS = ("cases", "mutants", "variants", "properties")


def add_arguments(parser) -> None:
    parser.add_argument("kind", nargs="?", choices=KINDS, metavar="KIND",
                        help="cases, mutants, variants or properties (default: all four)")


def cases() -> list:
    from sharespec.model.case_text import case_from_text
    from sharespec.suite import builtin_case_files
    rows = []
    for f in builtin_case_files():
        case = case_from_text(f.read_text(encoding="utf-8"), f"sharespec/cases/{f.name}")
        rows.append((case.name, f"{' '.join(case.rules)}: {case.description}"))
    return rows


def mutants() -> list:
    from sharespec.mutants import MUTANTS
    return [(name, f"{' '.join(m.rules)}: {m.description}") for name, m in sorted(MUTANTS.items())]


def variants() -> list:
    from sharespec.model.variants import variants as named_variants
    return [(f"linux+{v.name}", f"{v.rule}: {v.description}") for v in named_variants()]


def properties() -> list:
    from sharespec.commands.prove import property_name
    from sharespec.model.symbolic.induction import PROPERTIES
    return [(property_name(p.name), p.doc) for p in PROPERTIES]


def first_line(text: str) -> str:
    return " ".join(text.split())


def main(args) -> int:
    kinds = [args.kind] if args.kind else list(KINDS)
    for n, kind in enumerate(kinds):
        rows = globals()[kind]()
        if len(kinds) > 1:
            print(("\n" if n else "") + f"{kind} ({len(rows)}):")
        width = max((len(name) for name, _ in rows), default=0)
        for name, about in rows:
            print(f"{name:<{width}}  {first_line(about)}")
    return 0
