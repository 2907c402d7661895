"""The command line: exit statuses, bad input named precisely with nothing run or written,
``show``, ``run --case``, ``--json`` records."""
import json
import subprocess
import sys

import pytest

GOOD = """\
# Threads share one address space (R15).
case threads-share
profile linux
rules R15
origin handwritten

T0: M0 = mmap(anon, private, rw, 4096)   -> ok
T0: T1 = spawn()                         -> ok
T1: write(M0, 5)                         -> ok
T0: read(M0)                             -> 5
"""


def sharespec(*args, **kw):
    return subprocess.run([sys.executable, "-m", "sharespec", *args], capture_output=True,
                          text=True, timeout=300, **kw)


def test_no_command_is_usage_error():
    assert sharespec().returncode == 2


def test_unknown_profile_is_usage_error():
    r = sharespec("run", "--profile", "bsd", "--generated", "0")
    assert r.returncode == 2 and "unknown profile 'bsd'" in r.stderr


@pytest.mark.parametrize("body, where, problem", [
    (GOOD.replace("mmap(anon", "mmapp(anon"), "line 7", "unknown operation"),
    (GOOD.replace("T1: write(M0, 5)", "T1: write(M9, 5)"), "line 9", "M9"),
    (GOOD.replace("-> 5", "-> 6"), "step 4", "inconsistent"),
    (GOOD.replace("write(M0, 5)", "write(M0, 500)"), "line 9", "255"),
])
def test_bad_case_names_file_place_problem_and_runs_nothing(tmp_path, body, where, problem):
    bad = tmp_path / "bad.case"
    bad.write_text(body)
    out = tmp_path / "results.json"
    r = sharespec("run", "--case", str(bad), "--json", str(out))
    assert r.returncode == 2, r.stderr
    assert str(bad) in r.stderr and where in r.stderr and problem in r.stderr, r.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [bad]


def test_malformed_json_case(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "sharespec-case", "version": 1, "steps": [')
    r = sharespec("run", "--case", str(bad))
    assert r.returncode == 2 and str(bad) in r.stderr


def test_show_prints_expected_outcomes(tmp_path):
    f = tmp_path / "t.case"
    f.write_text(GOOD.replace(" -> ok", "").replace(" -> 5", ""))  # expectations left out
    r = sharespec("show", str(f))
    assert r.returncode == 0, r.stderr
    assert "-> 5" in r.stdout and "-> ok" in r.stdout


def test_run_case_passes_and_json_records(tmp_path):
    f = tmp_path / "t.case"
    f.write_text(GOOD)
    out = tmp_path / "r.jsonl"
    r = sharespec("run", "--case", str(f), "--json", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    records = [json.loads(l) for l in out.read_text().splitlines()]
    assert records[0]["environment"]["profile"] == "linux"
    assert records[1]["case"] == "threads-share" and records[1]["verdict"] == "PASS"
    assert records[-1]["summary"]["pass"] == 1 and records[-1]["complete"] is True
    assert "1 passed, 0 failed" in r.stdout


def test_failing_implementation_gives_exit_1(tmp_path):
    f = tmp_path / "t.case"
    f.write_text(GOOD)
    liar = tmp_path / "liar.py"
    liar.write_text(
        "import json, sys\n"
        "for line in sys.stdin:\n"
        "    case = json.loads(line)\n"
        "    res = ['ok'] * len(case['steps']); res[-1] = '0'\n"
        "    print(json.dumps({'format': 'sharespec-observation', 'version': 1, 'case': case['name'],"
        " 'status': 'done', 'results': res, 'detail': ''}), flush=True)\n")
    r = sharespec("run", "--case", str(f), "--impl", f"{sys.executable} {liar}",
                  "--out", str(tmp_path / "failures"))
    assert r.returncode == 1
    assert "FAIL" in r.stdout and "step 4: observed 0, allowed 5" in r.stdout


def test_protocol_error_is_error_not_fail(tmp_path):
    f = tmp_path / "t.case"
    f.write_text(GOOD)
    junk = tmp_path / "junk.py"
    junk.write_text("import sys\nfor line in sys.stdin:\n    print('hello', flush=True)\n")
    r = sharespec("run", "--case", str(f), "--impl", f"{sys.executable} {junk}")
    assert r.returncode == 1
    assert "ERROR" in r.stdout and "not JSON" in r.stdout and "hello" in r.stdout


def test_an_impl_folder_in_the_current_folder_does_not_replace_the_bundled_implementation(tmp_path):
    # python -m puts the current folder first on the import path unless -P (runner.py)
    if sys.version_info < (3, 11):
        pytest.skip("-P needs Python 3.11")
    (tmp_path / "impl").mkdir()
    (tmp_path / "impl" / "__init__.py").write_text("")
    (tmp_path / "impl" / "__main__.py").write_text("raise SystemExit('an impostor ran')\n")
    (tmp_path / "good.case").write_text(GOOD)
    r = sharespec("run", "--case", "good.case", "--no-shrink", cwd=tmp_path)
    assert r.returncode == 0 and "1 passed" in r.stdout, r.stdout + r.stderr


def test_a_range_crossing_a_slot_is_refused_with_exit_2(tmp_path):
    """Slots need not be adjacent (docs/case-format.md): munmap(M0[255], 8192) would reach
    into whatever lies past M0's slot, so the case is refused (exit 2, file, line, problem)
    rather than judged as if M1's slot followed M0's."""
    import subprocess
    import sys
    path = tmp_path / "cross.case"
    path.write_text("case cross\nprofile linux\nrules R32\norigin handwritten\n\n"
                    "T0: M0 = mmap(anon, private, rw, 4096)\nT0: M1 = mmap(anon, private, rw, 4096)\n"
                    "T0: munmap(M0[255], 8192)\nT0: read(M1)\n")
    done = subprocess.run([sys.executable, "-m", "sharespec", "show", str(path)],
                          capture_output=True, text=True)
    assert done.returncode == 2 and done.stdout == ""
    assert f"{path}: line 8: the munmap range runs past the end of its slot" in done.stderr
