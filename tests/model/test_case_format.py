"""The case format (docs/case-format.md): both forms round-trip, and bad input is rejected
with a message that names the source, the place and the problem."""
from __future__ import annotations

import functools
import importlib.util
import json
from dataclasses import MISSING, fields, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sharespec.model.case import Case, CaseError
from sharespec.model.case_json import case_from_json, case_to_json, dumps_case, loads_case
from sharespec.model.case_text import case_from_text, case_to_text
from sharespec.model.ops import OP_BY_NAME, PAGE_SIZE, FramePlace, Place, Step
from sharespec.model.results import (
    DEAD, EOF, OK, Errno, Fault, MapsReport, SegmentId, Stat, Value,
)
from sharespec.model.validate import (
    ARGUMENT_KINDS, IDENTIFIER, MAX_BYTES, MAX_CASE_PAGES, validate_case, validate_program,
)

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "case.schema.json"

# Every operation, every argument of each, and every way the text form writes one: positional,
# name=value, bare flags, bare enumeration values, the optional object name, places with and
# without page and offset, and values spelt like the words of the form.
EVERY_OP = """\
# Every operation of the case format, with every argument form the text form has. The description
# is long enough to be wrapped over two comment lines by the writer, which cuts it at single
# spaces.
case every-op-and-argument
profile linux
rules R01 R09 R28
origin handwritten

T0: S0 = shmget(private, 4096, creat)                            -> new | EEXIST
T0: S1 = shmget(k1, 8192, creat, excl)                           -> new | =S0
T0: S2 = shmget(creat, 4096)                                     -> =S0 | ENOENT
T0: M0 = mmap(anon, shared, rw, 8192)                            -> ok
T0: F0 = open(file, data, creat)                                 -> ok
T0: F1 = open(shm, seg1, creat, excl, rdonly)                    -> ok | EEXIST
T0: F2 = open(memfd)                                             -> ok
T0: F3 = open(memfd, name=creat)                                 -> ok
T0: M1 = mmap(F0, private, r, 4096, offset=4096)                 -> ok
T0: M2 = mmap(anon, private, rw, 4096, at=M0[1], replace)        -> ok
T0: M3 = mmap(F2, shared, none, 4096, at=M0[2]+100, noreplace)   -> EEXIST | EINVAL
T0: A0 = shmat(S0)                                               -> ok
T0: A1 = shmat(S1, at=M0[1]+3, rdonly, rnd, remap)               -> ok | EINVAL
T0: shmdt(A0)                                                    -> ok
T0: shmctl(S0, stat)                                             -> stat(nattch=1,segsz=4096,dest=0,key=private) | EINVAL
T0: shmctl(S0, rmid)                                             -> ok
T0: munmap(M0[1], 4096)                                          -> ok
T0: mprotect(M0, 4096, x)                                        -> ok
T0: madvise(M0, 4096, dontneed)                                  -> ok
T0: madvise(M0, 4096, remove)                                    -> ok
T0: madvise(M0, 4096, dontfork)                                  -> ok
T0: madvise(M0, 4096, dofork)                                    -> ok
T0: madvise(M0, 4096, wipeonfork)                                -> ok
T0: madvise(M0, 4096, keeponfork)                                -> ok
T0: madvise(M0, 4096, free)                                      -> ok
T0: posix_madvise(M0, 4096, dontneed)                            -> ok
T0: mremap(M0, 4096, 8192, grow)                                 -> ok | ENOMEM
T0: M4 = mremap(M0, 4096, 4096, move)                            -> ok
T0: M5 = mremap(M4, 0, 4096, alias)                              -> ok | EINVAL
T0: mremap(M5, 4096, 4096, fixed, to=M4, maymove, dontunmap)     -> ok | EINVAL
T0: maps(M4)                                                     -> maps() | maps(0-1:rw-s,2-3:r-xs)
T0: ftruncate(F0, 8192)                                          -> ok
T0: pwrite(F0, 10, 7)                                            -> ok
T0: pread(F0, 10)                                                -> 7
T0: pread(F0, 11)                                                -> 0 | 2 | 10 | 255 | eof
T0: seal(F2, write)                                              -> ok
T0: close(F1)                                                    -> ok
T0: shm_unlink(seg1)                                             -> ok | ENOENT
T0: write(M0[1]+7, 42)                                           -> ok | SIGSEGV
T0: read(M0+4095)                                                -> 42 | SIGBUS | dead
T0: seal(F2, shrink+grow)                                        -> ok
T0: seals(F2)                                                    -> EBADF | seals(shrink+grow+write)
T0: F4 = dup(F2)                                                 -> ok
T0: F5 = reopen(F4, wronly, trunc)                               -> ok | EPERM
T0: F6 = open(file, data, wronly)                                -> ok
T0: F7 = open(memfd, invalid=long_name, nosealing)               -> EINVAL
T0: fallocate(F2, 0, 4096, punch)                                -> ok | EPERM
T0: fstat(F2)                                                    -> size(8192)
T0: T1 = fork()                                                  -> ok
T1: T2 = spawn()                                                 -> ok
T2: thread_exit()                                                -> ok
T1: exec()                                                       -> ok
T1: exit()                                                       -> ok
T0: frames(T0:M0, T1:M4[1])                                      -> dead | frames(A/B;A=pf,B=-)
T0: mlock(M0+100, 4096)                                          -> ok | ENOMEM
T0: munlock(M0, 8192)                                            -> ok
T0: msync(M0, 4096, sync+invalidate)                             -> ok | EBUSY
T0: msync(M0, 4096)                                              -> ok
T0: vmlck()                                                      -> vmlck(0) | vmlck(2)
T0: brk(@brk[1])                                                 -> ok
T0: M6 = mmap(F0, shared, r, 4096, locked, validate, unknown)    -> EOPNOTSUPP
T0: M7 = mmap(anon, private, rw, 4096, populate)                 -> ok
T0: shmctl(S1, set, mode=0640, uid=other, gid=root)              -> ok | EINVAL
T0: S3 = shmget(k1, 0, mode=0400)                                -> =S1 | ENOENT
T0: F8 = open(shm, seg2, mode=0644, creat)                       -> ok
T0: setgid(other)                                                -> ok
T0: setuid(other)                                                -> ok | EPERM
T0: exit()                                                       -> ok
"""

