"""Mutants of the program break (issue 16, item 6; model/brk.py, LTP shmt09): a refused brk
reported as done, and a raise that stops a page short. Both are bugs of a C library's sbrk or
an emulator's brk: sbrk has to compare the break brk(2) returns with the one it asked for
(the system call answers the old break when it refuses), and a break kept in pages must be
rounded up. Each wraps syscalls.set_break (glibc's brk) in the case processes; neither ever
lowers the break below what the case asked for, so neither can unmap the C library's heap."""
from .patching import replace
from .registry import PAGE, mutant

SET_BREAK_PARAMS = ("addr",)


def _set_break_wrapped(impl, make):
    replace(impl.syscalls, "set_break", make, SET_BREAK_PARAMS)


@mutant("brk-refusal-ignored", "R27", "r27-brk-keeps-a-page-below-a-mapping")
def _brk_refusal_ignored(impl):
    """brk that the kernel refused (ENOMEM: the new break would come within a page of a mapping)
    reports success, as an sbrk that does not check the break brk(2) returns would."""
    def make(set_break):
        def patched(addr):
            set_break(addr)
            return "ok"
        return patched
    _set_break_wrapped(impl, make)


@mutant("brk-raise-page-short", "R27", "r27-brk-fork-and-exec")
def _brk_raise_page_short(impl):
    """A raise of the break stops one page short of the place asked for (a break rounded down to
    a page instead of up), so an attach at the last page below the asked break succeeds."""
    break_now = impl.syscalls.break_now

    def make(set_break):
        def patched(addr):
            if addr - PAGE > break_now():
                return set_break(addr - PAGE)
            return set_break(addr)
        return patched
    _set_break_wrapped(impl, make)
