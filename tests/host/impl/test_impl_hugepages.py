"""Huge-page objects in the bundled implementation (model/hugepages.py, impl/features.py
``hugepages_empty``): the built-in and LTP cases pass here (2 MiB and 1 GiB pools, both empty),
a case with huge pages is INCONCLUSIVE (never FAIL) where the pools cannot be assumed empty,
while the other cases of the same run still pass, and the probe reads the pools without
changing them. Nothing here configures huge pages (never /proc/sys/vm/nr_hugepages)."""
import shlex
import sys
from pathlib import Path

import pytest

from impl_cases import ROOT
from sharespec.casefiles import read_case_file
from sharespec.runner import run_cases
from sharespec.suite import builtin_cases
from hugepage_pools import pools_empty

CASES = {c.name: c for c in builtin_cases()}
HUGE = ["c01-hugetlb-memfd-sizes", "c01-hugetlb-memfd-io", "c01-hugetlb-shmget"]
LTP = Path(__file__).resolve().parents[1] / "ltp_cases"


def impl_command(disabled):
    return "env SHARESPEC_IMPL_DISABLE=%s PYTHONPATH=%s %s -S -m impl" % (
        disabled, shlex.quote(ROOT), shlex.quote(sys.executable))


@pytest.mark.skipif(not pools_empty(), reason="this host has huge pages to give")
def test_huge_page_cases_pass_where_the_pools_are_empty(no_leaks):
    cases = [CASES[n] for n in HUGE] + [c for name in ("memfd_create03-write",
                                                       "memfd_create03-max-hugepages",
                                                       "memfd_create04-huge-sizes")
                                        for c in read_case_file(LTP / f"{name}.case")]
    verdicts = {r.case.name: (r.verdict, r.detail) for r in run_cases(cases)}
    assert set(verdicts.values()) == {("PASS", "")}, verdicts


def test_a_host_that_may_have_huge_pages_makes_them_inconclusive(no_leaks):
    """Without the feature the cases with huge pages cannot be decided: INCONCLUSIVE, naming
    it; a case without huge pages in the same run is judged as ever."""
    cases = [CASES[n] for n in HUGE[:2]] + [CASES["c01-memfd-create-arguments"]]
    results = {r.case.name: r for r in run_cases(cases, impl=impl_command("hugepages_empty"))}
    assert results["c01-memfd-create-arguments"].verdict == "PASS"
    for name in HUGE[:2]:
        assert results[name].verdict == "INCONCLUSIVE"
        assert "empty huge page pools" in results[name].detail   # the feature, by what it is


def test_the_probe_reads_each_pool(tmp_path, monkeypatch):
    """free_hugepages or nr_overcommit_hugepages above 0 in any size makes the feature
    missing, with the file named; no pools at all too."""
    sys.path.insert(0, ROOT)
    from impl import features
    for size, free, overcommit in (("hugepages-2048kB", 0, 0), ("hugepages-1048576kB", 0, 0)):
        (tmp_path / size).mkdir()
        (tmp_path / size / "free_hugepages").write_text("%d\n" % free)
        (tmp_path / size / "nr_overcommit_hugepages").write_text("%d\n" % overcommit)
    monkeypatch.setattr(features, "HUGEPAGES", str(tmp_path))
    assert features._probe_hugepages_empty() == ""
    (tmp_path / "hugepages-1048576kB" / "nr_overcommit_hugepages").write_text("2\n")
    assert "nr_overcommit_hugepages is 2" in features._probe_hugepages_empty()
    (tmp_path / "hugepages-1048576kB" / "nr_overcommit_hugepages").write_text("0\n")
    (tmp_path / "hugepages-2048kB" / "free_hugepages").write_text("1\n")
    assert "hugepages-2048kB/free_hugepages is 1" in features._probe_hugepages_empty()
    monkeypatch.setattr(features, "HUGEPAGES", str(tmp_path / "none"))
    assert "none" in features._probe_hugepages_empty()