# The same program written loosely: hexadecimal, name=value for anything, extra spaces,
# comments, results out of order. It reads to the same case as EVERY_OP without its results.
EVERY_OP_LOOSE = """\
# Every operation of the case format, with every argument form the text form has. The

# description is long enough to be wrapped over two comment lines by the writer, which cuts it at
#   single spaces.
case   every-op-and-argument   # the name
origin handwritten
rules R01 R09 R28
profile linux
T0: S0=shmget(key=private,size=0x1000,creat=true)
T0 : S1 = shmget( k1 , 0x2000 , excl , creat )
T0: S2 = shmget(creat, 4096, excl=false)
T0: M0 = mmap(fd=anon, shared=shared, prot=rw, length=8192, fixed=none)
T0: F0 = open(file, data, creat)  # comment after a step
T0: F1 = open(shm, seg1, rdonly, creat, excl)
T0: F2 = open(kind=memfd)
T0: F3 = open(memfd, name=creat)
T0: M1 = mmap(F0, private, r, 4096, offset=0x1000)
T0: M2 = mmap(anon, private, rw, 4096, replace, at=M0[1]+0)
T0: M3 = mmap(F2, shared, none, 4096, at= M0 [2] + 100, fixed=noreplace)
T0: A0 = shmat(S0, rdonly=false)
T0: A1 = shmat(S1, at=M0[1]+3, rdonly, rnd, remap)
"""


def every_op_case() -> Case:
    return case_from_text(EVERY_OP, "every-op.case")


# --- round trips of hand-written cases -------------------------------------------

def test_every_operation_is_in_the_hand_written_case():
    used = {step.op.OP for step in every_op_case().steps}
    assert used == set(OP_BY_NAME)


def test_text_form_is_written_back_exactly():
    assert case_to_text(every_op_case()) == EVERY_OP


def test_doc_example_round_trips_in_both_forms():
    text = """\
# A SysV attach is inherited across fork and stays shared both ways.
case r09-sysv-inherited-by-fork
profile linux
rules R09 R28
origin handwritten

T0: S0 = shmget(private, 4096, creat)   -> new
T0: A0 = shmat(S0)                      -> ok
T0: T1 = fork()                         -> ok
T1: write(A0, 7)                        -> ok
T0: read(A0)                            -> 7
"""
    case = case_from_text(text, "doc.case")
    assert case_to_text(case) == text
    doc = json.loads((Path(__file__).resolve().parents[2] / "docs" / "case-format.md")
                     .read_text().split("```json\n", 1)[1].split("```", 1)[0])
    assert case_from_json(doc, "doc.json") == case
    assert case_to_json(case) == doc


def test_json_round_trip_of_every_op():
    case = every_op_case()
    assert case_from_json(case_to_json(case)) == case
    line = dumps_case(case)
    assert "\n" not in line
    assert loads_case(line, "every-op.json") == case
    assert loads_case(json.dumps(case_to_json(case), indent=2)) == case


def test_json_writes_every_argument_and_reads_without_defaults():
    case = every_op_case()
    obj = case_to_json(case)
    for step in obj["steps"]:
        assert list(step["args"]) == list(ARGUMENT_KINDS[step["op"]])
    # Leave out every argument at its default, and every place's page and offset at 0.
    for step, raw in zip(case.steps, obj["steps"]):
        for f in fields(step.op):
            if f.default is not MISSING and getattr(step.op, f.name) == f.default:
                del raw["args"][f.name]
        for value in raw["args"].values():
            if isinstance(value, dict):
                for part in ("page", "offset"):
                    if value[part] == 0:
                        del value[part]
        if not raw["args"]:
            del raw["args"]
    del obj["description"]
    assert case_from_json(obj) == replace(case, description="")


def test_loose_text_reads_to_the_same_program():
    expected = every_op_case()
    loose = case_from_text(EVERY_OP_LOOSE, "loose.case")
    count = len(loose.steps)
    assert loose.description == expected.description
    assert loose.steps == expected.steps[:count]
    assert loose.allowed is None


def test_results_are_written_in_one_order():
    case = every_op_case()
    shuffled = EVERY_OP.replace("-> 0 | 2 | 10 | 255 | eof", "-> eof | 255|10 |0| 2")
    assert case_to_text(case_from_text(shuffled)) == EVERY_OP
    obj = case_to_json(case)
    assert obj["steps"][34]["allowed"] == ["0", "2", "10", "255", "eof"]
    assert obj["steps"][39]["allowed"] == ["42", "SIGBUS", "dead"]


