"""The default suite's z3 coverage corpus (sharespec/z3_suite.py): shipped current, keyed by the
source it is generated from, rebuilt into the cache when the key is stale."""
from __future__ import annotations

import gzip
import io
import json
import os

import pytest

from sharespec import z3_suite


@pytest.mark.parametrize("profile, bound", z3_suite.SHIPPED)
def test_the_shipped_corpus_is_the_current_sources(profile, bound):
    """Red when the model (or the generator) changed and the shipped corpus was not rebuilt."""
    path = z3_suite.shipped_path(profile, bound)
    header = z3_suite.read_header(path)
    assert header["key"] == z3_suite.corpus_key(profile, bound), (
        f"{path} is not the current model's: rebuild it with  python -m sharespec.suite --rebuild")
    cases = z3_suite.read_corpus_file(path, header["key"])
    assert len(cases) == header["cases"] > 100
    assert all(c.origin == "z3" and c.profile == profile and c.allowed is not None for c in cases)
    if not z3_suite.shipped_ignored():      # a run reads it as it is, no rebuild
        assert z3_suite.z3_suite_cases(profile, bound) == cases


def test_the_key_covers_the_generator_and_the_model_not_the_runner():
    names = set(z3_suite.dependency_files())
    assert {"sharespec.generators.z3_coverage", "sharespec.model.symbolic.coverage",
            "sharespec.model.semantics", "sharespec.model.oracle",
            "sharespec.generators.frame_observations"} <= names
    # package __init__ files only re-export: followed, they would pull in all of these
    assert not names & {"sharespec.runner", "sharespec.generators.stateful",
                        "sharespec.generators.shrink", "sharespec.generators",
                        "sharespec.generators.z3_progress"}


def test_the_key_changes_with_the_source_the_profile_and_the_bound(tmp_path, monkeypatch):
    source = tmp_path / "module.py"
    source.write_text("A = 1\n")
    monkeypatch.setattr(z3_suite, "dependency_files", lambda: {"sharespec.fake": source})
    before = z3_suite.corpus_key("linux", 4)
    assert before != z3_suite.corpus_key("posix", 4) != z3_suite.corpus_key("posix", 3)
    source.write_text("A = 2\n")
    assert z3_suite.corpus_key("linux", 4) != before


def _stale_copy(path, profile, bound):
    with gzip.open(path, "wt") as f:
        f.write(json.dumps({"format": z3_suite.FORMAT, "version": z3_suite.VERSION,
                            "key": "0" * 64, "profile": profile, "bound": bound,
                            "cases": 0}) + "\n")


def test_a_stale_key_rebuilds_into_the_cache_once(tmp_path, monkeypatch):
    """The shipped file's key is stale: the corpus is rebuilt (in a child process) into
    $XDG_CACHE_HOME/sharespec, stderr says so, and the next run reads the cache quietly.
    A cache file that is not whole is rebuilt too."""
    shipped = tmp_path / "shipped.jsonl.gz"
    _stale_copy(shipped, "linux", 2)
    monkeypatch.setattr(z3_suite, "shipped_path", lambda profile, bound: shipped)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    key = z3_suite.corpus_key("linux", 2)
    assert not z3_suite.cache_path("linux", 2, key).exists()     # nothing to read yet

    said = io.StringIO()
    cases = z3_suite.z3_suite_cases("linux", 2, said, quiet=True)
    cached = z3_suite.cache_path("linux", 2, z3_suite.corpus_key("linux", 2))
    assert "rebuilding" in said.getvalue() and str(cached) in said.getvalue()
    assert cached.parent == tmp_path / "cache" / "sharespec" and cached.is_file()
    assert cases and all(c.origin == "z3" and c.allowed is not None for c in cases)
    assert [p.name for p in cached.parent.iterdir()] == [cached.name]    # no temporary left
    assert z3_suite.read_corpus_file(cached, key) == cases                # read as it is now

    again = io.StringIO()
    assert z3_suite.z3_suite_cases("linux", 2, again) == cases
    assert again.getvalue() == ""

    cached.write_bytes(cached.read_bytes()[:200])          # cut short: not a whole file
    third = io.StringIO()
    assert z3_suite.z3_suite_cases("linux", 2, third, quiet=True) == cases
    assert "rebuilding" in third.getvalue()


def test_a_file_of_another_key_or_cut_short_is_refused(tmp_path):
    path = tmp_path / "c.jsonl.gz"
    _stale_copy(path, "linux", 4)
    with pytest.raises(z3_suite.CorpusOutdated, match="another source"):
        z3_suite.read_corpus_file(path, "1" * 64)
    path.write_bytes(b"\x1f\x8b not gzip")
    with pytest.raises(z3_suite.CorpusOutdated, match="unreadable"):
        z3_suite.read_corpus_file(path, "1" * 64)
    with pytest.raises(z3_suite.CorpusOutdated, match="missing"):
        z3_suite.read_corpus_file(tmp_path / "none.jsonl.gz", "1" * 64)


def test_a_cache_that_cannot_be_written_rebuilds_for_the_run_alone(tmp_path, monkeypatch):
    import re
    shipped = tmp_path / "shipped.jsonl.gz"
    _stale_copy(shipped, "linux", 1)
    monkeypatch.setattr(z3_suite, "shipped_path", lambda profile, bound: shipped)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    said = io.StringIO()
    cases = z3_suite.z3_suite_cases("linux", 1, said, quiet=True)
    assert cases and "cannot be written: for this run only" in said.getvalue()
    scratch = re.search(r"rebuilding it into (\S+)", said.getvalue()).group(1)
    assert not os.path.exists(scratch) and not os.path.exists(os.path.dirname(scratch))
