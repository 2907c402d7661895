"""Mutant implementations: the bundled implementation with one deliberate bug each.

They measure how strong the cases are (benchmarks/mutation.py): a good suite FAILs every
mutant, with a short counterexample. They live apart from impl/ and never replace it: ``sharespec
run`` uses one only when it is named, ``--impl mutant:NAME`` (resolved by
``sharespec.runner.resolve_impl``, which calls ``mutant_command`` here).

A mutant runs as ``python -S -m mutants NAME [--timeout S]`` with the folders holding
``mutants`` and ``impl`` on PYTHONPATH: it imports the implementation, patches one function
(catalogue.py) and then runs the implementation's own command line, so it speaks the protocol
exactly as impl does. Standard library only, relative imports only (it runs as top-level
``mutants`` beside top-level ``impl``).
"""
import os
import shlex
import sys

from .catalogue import MUTANTS, Mutant
from .patching import PatchPointGone

__all__ = ["MUTANTS", "Mutant", "PatchPointGone", "mutant_names", "mutant_argv", "mutant_command"]

PREFIX = "mutant:"


def mutant_names():
    return sorted(MUTANTS)


def _impl_dir():
    """The folder of the bundled implementation's package (impl/ in a checkout, sharespec/impl
    in a wheel), found the way the implementation itself is found."""
    here = os.path.dirname(os.path.abspath(__file__))
    beside = os.path.join(os.path.dirname(here), "impl")        # a wheel: sharespec/impl
    if os.path.isfile(os.path.join(beside, "__main__.py")):
        return beside
    checkout = os.path.join(os.path.dirname(os.path.dirname(here)), "impl")   # a checkout
    if os.path.isfile(os.path.join(checkout, "__main__.py")):
        return checkout
    raise PatchPointGone("cannot find the bundled implementation beside %s" % here)


def mutant_argv(name, timeout=10.0):
    """(argv, env) that run mutant ``name``; KeyError (naming the known ones) if unknown."""
    if name not in MUTANTS:
        raise KeyError("unknown mutant %r (known: %s)" % (name, ", ".join(mutant_names())))
    here = os.path.dirname(os.path.abspath(__file__))
    impl_dir = _impl_dir()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(here), os.path.dirname(impl_dir)])
    env["SHARESPEC_MUTANT_IMPL"] = os.path.basename(impl_dir)
    env.pop("PYTHONFAULTHANDLER", None)
    argv = [sys.executable, "-S", "-m", os.path.basename(here), name, "--timeout", str(timeout)]
    return argv, env


def mutant_command(name, timeout=10.0):
    """Mutant ``name`` as one command line (for ``--impl``): ``env PYTHONPATH=... python -S -m
    mutants NAME --timeout T``."""
    argv, env = mutant_argv(name, timeout)
    settings = ["%s=%s" % (k, env[k]) for k in ("PYTHONPATH", "SHARESPEC_MUTANT_IMPL")]
    return " ".join(shlex.quote(part) for part in ["env"] + settings + argv)
