"""Hostile input at the command line (issue 13, "Unbreakable"; issue 12 item 8): every defect the
outside campaign found, kept fixed. Each is a clear error, exit status 2, naming the file and
the problem, with nothing run and nothing written outside the folders meant for it; or, for
what an implementation sends, a verdict and a run that goes on. Reading back every folder
sharespec writes (failures, corpora, results files) is here too (issue 12 item 6).

Commands that could hang run in a subprocess with a timeout, so a regression fails the test
instead of stopping the suite."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from sharespec.casefiles import MAX_CASE_BYTES, read_case_paths
from sharespec.cli import main as cli
from sharespec.model.case import CaseError
from sharespec.model.case_json import case_to_json, dumps_case
from sharespec.model.case_text import case_from_text, case_to_text
from sharespec.model.validate import MAX_CASE_PAGES, file_stem
from sharespec.runner import CaseResult, ImplementationProcess, judge_observation, run_cases
from sharespec.suite import builtin_cases

CASES = Path(__file__).resolve().parents[2] / "sharespec" / "cases"
ANON = CASES / "r02-anon-zero.case"
SHARESPEC = [sys.executable, "-m", "sharespec"]
ANON_RESULTS = ("ok", "ok", "0", "0", "0", "ok", "0", "0")     # r02-anon-zero on any good system


def sharespec(*args, timeout=120, **kw):
    """Run the command line in a subprocess (a hang fails the test after ``timeout`` s)."""
    return subprocess.run(SHARESPEC + [str(a) for a in args], capture_output=True, text=True,
                          timeout=timeout, **kw)


def one_error_line(result) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def anon_case(**changes):
    return replace(case_from_text(ANON.read_text()), **changes)


def written(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- A. a case name is a safe file name ------------------------------------------------

@pytest.mark.parametrize("name", ["../../escaped-rel", "/tmp/x/abs/escaped-abs", ".hidden", "-x",
                                  "a/b", "x" * 129])
def test_a_case_name_that_is_not_a_file_name_is_refused(tmp_path, capsys, name):
    json_case = case_to_json(anon_case()) | {"name": name}
    path = written(tmp_path, "c.json", json.dumps(json_case))
    assert cli(["show", str(path)]) == 2
    assert "a case name is 1 to 128 letters" in capsys.readouterr().err
    if " " not in name and "#" not in name:
        text = case_to_text(anon_case()).replace("case r02-anon-zero", f"case {name}")
        assert cli(["show", str(written(tmp_path, "c.case", text))]) == 2
        assert "c.case: line 2: a case name" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["../../escaped-rel", "/tmp/x/abs/escaped-abs"])
def test_the_failure_writers_never_leave_their_folder(tmp_path, name):
    """Defence in depth: a Case object made in code (never validated) still writes its files
    inside the failures folder, under an escaped name."""
    from sharespec.generators.reproducer import write_failure
    from sharespec.pictures import write_failure_pictures
    case = anon_case(name=name)
    observed = tuple(str(min(map(str, a))) for a in case.allowed)
    result = CaseResult(case, "FAIL", "made up", step=0, results=observed)
    out = tmp_path / "a" / "b" / "failures"
    paths = write_failure(case, result, out)
    paths |= write_failure_pictures(case, result, paths["folder"])   # as failures.py does
    folder = out / file_stem(name)
    assert paths["folder"] == folder and len(paths) >= 7
    files = {Path(p) for p in paths.values()} - {folder}
    assert all(p.parent == folder for p in files)
    assert {p for p in tmp_path.rglob("*") if p.is_file()} == files


# --- B. what used to hang ----------------------------------------------------------------

@pytest.mark.parametrize("impl, problem", [
    ('"x', "not a command line (No closing quotation)"),
    ("\\", "not a command line"),
    ("", "an empty command"),
    ("./my-harness", "./my-harness: no such program"),
    ("no-such-program-sharespec", "no such program on PATH"),
])
def test_a_bad_impl_is_one_usage_error_before_anything_runs(tmp_path, impl, problem):
    result = sharespec("run", "-j", 1, "--case", ANON, "--impl", impl, "--no-shrink",
                       timeout=60, cwd=tmp_path)
    assert problem in one_error_line(result)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("command", [["show"], ["run", "--case"], ["explain", "--out", "x.dot"]])
def test_a_fifo_or_a_device_is_refused_not_read(tmp_path, command):
    fifo = tmp_path / "f.case"
    os.mkfifo(fifo)
    for path in (fifo, "/dev/zero", "/dev/urandom"):
        result = sharespec(*command, path, timeout=60, cwd=tmp_path)
        assert "not a regular file" in one_error_line(result)


def test_jobs_are_capped_by_the_cpus():
    result = sharespec("run", "-j", "99999999999999999999", "--case", ANON, timeout=60)
    assert "--jobs must be in 1.." in one_error_line(result)


def test_the_pages_a_case_maps_are_capped(capsys, tmp_path):
    huge = written(tmp_path, "huge.case", "case huge\nprofile linux\n"
                                          "T0: M0 = mmap(anon, shared, rw, 1099511627776)\n")
    assert cli(["show", str(huge)]) == 2
    # one mapping is at most a slot (256 pages): the slot check refuses it first
    assert "huge.case: line 3: the mapping runs past the end of its slot" in capsys.readouterr().err
    at_cap = ("case cap\nprofile linux\nT0: S0 = shmget(private, %d, creat)\n"
              "T0: M0 = shmat(S0)\n" % (MAX_CASE_PAGES * 4096))
    assert case_from_text(at_cap).name == "cap"
    with pytest.raises(CaseError, match=f"line 5: the case maps {MAX_CASE_PAGES + 1} pages"):
        case_from_text(at_cap + "T0: M1 = mmap(anon, shared, rw, 4096)\n")


NOISY = r"""
import json, sys
sys.stderr.write("x" * 200000 + "\n"); sys.stderr.flush()
for line in sys.stdin:
    case = json.loads(line)
    sys.stderr.write("y" * 100000 + "\nlast words\n"); sys.stderr.flush()
    print(json.dumps({"format": "sharespec-observation", "version": 1, "case": case["name"],
                      "status": "error", "results": [], "detail": "noisy \ud800"}), flush=True)
    if case["name"] == "die":
        sys.exit(3)
