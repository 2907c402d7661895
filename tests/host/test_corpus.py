"""Corpora: ``generate`` -> ``run --corpus`` -> ``--shard I/N`` -> ``merge``; deduplication by
fingerprint; bad shards and inconsistent parts refused with exit status 2."""
from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from types import SimpleNamespace

import pytest

from sharespec.corpus import (Selection, Shard, deduplicate, parse_shard, read_corpus, shard_of,
                              select_shard)
from sharespec.model.case import Case
from sharespec.model.case_text import case_to_text
from sharespec.model.ops import Place, Step, Write
from renamed_programs import PROGRAM, RENAMED

BUILTIN = Path(__file__).resolve().parents[2] / "sharespec" / "cases"
# A small exhaustive corpus (172 cases, a few seconds to run), plus two hand-written cases so
# that the by-rule table is not empty.
SCOPE = "processes=2,threads=2,pages=1,mappings=1,segments=1,objects=0"
WITH_RULES = [BUILTIN / "r09-sysv-inherited-by-fork.case", BUILTIN / "r10-shared-anon-fork.case"]


def sharespec(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "sharespec", *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


def cli(*args):
    """The command line in this process (cheaper than a new interpreter per call)."""
    from sharespec import cli as command_line
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = command_line.main([str(a) for a in args])
        except SystemExit as e:   # argparse's own usage errors
            code = e.code
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def records(path: Path) -> list:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus") / "exhaustive"
    r = sharespec("generate", "--strategy", "exhaustive", "--bound", 3, "--scope", SCOPE,
                  "--json", "--out", out)
    assert r.returncode == 0, r.stderr
    return out


# --- generate ------------------------------------------------------------------------

def test_generate_writes_a_manifest_both_forms_and_distinct_fingerprints(corpus, tmp_path):
    manifest = json.loads((corpus / "manifest.json").read_text())
    assert manifest["strategy"] == "exhaustive" and manifest["bound"] == 3
    assert manifest["count"] == len(manifest["cases"]) > 100
    fps = [e["fingerprint"] for e in manifest["cases"]]
    assert len(set(fps)) == len(fps)
    assert sorted(p.name for p in (corpus / "cases").iterdir()) == sorted(
        Path(e["file"]).name for e in manifest["cases"])
    assert len((corpus / "cases.jsonl").read_text().splitlines()) == manifest["count"]
    read = read_corpus(corpus)
    assert read.fingerprints == fps and read.digest == manifest["digest"]
    assert all(c.allowed for c in read.cases)
    # deterministic: the same command writes the same corpus; nothing is left beside it
    again = tmp_path / "again"
    assert cli("generate", "--strategy", "exhaustive", "--bound", 3, "--scope", SCOPE,
               "--out", again).returncode == 0
    second = json.loads((again / "manifest.json").read_text())
    assert second["cases"] == manifest["cases"] and second["json_lines"] is None
    assert [p.name for p in tmp_path.iterdir()] == ["again"]


def test_generate_replaces_a_corpus_but_never_other_files(tmp_path):
    out = tmp_path / "c"
    assert cli("generate", "--bound", 2, "--count", 5, "--out", out).returncode == 0
    assert cli("generate", "--bound", 2, "--count", 3, "--seed", 1, "--out", out).returncode == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 1
    assert len(list((out / "cases").iterdir())) == json.loads((out / "manifest.json").read_text())["count"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]   # the old corpus is gone
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine")
    r = cli("generate", "--bound", 2, "--count", 3, "--out", precious)
    assert r.returncode == 2 and "precious" in r.stderr and "refusing" in r.stderr
    assert [p.name for p in precious.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("args, problem", [
    (["--bound", "0"], "--bound must be at least 1"),
    (["--scope", "processes=x"], "processes must be a number"),
    (["--scope", "colours=3"], "unknown bound 'colours'"),
    (["--scope", "steps=3", "--bound", "4"], "disagree"),
    (["--count", "-1"], "--count"),
    (["--profile", "bsd"], "unknown profile"),
])
def test_generate_bad_arguments(tmp_path, args, problem):
    r = cli("generate", "--strategy", "exhaustive", *args, "--out", tmp_path / "c")
    assert r.returncode == 2 and problem in r.stderr, r.stderr
    assert not (tmp_path / "c").exists()


def test_generate_z3_unavailable_is_a_clear_usage_error(monkeypatch, tmp_path, capsys):
    from sharespec import cli
    monkeypatch.setitem(sys.modules, "sharespec.generators.z3_coverage", None)  # import fails
    assert cli.main(["generate", "--strategy", "z3", "--bound", "2", "--out", str(tmp_path / "z")]) == 2
    assert "z3 strategy is not available" in capsys.readouterr().err
    assert not (tmp_path / "z").exists()


def test_generate_z3_takes_cases_or_programs_and_checks_them(monkeypatch, tmp_path):
    calls = []

    def z3_corpus(bound, scope=None, profile="linux"):
        calls.append((bound, scope, profile))
        return [tuple(PROGRAM), tuple(RENAMED), _case("z3-given", PROGRAM[:2])]

    monkeypatch.setitem(sys.modules, "sharespec.generators.z3_coverage",
                        SimpleNamespace(z3_corpus=z3_corpus))
    r = cli("generate", "--strategy", "z3", "--bound", 5, "--out", tmp_path / "z")
    assert r.returncode == 0, r.stderr
    assert calls == [(5, None, "linux")]   # no DEFAULT_SCOPE of its own: none is passed
    read = read_corpus(tmp_path / "z")
    assert len(read.cases) == 2 and read.manifest["duplicates_dropped"] == 1   # RENAMED
    assert all(c.allowed for c in read.cases)   # expectations from the explicit semantics
    from dataclasses import replace
    from sharespec.model.oracle import allowed_per_step
    swapped = tuple(reversed(allowed_per_step(PROGRAM[:2], "linux")))   # "ok", "new": wrong
    wrong = replace(_case("z3-wrong", PROGRAM[:2]), allowed=swapped)
    monkeypatch.setitem(sys.modules, "sharespec.generators.z3_coverage",
                        SimpleNamespace(z3_corpus=lambda *a, **k: [wrong]))
    r = cli("generate", "--strategy", "z3", "--bound", 2, "--out", tmp_path / "w")
    assert r.returncode == 2 and "inconsistent expectation" in r.stderr, r.stderr
    assert not (tmp_path / "w").exists()


def test_generate_z3_with_the_real_z3_side(tmp_path):
    pytest.importorskip("sharespec.generators.z3_coverage")
    r = cli("generate", "--strategy", "z3", "--bound", 2, "--scope", "processes=2", "--out",
            tmp_path / "z")
    assert r.returncode == 0, r.stderr
    read = read_corpus(tmp_path / "z")
    assert read.cases and all(c.origin == "z3" and c.allowed for c in read.cases)
    assert read.manifest["scope"]["processes"] == 2 and read.manifest["bound"] == 2


# --- deduplication -------------------------------------------------------------------


def _case(name, steps):
    return Case(name=name, profile="linux", rules=(), origin="test", description="",
                steps=tuple(steps))


def test_the_same_program_after_renaming_is_one_case(tmp_path):
    other = PROGRAM[:3] + [Step("T1", Write(Place("A0"), 8)), PROGRAM[4]]
    unique = deduplicate([_case("a", PROGRAM), _case("b", RENAMED), _case("c", other)])
    assert [c.name for c in unique.cases] == ["a", "c"] and unique.duplicates == 1
    # a folder without a manifest: read with the duplicates dropped
    for name, steps in (("a", PROGRAM), ("b", RENAMED), ("c", other)):
        (tmp_path / f"{name}.case").write_text(case_to_text(_case(name, steps)))
    read = read_corpus(tmp_path)
    assert [c.name for c in read.cases] == ["a", "c"] and read.duplicates_dropped == 1


def test_random_duplicates_are_dropped(tmp_path):
    out = tmp_path / "r"
    r = cli("generate", "--strategy", "random", "--bound", 1, "--count", 30, "--out", out)
    assert r.returncode == 0, r.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["duplicates_dropped"] > 0   # one-step programs repeat
    assert manifest["count"] + manifest["duplicates_dropped"] == 30
    assert len({e["fingerprint"] for e in manifest["cases"]}) == manifest["count"]


def test_a_case_edited_by_hand_is_refused(corpus, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(corpus, copy)
    entry = json.loads((copy / "manifest.json").read_text())["cases"][0]
    victim = copy / entry["file"]
    # still a valid case, under the same name, but another program
    victim.write_text(WITH_RULES[0].read_text().replace("case r09-sysv-inherited-by-fork",
                                                         f"case {entry['name']}"))
    r = cli("run", "--corpus", copy)
    assert r.returncode == 2 and str(victim) in r.stderr and "manifest" in r.stderr, r.stderr


# --- shards --------------------------------------------------------------------------

def test_shards_partition_every_selection_exactly_and_deterministically(corpus):
    cases = read_corpus(corpus).cases
    names = [c.name for c in cases]
    for n in range(1, 6):
        parts = [[c.name for c in select_shard(cases, Shard(i, n))] for i in range(1, n + 1)]
        assert sorted(sum(parts, [])) == sorted(names)                    # every case, once
        assert parts == [[c.name for c in select_shard(cases, Shard(i, n))]  # the same again
                         for i in range(1, n + 1)]
        if n > 1:
            assert all(len(p) < len(names) for p in parts)                 # a real split
    assert len(select_shard(cases, Shard(2, 3))) > len(names) // 6         # roughly balanced


def test_shards_are_stable_under_adding_cases_and_shards():
    fps = [f"{i:064x}" for i in range(1, 4000, 7)]
    fps = [__import__("hashlib").sha256(f.encode()).hexdigest() for f in fps]
    for n in (2, 3, 7):
        grown = [shard_of(fp, n + 1) for fp in fps]
        moved = [(shard_of(fp, n), g) for fp, g in zip(fps, grown) if shard_of(fp, n) != g]
        assert moved and all(g == n + 1 for _, g in moved)     # only to the new shard
        assert len(moved) < 2 * len(fps) / (n + 1)             # about 1/(n+1) of them
    # the assignment of a case depends on its fingerprint alone, not on the other cases
    assert Selection.of([], Shard(1, 2), []).cases == []


@pytest.mark.parametrize("bad", ["0/3", "4/3", "1/0", "x", "1/2/3", "-1/3", "2 of 3", ""])
def test_bad_shard_values_are_usage_errors(bad, tmp_path):
    out = tmp_path / "r.jsonl"
    r = cli("run", "--case", WITH_RULES[0], "--shard", bad, "--json", out)
    assert r.returncode == 2 and "--shard" in r.stderr, r.stderr
    assert not out.exists() and "passed" not in r.stdout
    with pytest.raises(ValueError):
        parse_shard(bad)


# --- run --corpus, sharded, merged ---------------------------------------------------

@pytest.fixture(scope="module")
def runs(corpus, tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    common = ["--corpus", corpus, *sum((["--case", c] for c in WITH_RULES), []), "-q",
              "--no-shrink"]
    whole = sharespec("run", *common, "--json", folder / "all.jsonl")
    assert whole.returncode == 0, whole.stdout + whole.stderr
    for i in (1, 2, 3):
        part = cli("run", *common, "--shard", f"{i}/3", "--json", folder / f"part{i}.jsonl")
        assert part.returncode == 0, part.stdout + part.stderr
        assert f"shard {i}/3:" in part.stdout
    return folder


def test_run_corpus_passes_and_shards_split_it_exactly(corpus, runs):
    whole = records(runs / "all.jsonl")
    all_names = [r["case"] for r in whole[1:-1]]
    total = json.loads((corpus / "manifest.json").read_text())["count"] + len(WITH_RULES)
    # an exec after setuid(other) needs a host where that uid may run the interpreter (impl
    # feature other_exec; not so with a Python under /root): INCONCLUSIVE there, never FAIL
    unrunnable = [r for r in whole[1:-1] if r["verdict"] == "INCONCLUSIVE"
                  and "execs after setuid(other)" in r["detail"]]
    assert len(all_names) == total
    assert whole[-1]["summary"]["pass"] == total - len(unrunnable), whole[-1]["summary"]
    parts = [records(runs / f"part{i}.jsonl") for i in (1, 2, 3)]
    names = [[r["case"] for r in p[1:-1]] for p in parts]
    assert sorted(sum(names, [])) == sorted(all_names)
    assert all(names) and all(len(set(a) & set(b)) == 0 for a in names for b in names if a is not b)
    env = [p[0]["environment"] for p in parts]
    assert len({e["selection"]["digest"] for e in env} | {whole[0]["environment"]["selection"]["digest"]}) == 1
    assert [e["shard"]["index"] for e in env] == [1, 2, 3]


def test_merged_shards_equal_the_unsharded_run(runs, tmp_path):
    out = tmp_path / "merged.jsonl"
    r = cli("merge", runs / "part3.jsonl", runs / "part1.jsonl", runs / "part2.jsonl",
                  "--json", out)
    assert r.returncode == 0, r.stderr
    merged, whole = records(out)[-1], records(runs / "all.jsonl")[-1]
    for key in ("summary", "by_rule", "covered_rules", "uncovered_rules"):
        assert merged[key] == whole[key], key
    assert merged["by_rule"]["R09"]["PASS"] == 1 and "R10" in merged["covered_rules"]
    assert "R09" in r.stdout and "part 2/3" in r.stdout
    assert len(records(out)[0]["environment"]["parts"]) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged.jsonl"]


def _rewrite(path: Path, into: Path, change) -> Path:
    lines = records(path)
    change(lines)
    into.write_text("".join(json.dumps(r) + "\n" for r in lines))
    return into


def test_merge_rejects_inconsistent_parts(runs, tmp_path):
    p1, p2, p3 = (runs / f"part{i}.jsonl" for i in (1, 2, 3))

    def env(key, value):
        return lambda lines: lines[0]["environment"].__setitem__(key, value)

    other_corpus = _rewrite(p3, tmp_path / "other.jsonl", lambda lines: lines[0]["environment"][
        "selection"].__setitem__("digest", "0" * 64))
    posix = _rewrite(p3, tmp_path / "posix.jsonl", env("profile", "posix"))
    of_four = _rewrite(p3, tmp_path / "four.jsonl", lambda lines: lines[0]["environment"][
        "shard"].__setitem__("count", 4))
    unfinished = _rewrite(p3, tmp_path / "unfinished.jsonl", lambda lines: lines[-1].__setitem__(
        "complete", False))
    truncated = tmp_path / "truncated.jsonl"
    truncated.write_text("".join(p3.read_text().splitlines(True)[:-1]))
    garbled = tmp_path / "garbled.jsonl"
    garbled.write_text(p3.read_text().replace("{", "[", 1))
    for files, problem in [
        ([p1, p2], "missing shard 3/3"),
        ([p1, p2, p3, p2], "shard 2/3 given twice"),
        ([p1, p2, other_corpus], "different selection"),
        ([p1, p2, posix], "profile posix"),
        ([p1, p2, of_four], "different numbers of shards"),
        ([p1, p2, unfinished], "incomplete"),
        ([p1, p2, truncated], "no closing summary"),
        ([p1, p2, garbled], f"{garbled}: line 1"),
    ]:
        r = cli("merge", *files, "--json", tmp_path / "merged.jsonl")
        assert r.returncode == 2 and problem in r.stderr, (problem, r.stderr)
        assert not (tmp_path / "merged.jsonl").exists()
