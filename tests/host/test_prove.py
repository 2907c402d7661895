"""``sharespec prove``: the properties are proved by induction over the z3 encoding, each with a
witness; a false property fails with a counterexample; a property nothing exercises is
vacuous, never proved; bad usage exits 2."""
from __future__ import annotations

import z3

from sharespec.cli import main as cli_main
from sharespec.model.symbolic.core import KIND_OBJ_PRIVATE, KIND_PRIVATE, OPS, R, SymbolicScope
from sharespec.model.symbolic.encoding import select
from sharespec.model.symbolic.predicates import fd_object, object_page
from sharespec.model.symbolic.induction import (PROPERTIES, SymbolicProperty, is_value, prove_lemmas,
                                                prove_property)

SMALL = SymbolicScope(processes=2, threads=2, mappings=2, pages=1, segments=1)


def test_the_lemmas_are_inductive_under_both_profiles():
    for profile in ("linux", "posix"):
        outcome = prove_lemmas(SMALL, profile)
        assert outcome.status == "proved", outcome.detail


def test_every_property_is_proved_with_a_witness():
    names = set()
    for prop in PROPERTIES:
        report = prove_property(prop, SMALL, "linux", witness_bound=6)
        assert report.status == "proved", [(o.what, o.status, o.detail) for o in report.outcomes]
        witness = [o for o in report.outcomes if o.what == "witness"]
        assert witness and witness[0].detail.count("->") >= 2  # a real program, with results
        names.add(prop.name)
    assert names == {"isolation", "visibility", "thread sharing", "copy-on-write (child writes)",
                     "copy-on-write (parent writes)", "segment lifetime", "zero fill",
                     "protection", "attach accounting", "exec", "object lifetime", "sealing"}


def _leaky(w):
    """A false claim: a private write is seen by another process's read of the same page."""
    a0, a1 = w.args
    hyp = z3.And(a0.op == OPS["write"], w.results[0].code == R["ok"], w.kind(0) == KIND_PRIVATE,
                 a1.op == OPS["read"], a1.slot == a0.slot, a1.page == a0.page,
                 w.pid(1) != w.pid(0), w.results[1].code == R["value"])
    return hyp, is_value(w.results[1], a0.value)


def test_a_false_property_fails_with_a_counterexample():
    report = prove_property(SymbolicProperty("leak", "false", steps=((2, _leaky),)), SMALL, "linux")
    assert report.status == "failed"
    failed = next(o for o in report.outcomes if o.status == "failed")
    assert "pre-state:" in failed.detail and "write(M" in failed.detail and "read(M" in failed.detail


def test_a_property_nothing_exercises_is_vacuous_not_proved():
    never = SymbolicProperty("never", "nothing reaches it",
                             witness=lambda u, i: z3.BoolVal(False))
    report = prove_property(never, SMALL, "linux", witness_bound=2)
    assert report.status == "vacuous"


def test_the_command_proves_and_exits_0(capsys):
    status = cli_main(["prove", "--scope", "processes=2,threads=2,pages=1,segments=1",
                       "--property", "isolation", "--property", "segment lifetime", "--bound", "3"])
    out = capsys.readouterr().out
    assert status == 0, out
    # named without spaces when printed; the old spelling ("segment lifetime") still accepted
    assert "PROVED   isolation" in out and "PROVED   segment-lifetime" in out
    assert "shmctl(S0, rmid)" in out  # the lifetime witness: sharing after IPC_RMID
    assert "all properties proved" in out


def test_property_names_have_no_spaces_and_both_spellings_choose_the_same():
    from sharespec.commands.prove import chosen_properties, property_name
    names = [property_name(p.name) for p in PROPERTIES]
    assert all(" " not in n and "(" not in n for n in names), names
    assert "zero-fill" in names and "copy-on-write-child-writes" in names
    assert len(set(names)) == len(PROPERTIES)
    assert (chosen_properties(["zero-fill", "copy-on-write (parent writes)"], PROPERTIES)
            == chosen_properties(["zero fill", "copy-on-write-parent-writes"], PROPERTIES))