"""


def test_an_implementation_writing_much_to_stderr_is_not_silent(tmp_path):
    script = written(tmp_path, "noisy.py", NOISY)
    cases = [anon_case(name=f"c{i}") for i in range(3)]
    results = list(run_cases(cases, impl=f"{sys.executable} {script}", timeout=5))
    # error status: INCONCLUSIVE, never "silence" (ERROR); the lone surrogate is printable
    assert [r.verdict for r in results] == ["INCONCLUSIVE"] * 3
    assert all("noisy \ufffd" in r.detail for r in results)
    from sharespec.report import describe
    for r in results:
        describe(r).encode("utf-8")


def test_the_last_stderr_lines_are_kept_when_an_implementation_dies(tmp_path):
    script = written(tmp_path, "noisy.py", NOISY.replace('"error"', '"done"')
                     .replace('"results": []', '"results": ["ok"]'))
    impl = ImplementationProcess(f"{sys.executable} {script}", 5)
    try:
        assert impl.exchange(json.dumps({"name": "die"}))[0] is not None
        obs, problem = impl.exchange(json.dumps({"name": "next"}))
    finally:
        impl.stop()
    assert obs is None and "exit status 3" in problem and "last words" in problem


def test_an_observation_line_beyond_the_cap_is_an_error_saying_so(tmp_path):
    script = written(tmp_path, "long.py", "import sys\nsys.stdin.readline()\n"
                                          "sys.stdout.write('[' * (17 * 2 ** 20)); sys.stdout.flush()\n"
                                          "sys.stdin.readline()\n")
    (result,) = run_cases([anon_case()], impl=f"{sys.executable} {script}", timeout=5)
    assert result.verdict == "ERROR" and "longer than 16 MiB" in result.detail


def test_a_long_observation_line_within_the_cap_is_read(tmp_path):
    script = written(tmp_path, "pad.py", "import json, sys\nfor line in sys.stdin:\n"
                     "    print(json.dumps({'format': 'sharespec-observation', 'version': 1, "
                     f"'status': 'done', 'results': {list(ANON_RESULTS)!r}, "
                     "'detail': 'p' * (8 * 2 ** 20)}), flush=True)\n")
    case = anon_case()
    (result,) = run_cases([case], impl=f"{sys.executable} {script}", timeout=5)
    assert result.verdict != "ERROR", result.detail


# --- C. tracebacks that are now errors ---------------------------------------------------

def test_an_unknown_profile_is_a_case_error(tmp_path, capsys):
    path = written(tmp_path, "w.case", "case w\nprofile windows\nT0: T1 = fork()\n")
    assert cli(["show", str(path)]) == 2
    assert "w.case: line 2: unknown profile 'windows'" in capsys.readouterr().err


def test_a_lone_surrogate_in_a_case_is_refused(tmp_path, capsys):
    for field in ("name", "description", "origin"):
        obj = case_to_json(anon_case()) | {field: "a\ud800"}
        path = written(tmp_path, "s.json", json.dumps(obj))
        assert cli(["show", str(path)]) == 2
        err = capsys.readouterr().err
        assert f"s.json: {field}: " in err and ("lone surrogate" in err or "case name" in err)


def test_numbers_of_thousands_of_digits(tmp_path, capsys):
    path = written(tmp_path, "big.case", "case big\nprofile linux\n"
                                         f"T0: M0 = mmap(anon, shared, rw, {'9' * 5000})\n")
    assert cli(["show", str(path)]) == 2
    assert "big.case: line 3: mmap length: a number of 5000 digits" in capsys.readouterr().err
    path = written(tmp_path, "big.json", dumps_case(anon_case()).replace("8192", "9" * 5000, 1))
    assert cli(["show", str(path)]) == 2
    assert "big.json" in capsys.readouterr().err


def _results_file(tmp_path) -> Path:
    out = tmp_path / "part.jsonl"
    assert cli(["run", "--case", str(ANON), "--json", str(out), "-q", "--no-shrink"]) == 0
    return out


@pytest.mark.parametrize("change, problem", [
    (lambda r: r[1].update(rules=5), '"rules" must be a list of rule ids'),
    (lambda r: r[1].update(rules=[[1]]), '"rules" must be a list of rule ids'),
    (lambda r: r[0].update(environment=[]), "the first record must be the environment"),
    (lambda r: r[-1].update(summary=5), "no closing summary"),
    (lambda r: r[1].update(verdict="BOGUS"), "unknown verdict 'BOGUS'"),
    (lambda r: r[1].update(detail=7), '"detail" must be a string'),
    (lambda r: r[0]["environment"].update(kernel="\ud800"), "lone surrogate"),
    (lambda r: r[0]["environment"]["selection"].update(cases="1"), "must be a number of cases"),
])
def test_merge_refuses_parts_of_the_wrong_shape(tmp_path, capsys, change, problem):
    part = _results_file(tmp_path)
    records = [json.loads(line) for line in part.read_text().splitlines()]
    change(records)
    part.write_text("".join(json.dumps(r) + "\n" for r in records))
    capsys.readouterr()
    assert cli(["merge", str(part)]) == 2
    assert problem in capsys.readouterr().err


def test_merge_refuses_a_number_of_thousands_of_digits(tmp_path, capsys):
    part = _results_file(tmp_path)
    part.write_text(part.read_text().replace('"seconds": ', f'"x": {"9" * 5000}, "seconds": ', 1))
    capsys.readouterr()
    assert cli(["merge", str(part)]) == 2
    assert "line 2: not JSON: Exceeds the limit" in capsys.readouterr().err


def test_merge_refuses_a_record_nested_too_deeply(tmp_path, capsys):
    """merge reads JSON as every input file is read (casefiles.json_value): the file, the line
    and what the line should have been."""
    part = _results_file(tmp_path)
    lines = part.read_text().splitlines()
    part.write_text("\n".join([lines[0], "[" * 100000 + "]" * 100000] + lines[1:]) + "\n")
    capsys.readouterr()
    assert cli(["merge", str(part)]) == 2
    assert f"{part}: line 2: not a results record: JSON nested too deeply" in capsys.readouterr().err


def _corpus(tmp_path) -> Path:
    corpus = tmp_path / "corpus"
    assert cli(["generate", "--count", "3", "--bound", "3", "--out", str(corpus)]) == 0
    return corpus


def test_a_manifest_naming_an_impossible_file_or_nested_deep(tmp_path, capsys):
    corpus = _corpus(tmp_path)
    manifest = json.loads((corpus / "manifest.json").read_text())
    manifest["cases"][0]["file"] = "cases/" + "n" * 300 + ".case"
    (corpus / "manifest.json").write_text(json.dumps(manifest))
    capsys.readouterr()
    assert cli(["run", "--corpus", str(corpus)]) == 2
    err = capsys.readouterr().err
    assert "manifest.json: case 1: lists a file it cannot read" in err and "too long" in err
    (corpus / "manifest.json").write_text("[" * 1000 + "]" * 1000)
    assert cli(["run", "--case", str(corpus)]) == 2
    assert "manifest.json: not a manifest: JSON nested too deeply" in capsys.readouterr().err


@pytest.mark.parametrize("json_out, problem", [("/nonexistent/x", "no such folder /nonexistent"),
                                               (".", "is a folder"),
                                               ("fifo", "not a regular file")])
def test_the_json_output_is_checked_before_running(tmp_path, capsys, json_out, problem):
    # Never a device here: a regression would rename the results onto it (as root, /dev/null
    # would become a regular file). A FIFO of this test's own is the same case, harmlessly.
    os.chdir(tmp_path)
    if json_out == "fifo":
        os.mkfifo("fifo")
    assert cli(["run", "--case", str(ANON), "--json", json_out]) == 2
    captured = capsys.readouterr()
    assert problem in captured.err and "PASS" not in captured.out
    assert [p.name for p in tmp_path.iterdir()] == (["fifo"] if json_out == "fifo" else [])


@pytest.mark.parametrize("timeout", ["inf", "nan", "-1", "0"])
def test_the_timeout_must_be_a_finite_positive_number(capsys, timeout):
    assert cli(["run", "--case", str(ANON), "--timeout", timeout]) == 2
    assert "--timeout must be a number of seconds" in capsys.readouterr().err


def test_a_huge_file_is_refused_without_being_read(tmp_path, capsys):
    big = tmp_path / "big.jsonl"
    with open(big, "wb") as f:           # sparse: 1 GB that takes no room
        f.truncate(2 ** 30)
    assert cli(["run", "--case", str(big)]) == 2
    assert "larger than 64 MiB" in capsys.readouterr().err
    line = tmp_path / "line.case"
    line.write_text("#" * (MAX_CASE_BYTES + 1))
    assert cli(["show", str(line)]) == 2
    assert "larger than 1 MiB" in capsys.readouterr().err


def test_too_few_file_descriptors_is_a_usage_error():
    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (12, 12))
    result = sharespec("run", "-j", 2, "--case", ANON, timeout=60, preexec_fn=limit)
    assert "too few file descriptors: the limit is 12" in one_error_line(result)


def test_a_raw_line_separator_in_json_lines_is_json(tmp_path):
    case = anon_case(description="one\u2028two\u2029three\x85four")
    path = tmp_path / "u.jsonl"
    path.write_text(json.dumps(case_to_json(case), ensure_ascii=False) + "\n", encoding="utf-8")
    (read,) = read_case_paths([path])
    assert read.description == case.description
    assert case_from_text(case_to_text(read)) == replace(read, allowed=read.allowed)


def test_an_unreadable_subfolder_is_an_error_not_skipped(tmp_path, monkeypatch, capsys):
    (tmp_path / "cases" / "locked").mkdir(parents=True)
    (tmp_path / "cases" / "a.case").write_text(ANON.read_text())
    real = os.scandir

    def scandir(path="."):
        if str(path).endswith("locked"):      # what chmod 000 does to a user other than root
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)
    monkeypatch.setattr(os, "scandir", scandir)
    assert cli(["run", "--case", str(tmp_path / "cases")]) == 2
    assert "locked: cannot read this folder: Permission denied" in capsys.readouterr().err


@pytest.mark.parametrize("version", [True, 1.0])
def test_only_the_integer_version_1_is_an_observation(version):
    case = anon_case()
    obs = {"format": "sharespec-observation", "version": version, "status": "done",
           "results": list(ANON_RESULTS)}
    assert judge_observation(case, obs, "linux", 0.0).verdict == "ERROR"
    assert judge_observation(case, obs | {"version": 1}, "linux", 0.0).verdict == "PASS"


# --- D. reading back what sharespec writes --------------------------------------------

def test_a_failures_folder_is_read_back_once_per_case(tmp_path, capsys):
    from sharespec.generators.reproducer import write_failure
    from sharespec.pictures import write_failure_pictures
    out = tmp_path / "sharespec-failures"
    cases = [c for c in builtin_cases() if len(c.steps) <= 6][:2]
    for case in cases:
        observed = tuple(str(min(map(str, a))) for a in case.allowed)
        result = CaseResult(case, "FAIL", "made up", step=0, results=observed)
        paths = write_failure(case, result, out)          # NAME/: NAME.case, NAME.json, ...
        write_failure_pictures(case, result, paths["folder"])
    assert {p.suffix for p in out.rglob("*")} >= {".case", ".json", ".txt", ".sh", ".py", ".dot"}
    assert sorted(c.name for c in read_case_paths([out])) == sorted(c.name for c in cases)
    assert cli(["run", "--case", str(out), "--no-shrink"]) == 0
    assert "2 passed" in capsys.readouterr().out


def test_a_corpus_folder_is_a_case_source_everywhere(tmp_path, capsys):
    from sharespec.corpus import read_corpus
    from sharespec.kit import load_corpus
    corpus = _corpus(tmp_path)
    want = [c.name for c in read_corpus(corpus).cases]
    assert [c.name for c in read_case_paths([corpus])] == want
    assert [c.name for c in load_corpus(str(corpus), "linux")] == want   # --sharespec-corpus
    (tmp_path / "more").mkdir()
    os.rename(corpus, tmp_path / "more" / "corpus")     # a corpus inside a folder
    assert [c.name for c in read_case_paths([tmp_path / "more"])] == want
    capsys.readouterr()
    assert cli(["run", "--case", str(tmp_path / "more"), "--no-shrink", "-q"]) == 0


def test_a_results_file_is_a_case_source(tmp_path, capsys):
    part = _results_file(tmp_path)
    (case,) = read_case_paths([part])
    assert case == case_from_text(ANON.read_text(), "x") or case.name == "r02-anon-zero"
    again = tmp_path / "again.json"
    assert cli(["run", "--case", str(part), "--json", str(again), "--no-shrink"]) == 0
    assert [c.name for c in read_case_paths([again])] == ["r02-anon-zero"]
    old = [json.loads(line) for line in part.read_text().splitlines()]
    del old[1]["program"]             # as written before records carried their case
    part.write_text("".join(json.dumps(r) + "\n" for r in old))
    capsys.readouterr()
    assert cli(["run", "--case", str(part)]) == 2
    assert "line 2: this results file names its cases but does not hold them" in \
        capsys.readouterr().err


def test_shrink_and_show_take_a_built_in_case_name(capsys, tmp_path):
    assert cli(["show", "r02-anon-zero"]) == 0
    assert "case r02-anon-zero" in capsys.readouterr().out
    assert cli(["shrink", "r02-anon-zero", "--out", str(tmp_path / "f")]) == 0
    assert "r02-anon-zero: PASS, nothing to shrink" in capsys.readouterr().out
    assert cli(["shrink", "no-such-case-anywhere"]) == 2


def test_explain_never_renames_a_picture_onto_a_fifo(tmp_path, capsys):
    os.mkfifo(tmp_path / "x.dot")     # a device would be the same, and worse (as root)
    assert cli(["explain", str(ANON), "--out", str(tmp_path / "x.dot")]) == 2
    assert "not a regular file" in capsys.readouterr().err
    assert (tmp_path / "x.dot").is_fifo()
