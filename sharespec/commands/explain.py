"""``sharespec explain``: a picture of the sharing graph of a case at one step. At a ``frames``
step the picture also sets the observed partition of the places against the predicted one
(sharespec/pictures.py, frames_cluster), and the summary names the places that disagree."""
from __future__ import annotations

from sharespec.commands.common import UsageError

HELP = "draw the sharing graph of a case at a step (DOT; SVG/PNG with Graphviz)"


def add_arguments(explain) -> None:
    explain.add_argument("case", metavar="CASE", help="a case file, or the name of a built-in case")
    explain.add_argument("--step", type=int, metavar="N",
                         help="the step to draw, from 1 (default: the failing step when there "
                              "is an observation that fails, else the last step)")
    explain.add_argument("--out", required=True, metavar="FILE",
                         help="FILE.dot (always possible), FILE.svg or FILE.png (need Graphviz)")
    explain.add_argument("--observed", metavar="FILE",
                         help="an observation (a JSON line of the protocol) whose results are "
                              "compared; default: NAME.observation.json beside a CASE file")
    explain.add_argument("--run", action="store_true",
                         help="run the case against the implementation to get the observation")
    explain.add_argument("--impl", metavar="COMMAND",
                         help="with --run: the implementation (default: the bundled one; "
                              "mutant:NAME for a mutant)")


def _observed_results(args, case, path) -> list:
    from pathlib import Path

    if args.run:
        from sharespec.runner import resolve_impl, run_cases
        try:
            impl = resolve_impl(args.impl)
        except ValueError as e:
            raise UsageError(f"--impl: {e}") from None
        (result,) = list(run_cases([case], profile=case.profile, impl=impl))
        if not result.results:
            raise UsageError(f"{case.name}: {result.verdict}: {result.detail}")
        return list(result.results)
    source = Path(args.observed) if args.observed else None
    if source is None and path is not None:
        beside = path.with_name(path.stem + ".observation.json")
        source = beside if beside.exists() else None
    if source is None:
        return []
    from sharespec.casefiles import json_value, read_text
    # bounded, regular files only; CaseError (exit 2) naming the file and the place
    obs = json_value(read_text(source), str(source), what="an observation")
    results = obs.get("results") if isinstance(obs, dict) else None
    if not isinstance(results, list) or not all(isinstance(r, str) for r in results):
        raise UsageError(f"{source}: an observation needs \"results\", a list of strings")
    if len(results) > len(case.steps):
        raise UsageError(f"{source}: {len(results)} results for {len(case.steps)} steps")
    return results


def main(args) -> int:
    import sys
    from pathlib import Path

    from sharespec.casefiles import read_case_file
    from sharespec.pictures import (FORMATS, GraphvizMissing, failing_step, step_picture,
                                    write_picture)
    from sharespec.suite import builtin_cases

    out = Path(args.out)
    if out.suffix.lstrip(".").lower() not in FORMATS:
        raise UsageError(f"--out {args.out}: the file must end in .dot, .svg or .png")
    from sharespec.commands.common import check_output
    check_output(args.out, "--out")     # a folder, a FIFO or a device is never renamed onto
    from sharespec.casefiles import path_kind
    path = Path(args.case)
    if path_kind(path) != "missing":
        cases = read_case_file(path)
        if len(cases) != 1:
            raise UsageError(f"{args.case}: holds {len(cases)} cases; explain draws one")
        case = cases[0]
    else:
        path = None
        found = [c for c in builtin_cases() if c.name == args.case]
        if not found:
            raise UsageError(f"{args.case}: no such file, and no built-in case of that name")
        case = found[0]
    observed = _observed_results(args, case, path)
    try:
        failing = failing_step(case, observed) if observed else None
    except ValueError as e:
        raise UsageError(f"observation: {e}") from None
    if args.step is not None:
        if not 1 <= args.step <= len(case.steps):
            raise UsageError(f"--step {args.step}: {case.name} has steps 1 to {len(case.steps)}")
        index = args.step - 1
    else:
        index = failing if failing is not None else len(case.steps) - 1
    if failing is not None and index > failing:
        raise UsageError(f"--step {index + 1}: the observation already left the specification "
                         f"at step {failing + 1}; draw a step up to {failing + 1}")
    try:
        picture = step_picture(case, index, observed)
        write_picture(picture.dot, out)
    except GraphvizMissing as e:
        print(f"sharespec explain: {e}", file=sys.stderr)
        return 2
    except ValueError as e:
        raise UsageError(str(e)) from None
    print(f"{out}: step {index + 1} of {case.name}, {picture.marked} page(s) marked"
          + (f", failing step {failing + 1}" if failing is not None else "")
          + (f", frame places disagreeing: {', '.join(picture.frame_places_wrong)}"
             if picture.frame_places_wrong else ""))
    return 0
