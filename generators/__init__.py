"""sharespec.generators: programs and cases to test the specification and implementations with.

- ``programs``, ``cases``: Hypothesis strategies (generators/strategies.py);
- ``ImplementationMachine``, ``machine_for``: a Hypothesis state machine that runs the model and
  an implementation side by side (generators/stateful.py);
- ``random_program``, ``random_cases``: a seeded random walk (generators/random_programs.py).
"""
from .random_programs import random_cases, random_program
from .stateful import ImplementationMachine, machine_for
from .strategies import StepChoice, cases, interpret, programs

__all__ = ["programs", "cases", "interpret", "StepChoice", "ImplementationMachine", "machine_for",
           "random_program", "random_cases"]
