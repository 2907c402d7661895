"""The conformance kit, with a deliberately broken external implementation (the toy of
docs/protocol.md): FAIL, a shrunk counterexample and a diagnosis; protocol errors stay errors."""
import re
import sys
from pathlib import Path

import pytest

from sharespec.kit import ConformanceError, check_implementation
from sharespec.suite import builtin_cases

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
CASES = {c.name: c for c in builtin_cases()}


@pytest.fixture
def toy(tmp_path):
    """The toy implementation exactly as docs/protocol.md prints it."""
    source = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    assert 20 < len(source.splitlines()) < 60
    path = tmp_path / "toy.py"
    path.write_text(source)
    return f"{sys.executable} -S {path}"


def test_a_broken_external_implementation_fails_with_a_shrunk_case_and_a_diagnosis(toy):
    with pytest.raises(ConformanceError) as caught:
        check_implementation(toy, corpus=[CASES["r41-wipeonfork"], CASES["r10-shared-anon-fork"]])
    report = caught.value.report
    assert [r.verdict for r in report.results] == ["FAIL", "PASS"]
    small, small_result = report.shrunk["r41-wipeonfork"]
    assert small_result.verdict == "FAIL" and len(small.steps) < len(CASES["r41-wipeonfork"].steps)
    assert len(small.steps) <= 6
    assert report.diagnosis.names == ("wipeonfork-ignored",)
    text = str(caught.value)
    assert "FAIL r41-wipeonfork" in text and "shrunk counterexample" in text
    assert "behaves like wipeonfork-ignored" in text


def test_the_bundled_implementation_passes(tmp_path):
    report = check_implementation(None, corpus=[CASES["r10-shared-anon-fork"], CASES["r17-rmid-deferred"]])
    assert report.count("PASS") == 2 and report.ok()


def test_garbage_output_is_a_protocol_error_not_a_pass_or_a_fail(tmp_path):
    script = tmp_path / "garbage.py"
    script.write_text("import sys\nfor line in sys.stdin:\n    print('hello', flush=True)\n")
    with pytest.raises(ConformanceError) as caught:
        check_implementation(f"{sys.executable} -S {script}", corpus=[CASES["r10-shared-anon-fork"]])
    (result,) = caught.value.report.results
    assert result.verdict == "ERROR" and "b'hello'" in result.detail
    assert "ERROR r10-shared-anon-fork" in str(caught.value)


def test_a_factory_runs_in_process():
    def factory():
        def run(case):
            return {"format": "sharespec-observation", "version": 1, "case": case["name"],
                    "status": "done", "results": ["ok"] * len(case["steps"]), "detail": ""}
        return run
    with pytest.raises(ConformanceError) as caught:
        check_implementation(factory, corpus=[CASES["r10-shared-anon-fork"]], shrink=False)
    assert caught.value.report.results[0].verdict == "FAIL"