def test_bad_usage_exits_2(capsys):
    assert cli_main(["prove", "--scope", "pages=99"]) == 2
    assert cli_main(["prove", "--property", "nonsense"]) == 2
    assert cli_main(["prove", "--scope", "bogus=1"]) == 2


def test_with_two_pages_per_slot_mremap_keeps_the_proofs():
    """Two pages: mremap can grow a mapping past its object and move a page to another slot's
    offset; the lemmas stay inductive and visibility (by object page) still holds."""
    scope = SymbolicScope(processes=2, threads=2, mappings=2, pages=2, segments=1)
    assert prove_lemmas(scope, "linux").status == "proved"
    for name in ("visibility", "zero fill"):
        prop = next(p for p in PROPERTIES if p.name == name)
        report = prove_property(prop, scope, "linux", witness_bound=4)
        assert report.status == "proved", [(o.what, o.status, o.detail) for o in report.outcomes]


def test_object_properties_under_posix_and_without_objects():
    """POSIX has shm_unlink but no memfd seals (nor madvise): the lifetime after unlink is
    proved with a witness, sealing is not applicable (claimed neither way); a scope without
    objects has no
    witness for them, so they are vacuous there, never proved."""
    lifetime, sealing = (next(p for p in PROPERTIES if p.name == n) for n in ("object lifetime", "sealing"))
    report = prove_property(lifetime, SMALL, "posix", witness_bound=6)
    assert report.status == "proved", [(o.what, o.status, o.detail) for o in report.outcomes]
    assert "shm_unlink(obj)" in next(o for o in report.outcomes if o.what == "witness").detail
    assert prove_property(sealing, SMALL, "posix").status == "not applicable"
    # zero fill holds under posix too; only its MADV_REMOVE clause (Linux-only) is not claimed
    zero = prove_property(next(p for p in PROPERTIES if p.name == "zero fill"), SMALL, "posix")
    assert zero.status == "proved" and [o.status for o in zero.outcomes].count("not applicable") == 1
    bare = SymbolicScope(processes=2, threads=2, mappings=2, pages=1, segments=1, objects=0)
    assert prove_property(lifetime, bare, "linux", witness_bound=2).status == "vacuous"


def test_a_false_object_claim_fails():
    """Not vacuous for objects: 'a private object page always reads what pwrite stored' is
    false (a private copy keeps its own byte, R12) and the proof says so."""
    def claim(w):
        """A private object page reads what pwrite stored."""
        a0, a1 = w.args
        s1 = w.states[1]
        hyp = z3.And(a0.op == OPS["pwrite"], w.results[0].code == R["ok"], a1.op == OPS["read"],
                     w.kind(1) == KIND_OBJ_PRIVATE, w.results[1].code == R["value"],
                     select(s1.slot_obj, a1.slot) == fd_object(w.states[0], w.sc, a0.fd),
                     object_page(s1, a1.slot, a1.page) == a0.page)
        return hyp, is_value(w.results[1], a0.value)
    report = prove_property(SymbolicProperty("follows", "false", steps=((2, claim),)), SMALL, "linux")
    assert report.status == "failed"
    assert "copy" in next(o for o in report.outcomes if o.status == "failed").detail


def test_protection_under_posix_spares_sysv_attaches_only():
    """R24 under posix: mprotect may make a SHM_RDONLY attach writable (POSIX mprotect is
    unspecified for a mapping mmap did not make), so the protection property (and the lemma
    behind it) leave SysV slots out there, and still hold for the rest."""
    protection = next(p for p in PROPERTIES if p.name == "protection")
    report = prove_property(protection, SMALL, "posix", witness_bound=6)
    assert report.status == "proved", [(o.what, o.status, o.detail) for o in report.outcomes]