def test_a_case_without_results_round_trips():
    case = replace(every_op_case(), allowed=None)
    text = case_to_text(case)
    assert "->" not in text
    assert case_from_text(text) == case
    assert loads_case(dumps_case(case)) == case
    assert "allowed" not in dumps_case(case)


def test_hex_numbers_and_defaults_are_accepted():
    case = case_from_text("case c\nprofile linux\nT0: M0 = mmap(anon, shared, rw, 0x2000)\n"
                          "T0: write(M0[0xff]+0xFFF, 0xff)\n")
    assert case.steps[1].op.at == Place("M0", 255, 4095)
    assert case.steps[1].op.value == 255
    assert case.rules == () and case.origin == "handwritten" and case.description == ""


SHIPPED_CASES = sorted((Path(__file__).resolve().parents[2] / "sharespec" / "cases").glob("*.case"))


@pytest.mark.parametrize("path", SHIPPED_CASES, ids=lambda path: path.name)
def test_shipped_cases_read_and_round_trip(path):
    case = case_from_text(path.read_text(), path.name)
    assert case_from_text(case_to_text(case)) == case
    assert loads_case(dumps_case(case)) == case
    if importlib.util.find_spec("jsonschema"):
        _compiled_schema().validate(case_to_json(case))


# --- random cases ----------------------------------------------------------------

_TRICKY_WORDS = ("creat", "excl", "rdonly", "private", "shared", "replace", "noreplace", "rw",
                 "write", "memfd", "file", "true", "none", "grow")
_ERRNOS = ("EINVAL", "ENOMEM", "EACCES", "EBADF", "EEXIST", "ENOENT", "EIDRM")


def _identifiers():
    return st.one_of(st.sampled_from(_TRICKY_WORDS),
                     st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,5}", fullmatch=True))


# The sizes whose pages the model holds, capped per case (MAX_CASE_PAGES): a case of at most
# 64 steps, each at most 1/64 of the cap, stays within it.
_MAPPED = {("mmap", "length"), ("mremap", "new_length"), ("shmget", "size"), ("fallocate", "length")}


def _numbers(largest):
    return st.one_of(st.integers(0, 3) .map(lambda n: n * 4096), st.integers(0, largest))


