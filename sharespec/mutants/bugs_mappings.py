"""Mutants of mmap, munmap, mprotect, madvise, posix_madvise and mremap: one realistic bug
each, per operation and argument class (lengths that are not one page, ranges over several
mappings, flags lost on the way, protections, file and anonymous, shared and private).

Each wraps the real call of impl/syscalls.py (see registry.py for the helpers)."""
import os

from .patching import constant
from .registry import (JUNK, PAGE, anonymous_copier, mutant, peek, poke, prot_of, syscall, vma_at,
                       vmas)


def _round_down(length):
    return length - length % PAGE


def _first_vma_only(addr, length):
    """The length of [addr, addr+length) clipped to the end of the mapping holding addr."""
    vma = vma_at(addr)
    return length if vma is None else max(0, min(length, vma.end - addr))


# --- rounding: the kernel rounds a length UP to whole pages -----------------------------

@mutant("munmap-rounds-down", "R05")
def _munmap_rounds_down(impl):
    """munmap rounds an unaligned length down instead of up: munmap(A, 4097) leaves the
    second page mapped."""
    syscall(impl, "munmap", lambda munmap: lambda addr, length:
            munmap(addr, _round_down(length) or length))


@mutant("mprotect-rounds-down", "R33")
def _mprotect_rounds_down(impl):
    """mprotect rounds an unaligned length down instead of up: the last, partial page keeps
    its protection."""
    syscall(impl, "mprotect", lambda mprotect: lambda addr, length, prot:
            mprotect(addr, _round_down(length) or length, prot))


@mutant("madvise-rounds-down", "R35")
def _madvise_rounds_down(impl):
    """madvise rounds an unaligned length down instead of up: MADV_DONTNEED of 4097 bytes
    keeps the second page."""
    syscall(impl, "madvise", lambda madvise: lambda addr, length, advice:
            madvise(addr, _round_down(length) or length, advice))


@mutant("mmap-length-rounds-down", "C01")
def _mmap_rounds_down(impl):
    """mmap rounds an unaligned length down: mmap of 4097 bytes maps one page, not two."""
    syscall(impl, "mmap", lambda mmap: lambda addr, length, prot, flags, fd, offset:
            mmap(addr, _round_down(length) or length, prot, flags, fd, offset))


@mutant("mmap-offset-rounded-down", "C01")
def _offset_rounded(impl):
    """mmap accepts an unaligned file offset and rounds it down instead of failing (EINVAL)."""
    syscall(impl, "mmap", lambda mmap: lambda addr, length, prot, flags, fd, offset:
            mmap(addr, length, prot, flags, fd, offset - offset % PAGE))


# --- ranges over several mappings -------------------------------------------------------

@mutant("mprotect-first-vma-only", "R33")
def _mprotect_first_vma(impl):
    """mprotect over a range spanning several mappings changes only the first."""
    syscall(impl, "mprotect", lambda mprotect: lambda addr, length, prot:
            mprotect(addr, _first_vma_only(addr, length) or length, prot))


@mutant("munmap-first-vma-only", "R05")
def _munmap_first_vma(impl):
    """munmap over a range spanning several mappings unmaps only the first."""
    syscall(impl, "munmap", lambda munmap: lambda addr, length:
            munmap(addr, _first_vma_only(addr, length) or length))


# --- flags lost ---------------------------------------------------------------------------

def _dofork_after(impl, name):
    """After a successful ``name`` call, the range's MADV_DONTFORK is dropped."""
    dofork = constant(impl.syscalls, "MADVICES")["dofork"]

    def make(call):
        def patched(addr, length, *rest):
            result = call(addr, length, *rest)
            if result == "ok":
                impl.syscalls.libc.madvise(addr, length, dofork)
            return result
        return patched
    syscall(impl, name, make)


@mutant("mprotect-drops-dontfork", "R40")
def _mprotect_drops_dontfork(impl):
    """mprotect drops the MADV_DONTFORK setting of the range: a fork child inherits it."""
    _dofork_after(impl, "mprotect")


