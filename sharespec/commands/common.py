"""Shared by the commands: usage errors and profile checks."""
from __future__ import annotations


class UsageError(Exception):
    """Bad usage: the command line says something impossible. Exit status 2."""


def check_profile(name: str) -> str:
    from sharespec.model.profiles import PROFILES
    if name not in PROFILES:
        raise UsageError(f"unknown profile {name!r} (known: {', '.join(PROFILES)})")
    return name


# -j above this many workers per CPU only thrashes (each worker runs an implementation too);
# 99999999999999999999 would fork until the machine stops.
JOBS_PER_CPU = 4
LONGEST_TIMEOUT = 24 * 3600.0


def check_jobs(jobs: int) -> int:
    import os
    most = JOBS_PER_CPU * max(1, os.cpu_count() or 1)
    if not 1 <= jobs <= most:
        raise UsageError(f"--jobs must be in 1..{most} ({JOBS_PER_CPU} per CPU), not {jobs}")
    return jobs


def check_timeout(seconds: float) -> float:
    import math
    if not (math.isfinite(seconds) and 0 < seconds <= LONGEST_TIMEOUT):
        raise UsageError(f"--timeout must be a number of seconds in (0, {LONGEST_TIMEOUT:.0f}], "
                         f"not {seconds}")
    return seconds


def check_impl(command):
    """``--impl``, checked before anything runs: it must split into words (balanced quotes),
    name at least a program, and that program must exist and be executable. UsageError, one
    line, otherwise (not one ERROR per case)."""
    import os
    import shlex
    import shutil
    if command is None:
        return None
    try:
        argv = shlex.split(command)
    except ValueError as e:
        raise UsageError(f"--impl {command!r}: not a command line ({e})") from None
    if not argv:
        raise UsageError("--impl: an empty command")
    program = argv[0]
    if "/" in program:
        if not os.path.isfile(program):
            raise UsageError(f"--impl: {program}: no such program")
        if not os.access(program, os.X_OK):
            raise UsageError(f"--impl: {program}: not executable")
    elif shutil.which(program) is None:
        raise UsageError(f"--impl: {program}: no such program on PATH")
    return command


def check_output(path, option: str = "--json") -> None:
    """An output file is checked before anything runs, so that a run's results are never
    stranded at its end by a path that could not be written."""
    if path is None or path == "-":
        return
    from sharespec.report import output_problem
    problem = output_problem(path)
    if problem:
        raise UsageError(f"{option} {path}: {problem}")


def check_descriptors(jobs: int) -> None:
    """Enough file descriptors for a run (``ulimit -n``): each worker holds pipes to its
    implementation and the implementation its own. The soft limit is raised toward the hard
    one when it is too low; a hard limit too low is a usage error (exit 2) before anything
    runs, not a traceback or a run of ERRORs."""
    import resource
    needed = 48 + 24 * jobs
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    if hard == resource.RLIM_INFINITY or hard >= needed:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
            return
        except (ValueError, OSError):
            pass
    raise UsageError(f"too few file descriptors: the limit is {soft} (ulimit -n), and a run "
                     f"with --jobs {jobs} needs {needed}")