@st.composite
def valid_cases(draw) -> Case:
    """A random valid case: every handle bound before use, no step by an ended thread."""
    kinds = {"T0": "thread"}
    process_of, threads_of, ended = {"T0": 0}, {0: {"T0"}}, set()
    steps, allowed = [], []
    hugetlb_fds = set()          # fd handles of hugetlb memfds: no MAP_FIXED of them
    with_results = draw(st.booleans())

    def fresh_handle():
        return draw(_identifiers().filter(lambda h: h not in kinds and h != "anon"))

    def bound(kind):
        return sorted(h for h, k in kinds.items() if k == kind)

    def place():
        return Place(draw(st.sampled_from(bound("mapping"))), draw(st.integers(0, 255)),
                     draw(st.one_of(st.just(0), st.integers(0, 4095))))

    for _ in range(draw(st.integers(1, 10))):
        alive = [t for t in bound("thread") if t not in ended]
        if not alive:
            break
        thread = draw(st.sampled_from(alive))
        needs = {"segment": ("shmat", "shmctl"), "fd": ("close", "ftruncate", "pread", "pwrite",
                                                       "seal", "seals", "dup", "reopen",
                                                       "fallocate", "fstat"),
                 "mapping": ("shmdt", "munmap", "mprotect", "madvise", "posix_madvise",
                             "mremap", "read", "write", "frames", "maps", "mlock", "munlock",
                             "msync")}
        possible = [op for op in OP_BY_NAME
                    if not any(op in ops and not bound(kind) for kind, ops in needs.items())]
        name = draw(st.sampled_from(possible))
        args = {}
        for arg, kind in ARGUMENT_KINDS[name].items():
            match kind:
                case tuple():
                    args[arg] = draw(st.sampled_from(kind))
                case "flag" | "sharing":
                    args[arg] = draw(st.booleans())
                case "bytes" if (name, arg) in _MAPPED:   # the model's cap: MAX_CASE_PAGES
                    args[arg] = draw(_numbers(MAX_CASE_PAGES * 4096 // 64))
                case "bytes":
                    args[arg] = draw(_numbers(MAX_BYTES))
                case "byte":
                    args[arg] = draw(st.integers(0, 255))
                case "mode":
                    args[arg] = draw(st.integers(0, 0o777))
                case "mode?":
                    args[arg] = draw(st.one_of(st.none(), st.integers(0, 0o777)))
                case "user":
                    args[arg] = draw(st.sampled_from(("root", "other")))
                case "user?":
                    args[arg] = draw(st.sampled_from((None, "root", "other")))
                case "key":
                    args[arg] = draw(st.one_of(st.just("private"), _identifiers()))
                case "name":
                    args[arg] = draw(_identifiers())
                case "segment" | "fd" | "mapping":
                    args[arg] = draw(st.sampled_from(bound(kind)))
                case "fd?":
                    args[arg] = draw(st.one_of(st.none(), st.sampled_from(bound("fd") or [None])))
                case "place" if name == "brk":     # the break's places only (model/brk.py)
                    args[arg] = Place("@brk", draw(st.integers(0, 64)), 0)
                case "place":
                    args[arg] = place()
                case "frame-places":
                    args[arg] = tuple(FramePlace(draw(st.sampled_from(bound("thread"))),
                                                 draw(st.sampled_from(bound("mapping"))),
                                                 draw(st.integers(0, 255)))
                                      for _ in range(draw(st.integers(1, 3))))
                case "place?":
                    args[arg] = draw(st.one_of(st.none(), st.just(None).map(lambda _: place())
                                               if bound("mapping") else st.none()))
        # Keep the combinations the format forbids out.
        if name == "mmap":
            args["fixed"] = "none" if args["at"] is None else draw(st.sampled_from(("replace",
                                                                                    "noreplace")))
        if name == "mremap" and args["mode"] == "alias":
            args["old_length"] = 0
        if name == "mremap":   # to= and maymove only in mode fixed, dontunmap not with grow
            if args["mode"] == "fixed":
                args["to"] = args["to"] or place()
            else:
                args["to"], args["maymove"] = None, False
            args["dontunmap"] = args["dontunmap"] and args["mode"] != "grow"
        if name == "open":
            args["wronly"] = args["wronly"] and args["kind"] == "file" and not args["rdonly"]
            if args["kind"] != "memfd":
                args["nosealing"], args["invalid"] = False, "none"
                args["hugetlb"], args["huge"] = False, "default"   # memfd_create's and shmget's
        if name == "reopen" and args["mode"] == "rdonly":
            args["trunc"] = False
        if name == "mmap":   # MAP_SHARED_VALIDATE is a kind of shared mapping
            args["validate"] = args["validate"] and args["shared"]
            # MAP_GROWSDOWN is stated of private anonymous memory only (model/growsdown.py)
            args["growsdown"] = args["growsdown"] and not args["shared"] and args["fd"] is None
            # neither is MAP_TYPE 0: not shared, not growsdown, not at an absolute place
            args["neither"] = args["neither"] and not args["shared"] and not args["growsdown"] \
                and not (args["at"] is not None and str(args["at"].mapping).startswith("@"))
        # ... and ranges that run past their slot (model/validate.py check_within_slot)
        room = lambda page: (256 - page) * PAGE_SIZE  # noqa: E731
        if name in ("munmap", "mprotect", "madvise", "posix_madvise", "msync"):
            args["length"] = min(args["length"], room(args["at"].page))
        if name in ("mlock", "munlock"):   # the start rounds down: its offset counts too
            args["length"] = max(0, min(args["length"], room(args["at"].page) - args["at"].offset))
        if name == "mmap":
            args["length"] = min(args["length"], room(args["at"].page if args["at"] else 0))
        if name == "mremap":
            args["old_length"] = min(args["old_length"], room(args["at"].page))
            dest = {"grow": args["at"].page, "fixed": args["to"].page if args["to"] else 0}
            args["new_length"] = min(args["new_length"], room(dest.get(args["mode"], 0)))
        if name == "open" and args["kind"] == "memfd":
            args["name"] = draw(st.sampled_from(("", args["name"])))
            args["mode"] = 0o600                   # memfd_create has no mode
        if name == "shmctl" and args["cmd"] != "set":
            args.update(mode=None, uid=None, gid=None)   # only IPC_SET takes them
        op = OP_BY_NAME[name](**args)
        binds = op.BINDS if not (name == "mremap" and op.mode in ("grow", "fixed")) else None
        bind = fresh_handle() if binds else None
        if name == "mmap" and op.fixed == "replace" and op.fd in hugetlb_fds:
            op = OP_BY_NAME[name](**dict(args, fixed="noreplace"))   # validate.check_hugetlb
        if bind and (name == "open" and op.hugetlb or name in ("dup", "reopen")
                     and op.fd in hugetlb_fds):
            hugetlb_fds.add(bind)
        if bind:
            kinds[bind] = binds
        steps.append(Step(thread, op, bind))
        process = process_of[thread]
        match name:
            case "fork":
                process_of[bind] = len(threads_of)
                threads_of[len(threads_of)] = {bind}
            case "spawn":
                process_of[bind] = process
                threads_of[process].add(bind)
            case "thread_exit":
                ended.add(thread)
            case "exit":
                ended.update(threads_of[process])
            case "exec":
                ended.update(threads_of[process] - {thread})
        if with_results:
            choices = [st.just(OK), st.just(DEAD), st.sampled_from(_ERRNOS).map(Errno),
                       st.sampled_from(("SIGSEGV", "SIGBUS")).map(Fault)]
            if name in ("read", "pread"):
                choices.append(st.integers(0, 255).map(Value))
            if name == "pread":
                choices.append(st.just(EOF))
            if name == "shmget":
                earlier = [s for s in bound("segment") if s != bind]
                choices.append(st.sampled_from([None] + earlier).map(SegmentId))
            if name == "maps":
                choices.append(st.lists(st.sampled_from(("rw-p", "--xp", "-w-s")), max_size=3)
                               .map(lambda perms: MapsReport(tuple(
                                   (2 * i, 2 * i + 1, p) for i, p in enumerate(perms)))))
            if name == "shmctl" and op.cmd == "stat":
                choices.append(st.builds(Stat, st.integers(0, 9), _numbers(MAX_BYTES),
                                         st.booleans(), st.one_of(st.just("private"),
                                                                  _identifiers())))
            allowed.append(frozenset(draw(st.lists(st.one_of(choices), min_size=1, max_size=4))))

    word = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:+/-]{0,15}", fullmatch=True)
    name = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,15}", fullmatch=True)   # CASE_NAME
    description = draw(st.text(alphabet="ab #\t-é|", max_size=250)).strip()
    return Case(name=draw(name), profile=draw(st.sampled_from(("linux", "posix"))),
                rules=tuple(draw(st.lists(word, max_size=3))), origin=draw(word),
                description=description, steps=tuple(steps),
                allowed=tuple(allowed) if with_results else None)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_cases())