@mutant("mremap-move-drops-dontfork", "R40 R44")
def _mremap_drops_dontfork(impl):
    """mremap that moves a mapping drops its MADV_DONTFORK setting."""
    dofork = constant(impl.syscalls, "MADVICES")["dofork"]

    def make(mremap):
        def patched(addr, old_length, new_length, flags, new_addr):
            result, got = mremap(addr, old_length, new_length, flags, new_addr)
            if result == "ok" and new_addr is not None:
                impl.syscalls.libc.madvise(got, new_length, dofork)
            return result, got
        return patched
    syscall(impl, "mremap", make)


def _advice_without_effect(impl, advice_name):
    advices = constant(impl.syscalls, "MADVICES")

    def make(madvise):
        def patched(addr, length, advice):
            if advice == advices[advice_name]:
                return "ok"
            return madvise(addr, length, advice)
        return patched
    syscall(impl, "madvise", make)


@mutant("dofork-ignored", "R40")
def _dofork_ignored(impl):
    """MADV_DOFORK returns success and changes nothing: a MADV_DONTFORK range stays out of
    fork children."""
    _advice_without_effect(impl, "dofork")


@mutant("keeponfork-ignored", "R41")
def _keeponfork_ignored(impl):
    """MADV_KEEPONFORK returns success and changes nothing: a MADV_WIPEONFORK range stays
    wiped in fork children."""
    _advice_without_effect(impl, "keeponfork")


@mutant("free-accepts-shared", "C05")
def _free_accepts_shared(impl):
    """MADV_FREE on a shared or file mapping returns success (doing nothing) instead of
    EINVAL."""
    free = constant(impl.syscalls, "MADVICES")["free"]

    def make(madvise):
        def patched(addr, length, advice):
            result = madvise(addr, length, advice)
            return "ok" if advice == free and result == "EINVAL" and addr % PAGE == 0 else result
        return patched
    syscall(impl, "madvise", make)


@mutant("posix-madvise-drops", "R38")
def _posix_madvise_drops(impl):
    """posix_madvise(POSIX_MADV_DONTNEED) is made as madvise(MADV_DONTNEED), which throws
    private data away (glibc ignores the advice on Linux)."""
    dontneed = constant(impl.syscalls, "MADVICES")["dontneed"]
    syscall(impl, "posix_madvise", lambda posix_madvise: lambda addr, length, advice:
            impl.syscalls.madvise(addr, length, dontneed))


@mutant("dontneed-zeroes-shared", "R36", variant="dontneed-zeroes-shared")
def _dontneed_zeroes_shared(impl):
    """MADV_DONTNEED on shared memory also punches a hole in the object (as MADV_REMOVE):
    the shared contents read zero afterwards."""
    remove = constant(impl.syscalls, "MADVICES")["remove"]

    def make(madvise):
        def patched(addr, length, advice):
            result = madvise(addr, length, advice)
            if result == "ok" and advice == constant(impl.syscalls, "MADVICES")["dontneed"]:
                end = addr + length
                for vma in vmas():
                    if vma.perms[3] == "s" and vma.start < end and addr < vma.end:
                        low, high = max(addr, vma.start), min(end, vma.end)
                        impl.syscalls.libc.madvise(low, high - low, remove)
            return result
        return patched
    syscall(impl, "madvise", make)


# --- mmap: protections, sharing, file ends ------------------------------------------------

def _mmap_prot_raised(impl, asked, given):
    def make(mmap):
        def patched(addr, length, prot, flags, fd, offset):
            if prot == asked:
                result, got = mmap(addr, length, given, flags, fd, offset)
                if result != "EACCES":
                    return result, got
            return mmap(addr, length, prot, flags, fd, offset)
        return patched
    syscall(impl, "mmap", make)


@mutant("mmap-prot-none-readable", "R33")
def _none_readable(impl):
    """mmap with PROT_NONE maps the memory readable."""
    _mmap_prot_raised(impl, 0, 1)


@mutant("mmap-readonly-writable", "R33")
def _readonly_writable(impl):
    """mmap with PROT_READ maps the memory writable too (where the descriptor allows it)."""
    _mmap_prot_raised(impl, 1, 3)


