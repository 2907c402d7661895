"""sharespec.generators: programs and cases to test the specification and implementations with.

- ``programs``, ``cases``: Hypothesis strategies (generators/strategies.py);
- ``ImplementationMachine``, ``machine_for``: a Hypothesis state machine that runs the model and
  an implementation side by side (generators/stateful.py);
- ``random_program``, ``random_cases``: a seeded random walk (generators/random_programs.py).
"""
import importlib

# Where each name lives. They are loaded on first use (PEP 562), not here: every command
# imports this package for one of its modules (canonical, random_programs...), and the
# Hypothesis modules cost a start-up that `sharespec run` should not pay.
_HOMES = {"programs": "strategies", "cases": "strategies", "interpret": "strategies",
          "StepChoice": "strategies", "ImplementationMachine": "stateful",
          "machine_for": "stateful", "random_program": "random_programs",
          "random_cases": "random_programs"}

__all__ = list(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)


def __dir__() -> list:
    return sorted(list(globals()) + __all__)
