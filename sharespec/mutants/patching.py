"""How a mutant plants its one bug: replace one function of the bundled implementation.

The implementation (impl/) is being rewritten while mutants exist, so a patch point is checked
before it is used: the module must have the function, and the function must still take the
parameters the mutant relies on, by name and in order. When either has changed the mutant
refuses to start (PatchPointGone, exit status 3 from ``python -m mutants``) instead of
silently running the unmutated implementation, which would show up as a "surviving" mutant.

Standard library only, like impl/: a mutant runs in the same lean process as impl.
"""
import inspect
import os


class PatchPointGone(Exception):
    """The implementation no longer has the function (or signature) a mutant patches."""


def original(module, name, params=()):
    """The function ``module.name``, checked to take ``params`` first, in this order."""
    where = "%s.%s" % (module.__name__, name)
    if not hasattr(module, name):
        raise PatchPointGone("patch point %s is gone (the implementation was refactored; "
                             "update sharespec/mutants/catalogue.py)" % where)
    function = getattr(module, name)
    if not callable(function):
        raise PatchPointGone("patch point %s is not a function any more" % where)
    if params:
        try:
            names = list(inspect.signature(function).parameters)
        except (TypeError, ValueError):
            names = []
        if names[:len(params)] != list(params):
            raise PatchPointGone("patch point %s takes (%s), the mutant expects (%s...)"
                                 % (where, ", ".join(names), ", ".join(params)))
    return function


def replace(module, name, make, params=()):
    """Set ``module.name`` to ``make(original_function)``; returns the original.

    The bug applies only in the case's processes, never in the process that installed it (the
    implementation's executor): the executor calls the same functions to clean up after a case
    (removing segments, for one), and a mutant must leave nothing behind either."""
    before = original(module, name, params)
    buggy = make(before)
    executor = os.getpid()

    def after(*args, **kwargs):
        if os.getpid() == executor:
            return before(*args, **kwargs)
        return buggy(*args, **kwargs)
    after.__name__ = getattr(before, "__name__", name)
    after.__wrapped__ = before
    setattr(module, name, after)
    return before


def widen_in_executor(module, name, make, params=()):
    """Set ``module.name`` to ``make(original_function)`` in the implementation's executor
    only (case processes keep the original); returns the original.

    Not a bug: this is how a mutant whose bug adds case processes the executor is never told
    about (threads-as-processes) extends the executor's clean-up to them, so that what they
    create is removed after the case like everything else."""
    before = original(module, name, params)
    widened = make(before)
    executor = os.getpid()

    def after(*args, **kwargs):
        if os.getpid() == executor:
            return widened(*args, **kwargs)
        return before(*args, **kwargs)
    after.__name__ = getattr(before, "__name__", name)
    after.__wrapped__ = before
    setattr(module, name, after)
    return before


def constant(module, name):
    """A module-level constant the mutant needs (for example a flag value), checked to exist."""
    if not hasattr(module, name):
        raise PatchPointGone("constant %s.%s is gone (update sharespec/mutants/catalogue.py)"
                             % (module.__name__, name))
    return getattr(module, name)
