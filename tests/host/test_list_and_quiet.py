"""``sharespec list`` names what is built in, one line each; ``run -q`` prints only failures
and the closing lines."""
from __future__ import annotations

import subprocess
import sys

import pytest

from sharespec.cli import main as cli_main


def listed(capsys, *kind):
    assert cli_main(["list", *kind]) == 0
    return capsys.readouterr().out.splitlines()


def test_list_cases_names_every_built_in_case_with_its_rules(capsys):
    from sharespec.suite import builtin_case_files
    lines = listed(capsys, "cases")
    assert len(lines) == len(builtin_case_files())
    names = {line.split()[0] for line in lines}
    assert "r09-sysv-inherited-by-fork" in names
    line = next(l for l in lines if l.startswith("r09-sysv-inherited-by-fork "))
    assert "R09" in line and "fork" in line.split("R09", 1)[1]


def test_list_mutants_names_what_impl_mutant_takes(capsys):
    from sharespec.mutants import mutant_names
    lines = listed(capsys, "mutants")
    assert [l.split()[0] for l in lines] == mutant_names()
    assert all(len(l.split(None, 1)) == 2 for l in lines)   # a description on every line


def test_list_variants_and_properties(capsys):
    from sharespec.model.variants import variants
    variant_lines = listed(capsys, "variants")
    assert [l.split()[0] for l in variant_lines] == [f"linux+{v.name}" for v in variants()]
    names = [l.split()[0] for l in listed(capsys, "properties")]
    assert "zero-fill" in names and "copy-on-write-child-writes" in names
    assert all(" " not in n for n in names)


def test_list_without_a_kind_lists_all_four_under_headings(capsys):
    out = "\n".join(listed(capsys))
    for kind in ("cases", "mutants", "variants", "properties"):
        assert f"\n{kind} (" in "\n" + out
    with pytest.raises(SystemExit) as e:
        cli_main(["list", "bogus"])
    assert e.value.code == 2


def test_quiet_run_prints_only_the_closing_lines(tmp_path):
    r = subprocess.run([sys.executable, "-m", "sharespec", "run", "-q", "--z3-bound", "0",
                        "--generated", "3"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert len(lines) == 1 and lines[0].endswith("cases)") and " passed, " in lines[0], lines
    assert r.stderr == ""