def _private_file_as_shared(impl, only_prot=None):
    shared, private = constant(impl.syscalls, "MAP_SHARED"), constant(impl.syscalls, "MAP_PRIVATE")

    def make(mmap):
        def patched(addr, length, prot, flags, fd, offset):
            if fd >= 0 and flags & private and (only_prot is None or prot == only_prot):
                result, got = mmap(addr, length, prot, (flags & ~private) | shared, fd, offset)
                if result != "EACCES":
                    return result, got
            return mmap(addr, length, prot, flags, fd, offset)
        return patched
    syscall(impl, "mmap", make)


@mutant("private-file-mapped-shared", "R12", variant="private-file-write-reaches-file")
def _private_file_shared(impl):
    """A MAP_PRIVATE file mapping is made MAP_SHARED (where the descriptor allows it): writes
    through it reach the file."""
    _private_file_as_shared(impl)


@mutant("readonly-private-file-mapped-shared", "R12")
def _readonly_private_file_shared(impl):
    """A read-only MAP_PRIVATE file mapping is made MAP_SHARED "as an optimisation" (nothing
    can write through it): after mprotect to read-write, writes reach the file."""
    _private_file_as_shared(impl, only_prot=1)


@mutant("private-file-snapshot", "R13", variant="private-file-may-snapshot")
def _private_file_snapshot(impl):
    """A MAP_PRIVATE file mapping takes a private copy of every page within the file at mmap
    time (as an emulator reading the file in would): later changes of the file do not show."""
    private = constant(impl.syscalls, "MAP_PRIVATE")

    def make(mmap):
        def patched(addr, length, prot, flags, fd, offset):
            result, got = mmap(addr, length, prot, flags, fd, offset)
            if result == "ok" and fd >= 0 and flags & private:
                size = os.fstat(fd).st_size
                within = max(0, min(length, size - offset))
                # a write through /proc/self/mem copies the page on write, whatever prot
                for page in range(got, got + within, PAGE):
                    try:
                        poke(page, peek(page, 1))
                    except OSError:
                        break           # a page the kernel cannot bring in: leave the rest
            return result, got
        return patched
    syscall(impl, "mmap", make)


@mutant("anon-mapping-junk", "R02")
def _anon_junk(impl):
    """A new private anonymous mapping holds junk (0xAA) instead of zeros (memory reused
    without clearing)."""
    anon = constant(impl.syscalls, "MAP_ANONYMOUS")
    private = constant(impl.syscalls, "MAP_PRIVATE")

    def make(mmap):
        def patched(addr, length, prot, flags, fd, offset):
            result, got = mmap(addr, length, prot, flags, fd, offset)
            if result == "ok" and flags & anon and flags & private:
                poke(got, bytes([JUNK]) * (length + -length % PAGE))
            return result, got
        return patched
    syscall(impl, "mmap", make)


