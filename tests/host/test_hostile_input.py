"""Hostile input: every input gets a clear error or a valid case, never a traceback or a hang.

Fuzzed with Hypothesis (a few hundred inputs here; 10,000 in benchmarks/fuzz_parsers.py):
- the case readers of the model side (JSON, text, and case files as the CLI reads them):
  a Case, or CaseError naming the source;
- the implementation's reader of what it is sent (impl/protocol.py): a plan, or CaseError;
  and its command line, which answers every line with one whole observation line;
- the runner's reader of what an implementation sends (judge_observation, and the line
  reader of ImplementationProcess): a verdict, never an exception.
The inputs: random text and bytes, valid cases mutated (a value replaced by any JSON value,
fields dropped or added, truncated), deep nesting and huge numbers."""
import json
import os
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sharespec.casefiles import read_case_file
from sharespec.impl import protocol
from sharespec.model.case import Case, CaseError
from sharespec.model.case_json import case_to_json, loads_case
from sharespec.model.case_text import case_from_text, case_to_text
from sharespec.runner import VERDICTS, judge_observation, run_cases
from sharespec.suite import builtin_cases

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = [c for c in builtin_cases() if len(c.steps) <= 10][:12]
FUZZ = settings(max_examples=120, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2 ** 130, max_value=2 ** 130)
    | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=16)


def paths_of(obj, path=()):
    """Every place in a JSON tree, as a path of keys and indexes."""
    yield path
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from paths_of(value, path + (key,))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            yield from paths_of(value, path + (index,))


def replaced(obj, path, value):
    if not path:
        return value
    copy = dict(obj) if isinstance(obj, dict) else list(obj)
    copy[path[0]] = replaced(obj[path[0]], path[1:], value)
    return copy


def dropped(obj, path):
    if len(path) == 1:
        copy = dict(obj) if isinstance(obj, dict) else list(obj)
        del copy[path[0]]
        return copy
    copy = dict(obj) if isinstance(obj, dict) else list(obj)
    copy[path[0]] = dropped(obj[path[0]], path[1:])
    return copy


@st.composite
def mutated_case_json(draw):
    """A valid case as JSON, then one to three mutations."""
    obj = case_to_json(draw(st.sampled_from(SAMPLES)))
    nesting = None
    for _ in range(draw(st.integers(1, 3))):
        places = list(paths_of(obj))
        path = draw(st.sampled_from(places))
        how = draw(st.sampled_from(["replace", "drop", "add", "nest"]))
        if how == "replace":
            obj = replaced(obj, path, draw(json_values))
        elif how == "drop" and path:
            obj = dropped(obj, path)
        elif how == "add":
            target = obj
            for part in path:
                target = target[part]
            if isinstance(target, dict):
                obj = replaced(obj, path, dict(target, **{draw(st.text(max_size=6)): draw(json_values)}))
        elif how == "nest" and path and nesting is None:
            nesting = draw(st.sampled_from([2, 50, 5000, 100000]))    # spliced in as text
            obj = replaced(obj, path, "NESTED-HERE")
    text = json.dumps(obj)
    if nesting is not None:
        text = text.replace('"NESTED-HERE"', "[" * nesting + "1" + "]" * nesting, 1)
    if draw(st.booleans()):
        text = text[:draw(st.integers(0, len(text)))]        # truncated
    return text


hostile_json_text = st.one_of(
    mutated_case_json(),
    st.text(max_size=200),
    st.sampled_from(["[" * 100000, '{"a":' * 100000, "1" * 5000, "-" + "9" * 4400, "1e999999",
                     "NaN", "Infinity", '{"format": "sharespec-case", "version": 1e400}',
                     '{"steps": [' + "{}," * 10000 + "{}]}", "\ufeff{}", "\x00", ""]),
)


@st.composite
def mutated_case_text(draw):
    lines = case_to_text(draw(st.sampled_from(SAMPLES))).splitlines()
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(lines)))
        how = draw(st.sampled_from(["delete", "duplicate", "garble", "insert", "truncate"]))
        if how == "delete" and index < len(lines):
            del lines[index]
        elif how == "duplicate" and index < len(lines):
            lines.insert(index, lines[index])
        elif how == "garble" and index < len(lines):
            line = lines[index]
            at = draw(st.integers(0, len(line)))
            lines[index] = line[:at] + draw(st.text(max_size=8)) + line[at + 1:]
        elif how == "insert":
            lines.insert(index, draw(st.text(max_size=60)))
        elif how == "truncate":
            lines = lines[:index]
    text = "\n".join(lines)
    if draw(st.booleans()):
        text = text[:draw(st.integers(0, len(text)))]
    return text


hostile_text = st.one_of(
    mutated_case_text(), st.text(max_size=300),
    st.sampled_from(["case x\nprofile linux\nT0: read(" * 2000, "case " + "x" * 100000,
                     "T0: M0 = mmap(anon, shared, rw, " + "9" * 5000 + ")",
                     "case x\nprofile linux\nrules R01\norigin handwritten\n\nT0: S0 = shmget("
                     + "(" * 10000, "\x00\x01\x02"]))


def readable_or_clear_error(read, text):
    try:
        result = read(text)
    except CaseError as error:
        assert error.source == "<fuzz>" and str(error).startswith("<fuzz>") and error.problem
        return None
    assert isinstance(result, Case)
    return result


@FUZZ
@given(hostile_json_text)
def test_json_reader_gives_a_case_or_a_clear_error(text):
    readable_or_clear_error(lambda t: loads_case(t, "<fuzz>"), text)


