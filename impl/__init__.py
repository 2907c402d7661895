"""sharespec.impl: the case format performed for real on the host Linux kernel.

Standard library only, relative imports only, and nothing shared with the model: this is the
thing under test. ``run_case(case, timeout)`` runs one case dict and returns its observation;
``python -m sharespec.impl`` does the same for JSON lines on stdin (see __main__).
"""
from .executor import run_case

__all__ = ["run_case"]
