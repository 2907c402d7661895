"""``sharespec prove``: prove the named properties over the z3 encoding, for programs of every
length in the scope (induction), with witnesses and a bounded cross-check.

Properties are named on the command line and in what it prints without spaces (``zero-fill``,
``copy-on-write-child-writes``: ``property_name``); the model's own spelling (``"zero fill"``)
is accepted too.
"""
from __future__ import annotations

import re

from sharespec.commands.common import UsageError, check_profile

HELP = "prove the sharing properties for programs of every length (z3, by induction)"


def add_arguments(parser) -> None:
    parser.add_argument("--scope", default="", metavar="NAME=N,...",
                        help="processes, threads, mappings, pages, segments, objects (default "
                             "processes=3,threads=3,mappings=2,pages=2,segments=2,objects=2)")
    parser.add_argument("--profile", default="linux", help="linux (default) or posix")
    parser.add_argument("--bound", type=int, default=4, metavar="K",
                        help="steps of the bounded cross-check and of the witnesses (default 4; "
                             "witnesses take at least 6)")
    parser.add_argument("--property", action="append", default=[], metavar="NAME",
                        help="prove only this property (repeatable; names: sharespec list "
                             "properties)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per solver query")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every obligation")


def property_name(name: str) -> str:
    """The name of a property as the command line writes it: lower case, words joined by
    hyphens ("copy-on-write (child writes)" -> "copy-on-write-child-writes")."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def chosen_properties(names: list, properties) -> list:
    """The properties named (either spelling), in the model's order; UsageError for a name
    that is not one."""
    if not names:
        return list(properties)
    known = {property_name(p.name): p for p in properties}
    wanted = [property_name(n) for n in names]
    unknown = [n for n, w in zip(names, wanted) if w not in known]
    if unknown:
        raise UsageError(f"unknown property {unknown[0]!r} (known: {', '.join(sorted(known))})")
    return [p for p in properties if property_name(p.name) in wanted]


def main(args) -> int:
    from sharespec.model.symbolic.core import SymbolicScope, parse_symbolic_scope
    from sharespec.model.symbolic.induction import (PROPERTIES, bounded_check, prove_lemmas,
                                                    prove_property)

    import z3
    # z3 would catch Ctrl-C during a check and answer "unknown" (a property silently
    # unproved); off, Python's handler stops the command when the check returns
    z3.set_param("ctrl_c", False)
    profile = check_profile(args.profile)
    try:
        scope = parse_symbolic_scope(args.scope, SymbolicScope())
    except ValueError as e:
        raise UsageError(str(e)) from None
    if args.bound < 1:
        raise UsageError("--bound must be at least 1")
    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    chosen = chosen_properties(args.property, PROPERTIES)
    timeout_ms = int(args.timeout * 1000)
    print(f"scope: processes={scope.processes} threads={scope.threads} mappings={scope.mappings} "
          f"pages={scope.pages} segments={scope.segments} objects={scope.objects}; profile "
          f"{profile}; programs of every "
          f"length (induction), cross-checked to {args.bound} steps")

    lemmas = prove_lemmas(scope, profile, timeout_ms)
    print(f"{lemmas.status.upper():8} lemmas: {lemmas.what} ({lemmas.seconds:.2f} s)")
    if lemmas.detail:
        print(_indent(lemmas.detail))
    all_proved = lemmas.status == "proved"

    for prop in chosen:
        report = prove_property(prop, scope, profile, max(args.bound, 6), timeout_ms)
        status = report.status if lemmas.status == "proved" else "unproved (the lemmas are not)"
        if report.status == "not applicable":   # about an interface the profile does not have
            print(f"{'N/A':8} {property_name(prop.name)}: {prop.doc} (not under {profile})")
            continue
        print(f"{status.upper():8} {property_name(prop.name)}: {prop.doc} ({report.seconds:.2f} s)")
        for o in report.outcomes:
            if args.verbose or o.status != "proved" or o.what == "witness":
                print(f"    {o.status:8} {o.what} ({o.seconds:.2f} s)")
                if o.detail:
                    print(_indent(o.detail, 8))
        all_proved = all_proved and report.status == "proved"

    bmc = bounded_check(scope, profile, args.bound, timeout_ms)
    print(f"{bmc.status.upper():8} cross-check: {bmc.what} ({bmc.seconds:.2f} s)")
    if bmc.detail:
        print(_indent(bmc.detail))
    all_proved = all_proved and bmc.status == "proved"
    print("all properties proved" if all_proved else "NOT all properties proved")
    return 0 if all_proved else 1


def _indent(text: str, n: int = 4) -> str:
    return "\n".join(" " * n + line for line in text.splitlines())
