"""``python -S -m mutants NAME [impl options]``: the implementation with mutant NAME's bug.

Exit status 3, with the reason on stderr, when NAME is unknown or its patch point is gone: a
mutant that cannot plant its bug must never run as the correct implementation.
"""
import importlib
import os
import sys


def main(argv):
    from .catalogue import MUTANTS
    from .patching import PatchPointGone

    if not argv or argv[0] not in MUTANTS:
        print("mutants: name a mutant: %s" % ", ".join(sorted(MUTANTS)), file=sys.stderr)
        return 3
    package = os.environ.get("SHARESPEC_MUTANT_IMPL", "impl")
    try:
        impl_main = importlib.import_module(package + ".__main__")
        modules = {name: importlib.import_module("%s.%s" % (package, name))
                   for name in ("syscalls", "worker", "addresses", "hygiene")}
    except ImportError as error:
        print("mutants: cannot import the implementation %r: %s" % (package, error), file=sys.stderr)
        return 3
    impl = type("Impl", (), modules)
    try:
        MUTANTS[argv[0]].install(impl)
        if not hasattr(impl_main, "main"):
            raise PatchPointGone("%s.__main__ has no main(argv)" % package)
    except PatchPointGone as error:
        print("mutants: %s: %s" % (argv[0], error), file=sys.stderr)
        return 3
    return impl_main.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