@mutant("file-past-eof-zero", "R06")
def _past_eof_zero(impl):
    """The pages of a file mapping wholly past the end of the file read zero (anonymous
    memory is put there) instead of raising SIGBUS."""
    anon, private, fixed = (constant(impl.syscalls, "MAP_ANONYMOUS"),
                            constant(impl.syscalls, "MAP_PRIVATE"),
                            constant(impl.syscalls, "MAP_FIXED"))

    def make(mmap):
        def patched(addr, length, prot, flags, fd, offset):
            result, got = mmap(addr, length, prot, flags, fd, offset)
            if result == "ok" and fd >= 0:
                size = os.fstat(fd).st_size
                first = max(0, -(-(size - offset) // PAGE)) * PAGE    # first page past the end
                total = length + -length % PAGE
                if first < total:
                    mmap(got + first, total - first, prot, anon | private | fixed, -1, 0)
            return result, got
        return patched
    syscall(impl, "mmap", make)


@mutant("map-fixed-keeps-old", "C01", variant="map-fixed-keeps-old")
def _fixed_keeps_old(impl):
    """MAP_FIXED over an existing mapping succeeds but leaves the old mapping in place (it is
    made as MAP_FIXED_NOREPLACE, and EEXIST is taken for success)."""
    fixed, noreplace = (constant(impl.syscalls, "MAP_FIXED"),
                        constant(impl.syscalls, "MAP_FIXED_NOREPLACE"))

    def make(mmap):
        def patched(addr, length, prot, flags, fd, offset):
            if not flags & fixed:
                return mmap(addr, length, prot, flags, fd, offset)
            result, got = mmap(addr, length, prot, (flags & ~fixed) | noreplace, fd, offset)
            return ("ok", addr) if result == "EEXIST" else (result, got)
        return patched
    syscall(impl, "mmap", make)


# --- mremap -------------------------------------------------------------------------------

@mutant("mremap-grow-stale-copy", "R43")
def _grow_stale(impl):
    """A private anonymous mapping grown by mremap gets copies of its last old page in the new
    pages instead of zeros."""
    def make(mremap):
        def patched(addr, old_length, new_length, flags, new_addr):
            before = vma_at(addr)
            result, got = mremap(addr, old_length, new_length, flags, new_addr)
            old = old_length + -old_length % PAGE
            if (result == "ok" and before is not None and before.inode == 0
                    and before.perms[3] == "p" and new_length > old and old):
                last = peek(got + old - PAGE, PAGE)
                for page in range(got + old, got + new_length, PAGE):
                    poke(page, last[:min(PAGE, got + new_length - page)])
            return result, got
        return patched
    syscall(impl, "mremap", make)


@mutant("mremap-shrink-ignored", "R44")
def _shrink_ignored(impl):
    """mremap to a smaller size returns success and leaves the mapping as it was."""
    def make(mremap):
        def patched(addr, old_length, new_length, flags, new_addr):
            if new_addr is None and 0 < new_length < old_length and addr % PAGE == 0 \
                    and vma_at(addr) is not None:
                return "ok", addr
            return mremap(addr, old_length, new_length, flags, new_addr)
        return patched
    syscall(impl, "mremap", make)


@mutant("mremap-move-leaves-old", "R44")
def _move_leaves_old(impl):
    """mremap that moves a mapping copies it and leaves a private copy at the old place
    instead of unmapping it."""
    put_private_copy = anonymous_copier(impl, "MAP_PRIVATE")

    def make(mremap):
        def patched(addr, old_length, new_length, flags, new_addr):
            before = vma_at(addr)
            if new_addr is None or old_length == 0 or before is None:
                return mremap(addr, old_length, new_length, flags, new_addr)
            length = min(old_length, before.end - addr)
            data = peek(addr, length)
            result, got = mremap(addr, old_length, new_length, flags, new_addr)
            if result == "ok":
                put_private_copy(addr, data, prot_of(before))
            return result, got
        return patched
    syscall(impl, "mremap", make)


@mutant("mremap-move-copies", "R44 R10")
def _move_copies(impl):
    """mremap that moves a shared mapping makes a private copy at the new place: it no longer
    shares with the other mappings of the object."""
    put_private_copy = anonymous_copier(impl, "MAP_PRIVATE")

    def make(mremap):
        def patched(addr, old_length, new_length, flags, new_addr):
            before = vma_at(addr)
            result, got = mremap(addr, old_length, new_length, flags, new_addr)
            if result == "ok" and new_addr is not None and old_length and before is not None \
                    and before.perms[3] == "s":
                moved = vma_at(got)
                length = min(new_length, moved.end - got) if moved else 0
                put_private_copy(got, peek(got, length), prot_of(before))
            return result, got
        return patched
    syscall(impl, "mremap", make)


@mutant("mremap-alias-refused", "R42", variant="mremap-alias-refused")
def _alias_refused(impl):
    """mremap with old_size 0 (an alias of a shared mapping) fails with EINVAL."""
    def make(mremap):
        def patched(addr, old_length, new_length, flags, new_addr):
            if old_length == 0:
                return "EINVAL", None
            return mremap(addr, old_length, new_length, flags, new_addr)
        return patched
    syscall(impl, "mremap", make)

