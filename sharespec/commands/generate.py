"""``sharespec generate``: write a corpus of generated cases to a folder.

Strategies:

- ``exhaustive``: every program up to ``--bound`` steps within the scope, one case per
  reachable (state, result) class (generators/exhaustive.py says which program is chosen);
- ``z3``: the cases the z3 side chooses to cover the rules (``generators/z3_coverage.py``),
  within its own symbolic scope (``--scope`` names its bounds; ``objects`` counts descriptors);
- ``random``: ``--count`` random walks from ``--seed`` (the generator of the default suite).

The bound is the program length (the scope's ``steps``). The scope defaults to the model's
SMALL scope for exhaustive and z3 (enumeration grows fast with every bound) and, for random,
to the scope random_cases draws from (walk.CASES_SCOPE: DEFAULT's classes, 16 steps); ``--scope processes=3,pages=2`` changes the named bounds of that base only.

Exhaustive and z3 cases observe the page tables too: ``frames`` steps after forks, after the
first write after a fork and at the end, over the pages the program touched
(generators/frame_observations.py; not under posix); ``--no-frames`` leaves them out.

Cases are deduplicated by fingerprint (the same program after renaming of handles is the same
case; the first one generated is kept) and the corpus is written atomically with a manifest
(sharespec/corpus.py). ``sharespec run --corpus DIR`` runs it.
"""
from __future__ import annotations

from sharespec.commands.common import UsageError, check_profile

HELP = "write a corpus of generated cases to a folder"
STRATEGIES = ("random", "exhaustive", "z3")
DEFAULT_BOUND = {"exhaustive": 4, "z3": 4}   # random: walk.CASES_SCOPE's steps (16)
DEFAULT_COUNT = 100   # random only; exhaustive and z3 write every case unless --count is given


def add_arguments(gen) -> None:
    gen.add_argument("--strategy", default="random", choices=STRATEGIES,
                     help="how to generate (default random)")
    gen.add_argument("--bound", type=int, default=None, metavar="K",
                     help="program length in steps (default: 16 random, 4 exhaustive and z3)")
    gen.add_argument("--scope", default=None, metavar="NAME=N,...",
                     help="bounds of the scope, e.g. processes=2,mappings=2,pages=1 "
                          "(names: processes threads pages mappings segments objects steps)")
    gen.add_argument("--count", type=int, default=None,
                     help=f"random: how many programs to draw (default {DEFAULT_COUNT}; duplicates "
                          "are dropped, so the corpus may hold fewer); exhaustive, z3: keep at most "
                          "this many cases (default all)")
    gen.add_argument("--seed", type=int, default=0, help="seed of the random strategy (default 0)")
    gen.add_argument("--profile", default="linux", help="linux (default) or posix")
    gen.add_argument("--no-frames", action="store_true",
                     help="exhaustive, z3: leave out the frames steps that observe the page tables "
                          "of the pages the program touched (generators/frame_observations.py)")
    gen.add_argument("--json", action="store_true",
                     help="also write the cases as JSON lines (DIR/cases.jsonl)")
    gen.add_argument("-q", "--quiet", action="store_true",
                     help="no progress lines on stderr (z3: one per phase, a bar on a terminal)")
    gen.add_argument("--out", required=True, metavar="DIR",
                     help="the corpus folder (created; an existing corpus there is replaced)")


def named_bounds(text) -> dict:
    """The bounds a --scope text names, checked by the model's scope (unnamed ones left out)."""
    from dataclasses import asdict

    from sharespec.model.scope import parse_scope
    if not text:
        return {}
    try:
        parsed = parse_scope(text)
    except ValueError as e:
        raise UsageError(f"--scope {text!r}: {e}") from None
    named = {p.split("=", 1)[0].strip() for p in text.split(",") if "=" in p}
    return {n: v for n, v in asdict(parsed).items() if n in named}


def scope_for(strategy: str, text, bound):
    """The scope asked for: the strategy's base scope with the named bounds changed."""
    from dataclasses import replace

    from sharespec.model.scope import SMALL

    if strategy == "random":
        from sharespec.generators.walk import CASES_SCOPE as base   # random_cases' own scope
    else:
        base = SMALL
    given = named_bounds(text)
    if bound is not None:
        if bound < 1:
            raise UsageError(f"--bound must be at least 1, got {bound}")
        if "steps" in given and given["steps"] != bound:
            raise UsageError(f"--bound {bound} and --scope steps={given['steps']} disagree")
        given["steps"] = bound
    elif "steps" not in given and strategy in DEFAULT_BOUND:
        given["steps"] = DEFAULT_BOUND[strategy]
    try:
        return replace(base, **given)
    except ValueError as e:
        raise UsageError(f"--scope: {e}") from None