def test_random_cases_round_trip_exactly(case):
    validate_case(case)
    text = case_to_text(case)
    assert case_from_text(text, "random.case") == case
    assert case_to_text(case_from_text(text)) == text
    assert case_from_json(case_to_json(case)) == case
    assert loads_case(dumps_case(case), "random.json") == case


# --- the schema --------------------------------------------------------------------

@functools.cache
def _compiled_schema():
    import jsonschema
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _schema_validator():
    pytest.importorskip("jsonschema")  # add jsonschema to the test extra to run these
    return _compiled_schema()


def test_schema_accepts_what_the_writer_writes():
    validator = _schema_validator()
    for case in (every_op_case(), replace(every_op_case(), allowed=None),
                 case_from_text(EVERY_OP_LOOSE)):
        validator.validate(case_to_json(case))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_cases())
def test_schema_accepts_random_cases(case):
    _schema_validator().validate(case_to_json(case))


def test_schema_names_every_operation_and_argument():
    schema = json.loads(SCHEMA_PATH.read_text())
    rules = schema["$defs"]["step"]["allOf"]
    described = {rule["if"]["properties"]["op"]["const"]: rule["then"]["properties"]["args"]
                 for rule in rules}
    assert set(described) == set(OP_BY_NAME)
    for name, args in described.items():
        assert list(args["properties"]) == list(ARGUMENT_KINDS[name])


@pytest.mark.parametrize("change", [
    lambda obj: obj["steps"][0]["args"].update(size=True),
    lambda obj: obj["steps"][0]["args"].update(stray=1),
    lambda obj: obj.update(version=2),
    lambda obj: obj["steps"][13]["args"].update(at=None),
    lambda obj: obj["steps"][0].update(allowed=["maybe"]),
    lambda obj: obj["steps"][13].update(bind="X"),                       # shmdt binds nothing
    lambda obj: obj["steps"][3].pop("bind"),                             # mmap must bind
    lambda obj: obj["steps"][3]["args"].update(at={"mapping": "M0"}),    # at without fixed
    lambda obj: obj["steps"][28]["args"].update(old_length=4096),        # alias: old size 0
    lambda obj: obj["steps"][26].update(bind="M9"),                      # grow binds nothing
    lambda obj: obj["steps"][3].pop("args"),                             # mmap needs its args
])
def test_schema_rejects_what_the_reader_rejects(change):
    validator = _schema_validator()
    obj = case_to_json(every_op_case())
    change(obj)
    assert not validator.is_valid(obj)
    with pytest.raises(CaseError):
        case_from_json(obj)


def test_argument_table_follows_the_operations():
    for name, cls in OP_BY_NAME.items():
        assert list(ARGUMENT_KINDS[name]) == [f.name for f in fields(cls)]


# --- rejections: the text form -------------------------------------------------------

HEADER = "case bad\nprofile linux\n\n"   # steps start on line 4


