"""``sharespec generate``: write generated cases to a folder."""
from __future__ import annotations

from sharespec.commands.common import UsageError, check_profile

HELP = "write generated cases to a folder"


def add_arguments(gen) -> None:
    gen.add_argument("--strategy", default="random", choices=["random"], help="how to generate")
    gen.add_argument("--count", type=int, default=100)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--profile", default="linux")
    gen.add_argument("--out", required=True, metavar="DIR")


def main(args) -> int:
    import os
    import tempfile
    from pathlib import Path

    from sharespec.model.case_text import case_to_text
    from sharespec.suite import generated_cases

    profile = check_profile(args.profile)
    if args.count < 0:
        raise UsageError("--count must be >= 0")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for case in generated_cases(args.seed, args.count, profile):
        fd, tmp = tempfile.mkstemp(dir=out, suffix=".partial")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(case_to_text(case))
        os.replace(tmp, out / f"{case.name}.case")
    print(f"wrote {args.count} cases to {out}")
    return 0