def z3_cases(text, bound, profile, frames: bool = True, quiet: bool = True):
    """(scope, cases) of the z3 strategy, whose scope is the symbolic encoding's own
    (model/symbolic/core.py); a UsageError (exit 2) if the z3 side cannot be imported."""
    from dataclasses import asdict, replace

    try:
        # import_module, not "from ... import": it consults sys.modules (a z3 side that failed
        # to import stays unavailable even when the package holds the module as an attribute)
        import importlib
        z3_coverage = importlib.import_module("sharespec.generators.z3_coverage")
        z3_corpus = z3_coverage.z3_corpus
    except (ImportError, AttributeError) as e:
        raise UsageError("the z3 strategy is not available: sharespec.generators.z3_coverage "
                         f"cannot be imported ({e}); use --strategy exhaustive or random") from None
    given = named_bounds(text)
    base = getattr(z3_coverage, "DEFAULT_SCOPE", None)
    if base is None:   # a z3 side without a scope of its own: give it none
        return {"steps": bound}, z3_corpus(bound, profile=profile)
    unknown = sorted(set(given) - set(asdict(base)))
    if unknown:
        raise UsageError(f"--scope: the z3 strategy has no bound {', '.join(unknown)}")
    if "steps" in given and given["steps"] != bound:
        raise UsageError(f"--bound {bound} and --scope steps={given['steps']} disagree")
    try:
        scope = replace(base, **(given | {"steps": bound}))
    except ValueError as e:
        raise UsageError(f"--scope: {e}") from None
    # frames=False only when asked: a z3 side without the option still works by default
    extra = {} if frames else {"frames": False}
    if not quiet:
        import sys

        from sharespec.generators.z3_progress import CoverageProgress
        extra["progress"] = CoverageProgress(sys.stderr, f"z3 coverage ({profile}, {bound} step"
                                             f"{'s' * (bound != 1)})")
    return asdict(scope), z3_corpus(bound, scope=scope, profile=profile, **extra)


def as_case(item, strategy: str, profile: str, number: int):
    """A Case with the model's expectations, from a Case or a bare program (tuple of Steps).
    The z3 side's expectations are checked against the explicit semantics, not trusted."""
    from sharespec.casefiles import with_expectations
    from sharespec.model.case import Case
    from sharespec.generators.canonical import fingerprinted_case

    if not isinstance(item, Case):
        item = fingerprinted_case(strategy, item, profile, strategy, f"{strategy} program {number}")
    elif item.allowed is not None and strategy != "z3":
        return item   # computed by the oracle as it was generated
    # z3 cases are checked again on purpose: the solver side is the other copy of the rules,
    # and an expectation the explicit oracle does not give is refused (exit 2)
    return with_expectations(item, f"{strategy} case {item.name}")


def main(args) -> int:
    from dataclasses import asdict

    from sharespec.corpus import deduplicate, write_corpus

    profile = check_profile(args.profile)
    if args.count is not None and args.count < 0:
        raise UsageError(f"--count must be >= 0, got {args.count}")
    scope = scope_for(args.strategy, None if args.strategy == "z3" else args.scope, args.bound)
    about = {"strategy": args.strategy, "bound": scope.steps, "scope": asdict(scope),
             "profile": profile}
    if args.strategy == "random":
        from sharespec.generators.random_programs import random_cases
        count = DEFAULT_COUNT if args.count is None else args.count
        about["seed"] = args.seed
        produced = random_cases(args.seed, count, scope, profile=profile)
    elif args.strategy == "exhaustive":
        from sharespec.generators.exhaustive import exhaustive_cases, explore
        exploration = explore(scope, profile)
        about["exploration"] = {"states_explored": exploration.states_explored,
                                "distinct_states": exploration.distinct_states,
                                "programs": len(exploration.selected_programs())}
        produced = exhaustive_cases(scope, profile, exploration, frames=not args.no_frames)
    else:
        about["scope"], produced = z3_cases(args.scope, scope.steps, profile,
                                            frames=not args.no_frames, quiet=args.quiet)
    cases = (as_case(item, args.strategy, profile, i) for i, item in enumerate(produced))
    unique = deduplicate(cases)
    if args.count is not None and args.strategy != "random" and len(unique.cases) > args.count:
        about["truncated_from"] = len(unique.cases)
        unique.cases = unique.cases[:args.count]
        unique.fingerprints = unique.fingerprints[:args.count]
    manifest = write_corpus(args.out, unique, about, json_lines=args.json)
    dropped = f", {unique.duplicates} duplicates dropped" if unique.duplicates else ""
    print(f"wrote {manifest['count']} cases to {args.out} ({args.strategy}, bound "
          f"{scope.steps}{dropped})")
    return 0