@pytest.mark.parametrize("steps, line, problem", [
    ("T0: M0 = mmapp(anon, shared, rw, 4096)\n", 4, "unknown operation 'mmapp' (known: fork, spawn,"),
    ("T0: read(M0)\n", 4, "M0 is used before it is bound"),
    ("T0: M0 = mmap(anon, shared, rw, 4096)\nT0: read(S0)\n", 5, "S0 is used before it is bound"),
    ("T0: S0 = shmget(private, 4096)\nT0: read(S0)\n", 5,
     "S0 is a segment handle (bound at line 4), but a mapping is needed"),
    ("T0: S0 = shmget(private, 4096)\nT0: shmat(S0)\n", 5, "shmat binds a mapping handle"),
    ("T0: F0 = open(memfd)\nT0: A0 = shmat(F0)\n", 5, "F0 is an fd handle (bound at line 4), but a segment is needed here"),
    ("T0: T1 = fork()\nT1: thread_exit()\nT1: exit()\n", 6,
     "T1 performs a step after it ended (thread_exit at line 5)"),
    ("T0: T1 = spawn()\nT0: exit()\nT1: exit()\n", 6, "T1 performs a step after it ended (exit by T0 at line 5)"),
    ("T0: T1 = spawn()\nT0: exec()\nT1: exit()\n", 6, "ended (exec by T0 at line 5)"),
    ("T0: T1 = fork()\nT0: exit()\nT1: T2 = spawn()\nT2: exit()\n", 7, None),  # valid
    ("T0: M0 = mmap(anon, shared, rw, 4096)\nT0: M0 = mmap(anon, shared, rw, 4096)\n", 5,
     "M0 is bound twice (bound at line 4)"),
    ("T0: T0 = fork()\n", 4, "T0 is bound twice (the initial thread)"),
    ("T0: anon = open(memfd)\n", 4, "'anon' cannot be a handle"),
    ("T0: fork()\n", 4, "fork binds a thread handle"),
    ("T0: F0 = close(F0)\n", 4, "F0 is used before it is bound"),
    ("T0: M0 = mmap(anon, shared, rw, 4096)\nT0: M1 = mremap(M0, 4096, 8192, grow)\n", 5,
     "mremap binds no handle (mode grow keeps the mapping's handle)"),
    ("T0: M0 = mmap(anon, shared, rw, 4096)\nT0: mremap(M0, 4096, 8192, move)\n", 5,
     "mremap binds a mapping handle"),
    ("T0: M0 = mmap(anon, shared, rw, 4096)\nT0: M1 = mremap(M0, 4096, 8192, alias)\n", 5,
     "mremap alias is the call with old size 0"),
    ("T0: M0 = mmap(anon, shared, rw, 4096)\nT0: M1 = mmap(anon, shared, rw, 4096, at=M0)\n", 5,
     "mmap with a place needs fixed=replace or fixed=noreplace"),
    ("T0: M1 = mmap(anon, shared, rw, 4096, replace)\n", 4, "mmap fixed=replace needs a place"),
    ("T0: M0 = mmap(anon, shared, rw, 4096)\nT0: read(M0[256])\n", 5,
     "a place's page must be in 0..255"),
    # slots need not be adjacent: a range may not run from one slot into the next
    ("T0: M0 = mmap(anon, shared, rw, 4096)\nT0: M1 = mmap(anon, shared, rw, 4096)\n"
     "T0: munmap(M0[255], 8192)\nT0: read(M1)\n", 6,
     "the munmap range runs past the end of its slot: page 255 + 2 pages > 256"),
    ("T0: M0 = mmap(anon, shared, rw, 1052672)\n", 4, "the mapping runs past the end of its slot"),
    ("T0: M0 = mmap(anon, shared, rw, 4096)\nT0: mprotect(M0[200], 0x40000, r)\n", 5,
     "the mprotect range runs past the end of its slot: page 200 + 64 pages > 256"),
    ("T0: M0 = mmap(anon, shared, rw, 4096)\nT0: mremap(M0[255], 4096, 8192, grow)\n", 5,
     "the new range runs past the end of its slot"),
    ("T0: M0 = mmap(anon, shared, rw, 4096)\nT0: M1 = mremap(M0, 4096, 0x101000, move)\n", 5,
     "the new range runs past the end of its slot: page 0 + 257 pages > 256"),
    ("T0: M0 = mmap(anon, shared, rw, 4096)\nT0: read(M0+4096)\n", 5,
     "a place's offset must be in 0..4095"),
    ("T0: M0 = mmap(anon, shared, rw, 4096)\nT0: write(M0, 256)\n", 5, "value must be in 0..255, not 256"),
    ("T0: M0 = mmap(anon, shared, rw, 0x10000000001)\n", 4, "length must be in 0..1099511627776"),
    ("T0: M0 = mmap(anon, shared, rw, -1)\n", 4, "mmap length must be a number"),
    ("T0: M0 = mmap(anon, shared, rw, four)\n", 4, "mmap length must be a number"),
    ("T0: M0 = mmap(anon, sharde, rw, 4096)\n", 4, "mmap shared must be true or false or shared or private"),
    ("T0: M0 = mmap(anon, shared, rwx, 4096)\n", 4, "mmap prot must be one of rw, r, none, w, x, rx, not 'rwx'"),
    ("T0: M0 = mmap(anon, shared, rw)\n", 4, "mmap: missing argument 'length'"),
    ("T0: M0 = mmap(anon, shared, rw, 4096, 5)\n", 4, "mmap: unexpected argument '5'"),
    ("T0: M0 = mmap(anon, shared, rw, 4096, colour=red)\n", 4, "mmap has no argument 'colour'"),
    ("T0: M0 = mmap(anon, shared, rw, 4096, length=4096)\n", 4, "the argument 'length' is given twice"),
    ("T0: M0 = mmap(anon, shared, rw, 4096,)\n", 4, "an empty argument"),
    ("T0: F0 = open(file)\n", 4, "open of a file needs a name"),
    ("T0: F0 = open(file, a-b)\n", 4, "an object name must be an identifier"),
    ("T0: S0 = shmget(private, 4096) -> maybe\n", 4, "not a result: 'maybe'"),
    ("T0: S0 = shmget(private, 4096) -> new |\n", 4, "an empty result"),
    ("T0: S0 = shmget(private, 4096) -> new | new\n", 4, "the result 'new' is listed twice"),
    ("T0: S0 = shmget(private, 4096) -> =S0\n", 4, "=S0: S0 is not a segment handle bound by an earlier step"),
    ("T0: M0 = mmap(anon, shared, rw, 4096) -> 7\n", 4, "only read and pread return a byte"),
    ("T0: M0 = mmap(anon, shared, rw, 4096) -> ok\nT0: read(M0) -> eof\n", 5,
     "only pread reads past the end of an object"),
    ("T0: M0 = mmap(anon, shared, rw, 4096) -> ok\nT0: read(M0)\n", 5,
     "give the allowed results for every step or for none"),
    ("T0: M0 = mmap(anon, shared, rw, 4096) trailing\n", 4, "not a step"),
    ("T0: M0 = mmap(anon, shared, rw, 4096)\nstray text\n", 5, "not a step"),
    ("T0: M0 = mmap(anon, shared, rw, 4096)\norigin random\n", 5, "the header line 'origin' comes after the steps"),
    ("T0 M0 = mmap(anon, shared, rw, 4096)\n", 4, "not a step"),
    ("", 1, "a case has at least one step"),
    ("T9: exit()\n", 4, "T9 is used before it is bound"),
    ("T0: S0 = shmget(private, 4096)\nT0: shmctl(S0, stat) -> stat(nattch=1,segsz=1,dest=0,key=private)\n", 4,
     "no '-> RESULT'"),
])
def test_text_rejections_name_source_line_and_problem(steps, line, problem):
    text = HEADER + steps
    if problem is None:
        case_from_text(text, "bad.case")
        return
    with pytest.raises(CaseError) as caught:
        case_from_text(text, "bad.case")
    error = caught.value
    assert (error.source, error.where) == ("bad.case", f"line {line}")
    assert problem in error.problem
    assert str(error).startswith(f"bad.case: line {line}: ")


