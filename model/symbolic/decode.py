"""From the encoding back to the specification's vocabulary: arguments -> ``Step``, result
vectors -> ``Result``, a z3 model -> a program (and a ``Case``)."""
from __future__ import annotations

from typing import Sequence

import z3

from ..ops import (PAGE_SIZE, Close, Exec, Exit, Fork, Ftruncate, Madvise, Mmap, Mprotect, Mremap,
                   Munmap, Open, Place, Pread, Pwrite, Read, Seal, ShmAt, ShmCtl, ShmDt, ShmGet,
                   ShmUnlink, Spawn, Step, ThreadExit, Write)
from ..results import DEAD, EOF, OK, Errno, Fault, Result, SegmentId, Stat, Value
from .core import (ADVICES, KEY_NAME, MREMAP_MODES, OBJECT_KINDS, OBJECT_NAME, OP_NAMES, PROTS,
                   RESULT_NAMES, StepArgs, SymbolicScope)
from .unrolling import Unrolling


def steps_from_args(program: Sequence[StepArgs], scope: SymbolicScope, key_name: str = KEY_NAME) -> tuple:
    """The program these arguments mean; handles are named by order of binding (T1, M0, S0, F0)."""
    threads, maps, segs, fds = 1, 0, 0, 0
    out = []
    for a in program:
        name = OP_NAMES[a.op]
        if name == "nop":
            break
        actor = f"T{a.actor}"
        place = Place(f"M{a.slot}", a.page)
        bind = None
        match name:
            case "fork" | "spawn":
                op, bind = (Fork() if name == "fork" else Spawn()), f"T{threads}"
                threads += 1
            case "thread_exit":
                op = ThreadExit()
            case "exit":
                op = Exit()
            case "exec":
                op = Exec()
            case "mmap":
                op, bind = Mmap(shared=a.shared, prot=PROTS[a.prot], length=a.length * PAGE_SIZE,
                                fd=f"F{a.fd}" if a.fdmap else None, neither=a.neither), f"M{maps}"
                maps += 1
            case "open":
                kind = OBJECT_KINDS[a.okind]
                op = Open(kind, "" if kind == "memfd" else OBJECT_NAME, creat=a.creat, excl=a.excl,
                          rdonly=a.rdonly)
                bind = f"F{fds}"
                fds += 1
            case "close":
                op = Close(f"F{a.fd}")
            case "ftruncate":
                op = Ftruncate(f"F{a.fd}", a.length * PAGE_SIZE)
            case "pread":
                op = Pread(f"F{a.fd}", a.page * PAGE_SIZE)
            case "pwrite":
                op = Pwrite(f"F{a.fd}", a.page * PAGE_SIZE, a.value)
            case "shm_unlink":
                op = ShmUnlink(OBJECT_NAME)
            case "seal":
                op = Seal(f"F{a.fd}")
            case "shmat":
                op, bind = ShmAt(f"S{a.handle}", rdonly=a.rdonly), f"M{maps}"
                maps += 1
            case "shmget":
                op, bind = ShmGet(key_name if a.key else "private", scope.sizes[a.size],
                                  creat=a.creat, excl=a.excl), f"S{segs}"
                segs += 1
            case "shmdt":
                op = ShmDt(place)
            case "shmctl":
                op = ShmCtl(f"S{a.handle}", "rmid" if a.rmid else "stat")
            case "munmap":
                op = Munmap(place, a.length * PAGE_SIZE)
            case "mprotect":
                op = Mprotect(place, a.length * PAGE_SIZE, PROTS[a.prot])
            case "madvise":
                op = Madvise(place, a.length * PAGE_SIZE, ADVICES[a.advice])
            case "mremap":
                mode = MREMAP_MODES[a.mode]
                op = Mremap(place, a.old * PAGE_SIZE, a.length * PAGE_SIZE, mode)
                if mode != "grow":
                    bind = f"M{maps}"
                    maps += 1
            case "read":
                op = Read(place)
            case "write":
                op = Write(place, a.value)
            case _:
                raise ValueError(f"unknown operation code {a.op}")
        out.append(Step(actor, op, bind))
    return tuple(out)


def result_from_vector(vec: tuple, scope: SymbolicScope, key_name: str = KEY_NAME) -> Result:
    code, arg, nattch, segsz, dest, key = vec
    name = RESULT_NAMES[code]
    match name:
        case "ok":
            return OK
        case "value":
            return Value(arg)
        case "new":
            return SegmentId()
        case "same":
            return SegmentId(f"S{arg}")
        case "stat":
            return Stat(nattch=nattch, segsz=scope.sizes[segsz], dest=bool(dest),
                        key=key_name if key else "private")
        case "dead":
            return DEAD
        case "eof":
            return EOF
        case "SIGSEGV" | "SIGBUS":
            return Fault(name)
    return Errno(name)


def program_from_model(m: z3.ModelRef, u: Unrolling, length: int) -> tuple:
    """(steps, results) of the first ``length`` steps of a model of the unrolling."""
    values = u.values(m, length)
    args = [a for a, _ in values]
    vecs = [v for _, v in values]
    return (steps_from_args(args, u.scope),
            tuple(result_from_vector(v, u.scope) for v in vecs))


def program_text(steps: Sequence[Step], results: Sequence = None) -> str:
    """The program's steps in the case text form (with ``-> result`` when results are given)."""
    from ..case import Case
    from ..case_text import case_to_text
    allowed = None if results is None else tuple(frozenset([r]) for r in results)
    text = case_to_text(Case("program", "linux", (), "z3", "", tuple(steps), allowed))
    return "\n".join(text.split("\n\n", 1)[1].rstrip("\n").splitlines())