@FUZZ
@given(hostile_text)
def test_text_reader_gives_a_case_or_a_clear_error(text):
    readable_or_clear_error(lambda t: case_from_text(t, "<fuzz>"), text)


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(st.one_of(hostile_json_text.map(lambda t: (".json", t.encode("utf-8", "surrogatepass"))),
                 hostile_text.map(lambda t: (".case", t.encode("utf-8", "surrogatepass"))),
                 st.binary(max_size=200).map(lambda b: (".case", b)),
                 hostile_json_text.map(lambda t: (".jsonl", (t + "\n" + t).encode("utf-8",
                                                                                "surrogatepass")))))
def test_case_files_give_cases_or_an_error_naming_the_file(tmp_path_factory, suffixed):
    suffix, data = suffixed
    path = tmp_path_factory.mktemp("fuzz") / ("hostile" + suffix)
    path.write_bytes(data)
    try:
        cases = read_case_file(path)
    except CaseError as error:
        assert error.source == str(path) and error.problem
        return
    assert all(isinstance(c, Case) for c in cases)


# --- the implementation's reader of what it is sent ---------------------------------------------

@FUZZ
@given(st.one_of(hostile_json_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
                 st.binary(max_size=300)))
def test_impl_reads_a_plan_or_a_clear_error(line):
    try:
        case = protocol.parse_line(line)
        plan = protocol.parse_case(case)
    except protocol.CaseError as error:
        assert str(error)
        return
    assert isinstance(plan, protocol.Plan)


HOSTILE_LINES = [b"[" * 100000, b'{"a":' * 100000, b"1" * 5000, b"\xff\xfe\x00garbage",
                 b'{"format": "sharespec-case", "version": 1, "steps": 5}',
                 b'{"format": "sharespec-case", "version": 1, "steps": [{"thread": "T0", '
                 b'"op": "mmap", "bind": "M0", "args": {"prot": "rw", "length": 1e400}}]}',
                 b'{"format": "sharespec-case", "version": true, "steps": []}',
                 b"[]", b"null", b'"a string"', b"{" + b'"k": 1, ' * 20000 + b'"k": 2}']


def test_impl_command_line_answers_every_hostile_line_with_one_whole_observation():
    """A line at a time, whatever it is: one observation line (status error and why), no
    traceback, and a last line cut short (no newline before end of input) is answered too."""
    text = b"\n".join(HOSTILE_LINES) + b"\n" + b'{"format": "sharespec-case", "vers'
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-S", "-m", "impl", "--timeout", "5"], input=text,
                          env=env, capture_output=True, timeout=60)
    assert done.returncode == 0 and done.stderr == b"", done.stderr[-2000:]
    assert done.stdout.endswith(b"\n")
    lines = done.stdout.decode().splitlines()
    assert len(lines) == len(HOSTILE_LINES) + 1
    for line in lines:
        observation = json.loads(line)
        assert observation["status"] == "error" and observation["detail"], observation
        assert observation["format"] == "sharespec-observation" and observation["results"] == []


# --- the runner's reader of what an implementation sends ----------------------------------------

observation_like = st.fixed_dictionaries(
    {}, optional={"format": st.sampled_from(["sharespec-observation", "x"]) | json_values,
                  "version": st.sampled_from([1, 2, True, "1"]) | json_values,
                  "case": st.text(max_size=10) | json_values,
                  "status": st.sampled_from(["done", "timeout", "error", "?"]) | json_values,
                  "results": st.lists(st.sampled_from(["ok", "new", "7", "SIGSEGV", "EINVAL",
                                                       "=S0", "stat(nattch=1,segsz=4096,dest=0,key=private)",
                                                       "dead", "eof", "", "SIGKILL", "E999"])
                                      | st.text(max_size=12), max_size=14) | json_values,
                  "detail": json_values})


@FUZZ
@given(st.sampled_from(SAMPLES), observation_like)
def test_runner_judges_any_observation_without_an_exception(case, observation):
    result = judge_observation(case, observation, "linux", 0.0)
    assert result.verdict in VERDICTS
    if result.verdict in ("ERROR", "INCONCLUSIVE", "FAIL"):
        assert result.detail


def test_runner_reports_an_implementation_that_sends_garbage_as_error(tmp_path):
    """An implementation answering with garbage (not JSON, deep nesting, not UTF-8, an
    observation for another case, a huge line, a last line without its newline): each case
    is an ERROR that shows what was received, and the run goes on."""
    answers = [b"not json", b"[" * 100000, b"\xff\xfe", b"1" * 5000, b"[1, 2]",
               json.dumps({"format": "sharespec-observation", "version": 1, "case": "other",
                           "status": "done", "results": [], "detail": ""}).encode(),
               b'{"format": "sharespec-observation", "results": ' + b"[" * 3000, b"x" * 1000000,
               b'{"format": "sharespec-observation", "version": 1, "st']
    script = tmp_path / "garbage.py"
    (tmp_path / "answers").write_bytes(b"\n".join(answers[:-1]) + b"\n")
    script.write_text(
        "import sys\n"
        f"lines = open({str(tmp_path / 'answers')!r}, 'rb').read().split(b'\\n')[:-1]\n"
        f"last = {answers[-1]!r}\n"
        "for line in lines:\n"
        "    sys.stdin.buffer.readline(); sys.stdout.buffer.write(line + b'\\n'); sys.stdout.flush()\n"
        "sys.stdin.buffer.readline(); sys.stdout.buffer.write(last); sys.stdout.flush()\n")
    cases = (SAMPLES * 2)[:len(answers)]
    results = list(run_cases(cases, impl=f"{sys.executable} -S {script}", timeout=5))
    assert [r.verdict for r in results] == ["ERROR"] * len(answers), [(r.verdict, r.detail[:80]) for r in results]
    assert all(r.detail and "internal error" not in r.detail for r in results)
    assert "closed its output after sending" in results[-1].detail