@pytest.mark.parametrize("text, line, problem", [
    ("profile linux\ncase x\n", 1, "a case begins with 'case NAME'"),
    ("case x\nT0: exit()\n", 2, "the header needs a 'profile' line"),
    ("case x\ncase y\n", 2, "a second 'case' line (the first is line 1)"),
    ("case x y\nprofile linux\n", 1, "'case' takes one word, not 2"),
    ("case x\nprofile\n", 2, "'profile' takes one word, not 0"),
    ("case x\nprofile linux\norigin\n", 3, "'origin' takes one word"),
    ("case x\nprofile linux\nprofile posix\n", 3, "a second 'profile' line"),
])
def test_text_header_rejections(text, line, problem):
    with pytest.raises(CaseError) as caught:
        case_from_text(text, "head.case")
    assert caught.value.where == f"line {line}"
    assert problem in caught.value.problem


def test_a_header_word_cannot_pass_for_a_step():
    # "origin :x(y)" would read as a step by a thread called "origin"; header words therefore
    # never start with ':', and a thread may be called like a header key.
    with pytest.raises(CaseError, match="not starting with ':'"):
        validate_case(replace(every_op_case(), origin=":x(y)"))
    case = case_from_text("case c\nprofile linux\nT0: origin = fork()\norigin: exit()\n")
    assert case.steps[1].thread == "origin" and case.origin == "handwritten"
    assert case_from_text(case_to_text(case)) == case


def test_text_without_case_line():
    with pytest.raises(CaseError, match=r"^empty\.case: no 'case NAME' line"):
        case_from_text("# only a description\n\n", "empty.case")


# --- rejections: the JSON form -----------------------------------------------------

def _json_of_every_op() -> dict:
    return case_to_json(every_op_case())


def _set(path, value):
    def change(obj):
        *parents, last = path
        for part in parents:
            obj = obj[part]
        obj[last] = value
    return change


def _delete(path):
    def change(obj):
        *parents, last = path
        for part in parents:
            obj = obj[part]
        del obj[last]
    return change


