"""Mutants of the madvise hints (R48), the invalid advice (C01) and guard regions (R49): an
advice answered "ok" and not made, one made as another, a guard that keeps or loses what it
should not. Each patches impl.syscalls.madvise in the case processes."""
from .patching import constant
from .registry import PAGE, mutant, peek, poke, syscall


def _advices_replaced(impl, table):
    """madvise(a) for each advice name ``a`` in ``table`` does ``table[a]`` instead: None
    answers "ok" and does nothing, a name makes that advice too (after ``a``), a callable
    ``f(madvise, addr, length, advice)`` is called instead."""
    advices = constant(impl.syscalls, "MADVICES")
    by_value = {advices[a]: how for a, how in table.items()}

    def make(madvise):
        def patched(addr, length, advice):
            if advice not in by_value:
                return madvise(addr, length, advice)
            how = by_value[advice]
            if how is None:
                return "ok"
            if callable(how):
                return how(madvise, addr, length, advice)
            result = madvise(addr, length, advice)
            if result == "ok":
                madvise(addr, length, advices[how])
            return result
        return patched
    syscall(impl, "madvise", make)


@mutant("hint-splits-nothing", "R48 R30", "r48-hints-split-attach")
def _hint_splits_nothing(impl):
    """The hints that set a VMA flag (RANDOM, SEQUENTIAL, DONTDUMP, HUGEPAGE, NOHUGEPAGE)
    answer "ok" and set nothing, as if they were pure hints: an attach advised in part is
    not split, and nattch stays 1."""
    _advices_replaced(impl, dict.fromkeys(
        ("random", "sequential", "dontdump", "hugepage", "nohugepage")))


@mutant("hugepage-ignored", "R48", "r48-hints-split-attach")
def _hugepage_ignored(impl):
    """MADV_HUGEPAGE and MADV_NOHUGEPAGE answer "ok" and set no flag (a kernel without
    transparent hugepages must say EINVAL instead)."""
    _advices_replaced(impl, dict.fromkeys(("hugepage", "nohugepage")))


@mutant("normal-keeps-readahead", "R48", "r48-readahead-flags-merge")
def _normal_keeps_readahead(impl):
    """MADV_NORMAL answers "ok" without clearing MADV_RANDOM or MADV_SEQUENTIAL: the pieces
    of a mapping advised in part never merge again."""
    _advices_replaced(impl, {"normal": None})


@mutant("dodump-ignored", "R48", "r48-readahead-flags-merge")
def _dodump_ignored(impl):
    """MADV_DODUMP answers "ok" without clearing MADV_DONTDUMP."""
    _advices_replaced(impl, {"dodump": None})


@mutant("unmergeable-ignored", "R48", "r48-mergeable-splits-private")
def _unmergeable_ignored(impl):
    """MADV_UNMERGEABLE answers "ok" without clearing MADV_MERGEABLE."""
    _advices_replaced(impl, {"unmergeable": None})


@mutant("cold-sets-a-flag", "R48 R30", "r48-hints-no-split-attach")
def _cold_sets_a_flag(impl):
    """MADV_COLD, MADV_PAGEOUT and MADV_WILLNEED also mark the range (as MADV_DONTDUMP
    would): an attach advised in part is split where the kernel leaves it whole."""
    _advices_replaced(impl, dict.fromkeys(("cold", "pageout", "willneed"), "dontdump"))


@mutant("pageout-drops-private", "R48", "r48-hints-keep-contents")
def _pageout_drops_private(impl):
    """MADV_PAGEOUT throws the pages away (as MADV_DONTNEED) instead of paging them out:
    private anonymous memory reads 0 afterwards."""
    dontneed = constant(impl.syscalls, "MADVICES")["dontneed"]
    _advices_replaced(impl, {"pageout": lambda madvise, addr, length, advice:
                             madvise(addr, length, dontneed)})


@mutant("invalid-advice-accepted", "C01", "c01-madvise-invalid-advice")
def _invalid_advice_accepted(impl):
    """An advice value the kernel does not know answers "ok" (and does nothing)."""
    _advices_replaced(impl, {"invalid": None})


@mutant("guard-install-ignored", "R49", "r49-guard-private-anon")
def _guard_install_ignored(impl):
    """MADV_GUARD_INSTALL answers "ok" and installs nothing: the range stays accessible."""
    _advices_replaced(impl, {"guard_install": None})


@mutant("guard-remove-ignored", "R49", "r49-guard-private-anon")
def _guard_remove_ignored(impl):
    """MADV_GUARD_REMOVE answers "ok" and leaves the markers: the range still faults."""
    _advices_replaced(impl, {"guard_remove": None})


@mutant("guard-remove-keeps-private", "R49", "r49-guard-private-anon")
def _guard_remove_keeps_private(impl):
    """Guard regions keep the pages under the markers: after MADV_GUARD_REMOVE private
    anonymous memory reads what it held before MADV_GUARD_INSTALL, not 0."""
    kept = {}

    def install(madvise, addr, length, advice):
        pages = -(-length // PAGE) * PAGE
        try:
            kept[addr] = peek(addr, pages)
        except OSError:
            pass
        return madvise(addr, length, advice)

    def remove(madvise, addr, length, advice):
        result = madvise(addr, length, advice)
        data = kept.pop(addr, None)
        if result == "ok" and data is not None:
            try:
                poke(addr, data)
            except OSError:
                pass
        return result
    _advices_replaced(impl, {"guard_install": install, "guard_remove": remove})


@mutant("guard-zaps-shared", "R49", "r49-guard-shared-keeps")
def _guard_zaps_shared(impl):
    """MADV_GUARD_INSTALL throws away the shared pages too (as MADV_REMOVE punches a hole):
    shared memory reads 0 after MADV_GUARD_REMOVE."""
    remove = constant(impl.syscalls, "MADVICES")["remove"]

    def install(madvise, addr, length, advice):
        madvise(addr, length, remove)
        return madvise(addr, length, advice)
    _advices_replaced(impl, {"guard_install": install})


@mutant("posix-madvise-ignored", "R48 R30", "r48-posix-madvise-hints")
def _posix_madvise_ignored(impl):
    """posix_madvise answers 0 to every advice without calling madvise (glibc and musl pass
    all but POSIX_MADV_DONTNEED on): POSIX_MADV_RANDOM on part of an attach does not split
    it."""
    def make(posix_madvise):
        def patched(addr, length, advice):
            return "ok"
        return patched
    syscall(impl, "posix_madvise", make)
