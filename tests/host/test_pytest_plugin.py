"""The pytest plugin: inactive unless asked; cases as items with readable ids; JUnit XML."""
import shutil
from pathlib import Path

pytest_plugins = ["pytester"]

CASES = Path(__file__).resolve().parents[2] / "sharespec" / "cases"


def corpus(pytester):
    folder = pytester.path / "corpus"
    folder.mkdir()
    for name in ("r41-wipeonfork", "r10-shared-anon-fork"):
        shutil.copy(CASES / f"{name}.case", folder)
    return folder


def test_inactive_without_its_options(pytester):
    pytester.makepyfile("def test_one(): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "sharespec[" not in result.stdout.str()


def test_options_have_their_own_group(pytester):
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*sharespec conformance*", "*--sharespec-impl=COMMAND*",
                                 "*--sharespec-corpus=PATH*", "*--sharespec-profile=NAME*"])


def test_a_mutant_fails_its_case_with_a_readable_id_and_junit_xml(pytester):
    folder = corpus(pytester)
    xml = pytester.path / "report.xml"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-v", "--sharespec-impl", "mutant:wipeonfork-ignored",
        "--sharespec-corpus", str(folder), f"--junitxml={xml}")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*sharespec?R10:r10-shared-anon-fork? PASSED*",
                                 "*sharespec?R41:r41-wipeonfork? FAILED*",
                                 "*step 6: observed 5, allowed 0*"])
    text = xml.read_text()
    assert 'name="sharespec[R41:r41-wipeonfork]"' in text and "<failure" in text


def test_the_bundled_implementation_passes(pytester):
    folder = corpus(pytester)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--sharespec-impl", "bundled",
                                           "--sharespec-corpus", str(folder))
    result.assert_outcomes(passed=2)