@pytest.mark.parametrize("change, where, problem", [
    (_set(("steps", 3, "op"), "mmapp"), "steps[3].op", "unknown operation \"mmapp\" (known: fork"),
    (_set(("steps", 3, "args", "length"), True), "steps[3].args.length", "length must be an integer, not true"),
    (_set(("steps", 3, "args", "length"), 4096.0), "steps[3].args.length", "must be an integer, not 4096.0"),
    (_set(("steps", 3, "args", "length"), "4096"), "steps[3].args.length", "must be an integer"),
    (_set(("steps", 3, "args", "length"), -1), "steps[3].args.length", "must be in 0..1099511627776, not -1"),
    (_set(("steps", 3, "args", "length"), 2 ** 41), "steps[3].args.length", "must be in 0..1099511627776"),
    (_set(("steps", 3, "args", "shared"), 1), "steps[3].args.shared", "shared must be true or false, not 1"),
    (_set(("steps", 3, "args", "prot"), "rwx"), "steps[3].args.prot", "mmap prot must be one of rw, r, none, w, x, rx"),
    (_set(("steps", 3, "args", "colour"), "red"), "steps[3].args.colour", "unknown argument of mmap 'colour'"),
    (_delete(("steps", 3, "args", "length")), "steps[3].args", "mmap needs the argument 'length'"),
    (_set(("steps", 38, "args", "at", "page"), 256), "steps[38].args.at.page", "page must be in 0..255"),
    (_set(("steps", 38, "args", "at", "page"), False), "steps[38].args.at.page", "must be an integer, not false"),
    (_set(("steps", 38, "args", "at", "row"), 1), "steps[38].args.at.row", "unknown place field 'row'"),
    (_set(("steps", 38, "args", "at"), "M0"), "steps[38].args.at", "a place is an object"),
    (_set(("steps", 38, "args", "value"), 256), "steps[38].args.value", "value must be in 0..255, not 256"),
    (_set(("steps", 38, "args", "at", "mapping"), "S0"), "steps[38].args.at.mapping",
     "S0 is a segment handle (bound at steps[0]), but a mapping is needed"),
    (_set(("steps", 38, "args", "at", "mapping"), "M9"), "steps[38].args.at.mapping", "M9 is used before it is bound"),
    (_set(("steps", 38, "thread"), "T1"), "steps[38].thread", "T1 is used before it is bound"),
    (_set(("steps", 53, "thread"), "T2"), "steps[53].thread",
     "T2 performs a step after it ended (thread_exit at steps[50])"),
    (_set(("steps", 3, "bind"), "S0"), "steps[3].bind", "S0 is bound twice"),
    (_delete(("steps", 3, "bind")), "steps[3].bind", "mmap binds a mapping handle"),
    (_set(("steps", 13, "bind"), "X"), "steps[13].bind", "shmdt binds no handle"),
    (_set(("steps", 13, "bind"), None), "steps[13].bind", "bind must be a handle name, not null"),
    (_set(("steps", 3, "stray"), 1), "steps[3].stray", "unknown step field 'stray'"),
    (_delete(("steps", 3, "thread")), "steps[3]", "missing step field 'thread'"),
    (_set(("steps", 3, "allowed"), ["ok", "ok"]), "steps[3].allowed[1]", "listed twice"),
    (_set(("steps", 3, "allowed"), ["maybe"]), "steps[3].allowed[0]", "not a result: 'maybe'"),
    (_set(("steps", 3, "allowed"), [" ok"]), "steps[3].allowed[0]", "write the result ' ok' as 'ok'"),
    (_set(("steps", 3, "allowed"), []), "steps[3].allowed", "non-empty list of results"),
    (_delete(("steps", 3, "allowed")), "steps[3]", "allowed is given for some steps but not this one"),
    (_set(("version",), 2), "version", "this reader knows version 1 only, not 2"),
    (_set(("version",), True), "version", "not true"),
    (_set(("format",), "other"), "format", "format must be 'sharespec-case'"),
    (_set(("extra",), 1), "extra", "unknown field 'extra'"),
    (_delete(("name",)), "", "missing field 'name'"),
    (_set(("name",), "two words"), "name", "a case name is 1 to 128 letters"),
    (_set(("rules",), "R01"), "rules", "rules must be a list"),
    (_set(("description",), "two\nlines"), "description", "the description must be one line"),
    (_set(("steps",), []), "steps", "steps must be a non-empty list"),
])
def test_json_rejections_name_source_path_and_problem(change, where, problem):
    obj = _json_of_every_op()
    change(obj)
    with pytest.raises(CaseError) as caught:
        case_from_json(obj, "bad.json")
    error = caught.value
    assert (error.source, error.where) == ("bad.json", where)
    assert problem in error.problem
    assert str(error) == (f"bad.json: {where}: {error.problem}" if where
                          else f"bad.json: {error.problem}")


def test_json_error_gives_the_line_in_pretty_printed_text():
    obj = _json_of_every_op()
    obj["steps"][38]["args"]["at"]["page"] = 300
    text = json.dumps(obj, indent=1)
    expected_line = next(number for number, line in enumerate(text.splitlines(), 1)
                         if '"page": 300' in line)
    with pytest.raises(CaseError) as caught:
        loads_case(text, "pretty.json")
    assert caught.value.where == f"steps[38].args.at.page (line {expected_line})"


@pytest.mark.parametrize("text, where, problem", [
    ('{"format": "sharespec-case", "version": 1, "steps": [', "line 1 column", "not JSON"),
    ("", "line 1 column 1", "not JSON"),
    ('{"format": "sharespec-case", "format": "x"}', "", "the key 'format' appears twice"),
    ('{"version": NaN}', "", "NaN is not a number a case can hold"),
    ("[1, 2]", "", "a case is a JSON object"),
    (dumps_case(every_op_case()) + " x", "line 1 column", "not JSON: Extra data"),
])
def test_json_text_rejections(text, where, problem):
    with pytest.raises(CaseError) as caught:
        loads_case(text, "in.jsonl")
    assert caught.value.source == "in.jsonl"
    assert caught.value.where.startswith(where)
    assert problem in caught.value.problem


# --- the program checks on their own ---------------------------------------------

def test_validate_program_accepts_steps_built_in_code():
    from sharespec.model.ops import Fork, Mmap, Write
    steps = [Step("T0", Mmap(shared=True, prot="rw", length=4096), "M0"),
             Step("T0", Fork(), "T1"),
             Step("T1", Write(Place("M0", 1, 2), 9))]
    validate_program(steps, "built")
    with pytest.raises(CaseError, match=r"^built: steps\[2\]\.args\.value: value must be in 0\.\.255"):
        validate_program(steps[:2] + [Step("T1", Write(Place("M0"), 300))], "built")
    with pytest.raises(CaseError, match=r"steps\[1\]\.args\.at\.page: .*not true"):
        validate_program(steps[:1] + [Step("T0", Write(Place("M0", True), 1))], "built")


def test_handle_names_are_identifiers():
    assert IDENTIFIER.match("M0") and not IDENTIFIER.match("0M") and not IDENTIFIER.match("M0\n")
    with pytest.raises(CaseError, match="bind"):
        obj = _json_of_every_op()
        obj["steps"][3]["bind"] = "M-0"
        case_from_json(obj)
