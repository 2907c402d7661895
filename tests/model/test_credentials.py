"""Credentials and permission bits in the model (C07, model/credentials.py): who may setuid and
setgid, that credentials are the process's (threads, fork, exec), and each permission check
of shmget, shmat, shmctl, open and shm_unlink, with root passing them all. Pinned on the
kernel by the built-in cases c07-* and the LTP cases shmat02-no-permission, shmget04-*."""
from __future__ import annotations

import pytest

from sharespec.model import credentials
from sharespec.model.case import CaseError
from sharespec.model.case_json import case_from_json, case_to_json
from sharespec.model.case_text import case_from_text, case_to_text
from sharespec.model.credentials import Creds, Perm

from test_model_rules import allowed

OTHER = Creds("other", "root")     # what setuid(other) from root gives


# --- setuid and setgid ------------------------------------------------------------------

def test_C07_setuid_from_root_is_for_good():
    got = allowed("""
        T0: setuid(other)
        T0: setuid(other)
        T0: setuid(root)
        T0: setgid(other)
        T0: setgid(root)
    """)
    assert got == [{"ok"}, {"ok"}, {"EPERM"}, {"EPERM"}, {"ok"}]


def test_C07_root_may_setgid_either_way_and_keeps_root():
    assert allowed("""
        T0: setgid(other)
        T0: setgid(root)
        T0: setgid(other)
        T0: setuid(root)
    """) == [{"ok"}] * 4


SEGMENT_0600 = "T0: S0 = shmget(private, 4096, creat)\n"


def test_C07_credentials_hold_for_every_thread_of_the_process():
    got = allowed(SEGMENT_0600 + """
        T0: T1 = spawn()
        T1: setuid(other)
        T0: A0 = shmat(S0)
        T1: setuid(root)
    """)
    assert got[3:] == [{"EACCES"}, {"EPERM"}]


def test_C07_a_fork_child_and_an_exec_keep_the_credentials():
    got = allowed(SEGMENT_0600 + """
        T0: setuid(other)
        T0: T1 = fork()
        T1: A0 = shmat(S0)
        T1: exec()
        T1: A1 = shmat(S0)
        T1: setuid(root)
    """)
    assert got[3:] == [{"EACCES"}, {"ok"}, {"EACCES"}, {"EPERM"}]


def test_C07_a_setuid_in_the_child_leaves_the_parent_root():
    got = allowed(SEGMENT_0600 + """
        T0: T1 = fork()
        T1: setuid(other)
        T0: A0 = shmat(S0)
        T1: A1 = shmat(S0)
    """)
    assert got[3:] == [{"ok"}, {"EACCES"}]


# --- SysV ------------------------------------------------------------------------------

@pytest.mark.parametrize("mode, rdonly, rw", [
    (0o600, "EACCES", "EACCES"),   # the group root (its gid) has no bits
    (0o640, "ok", "EACCES"),
    (0o660, "ok", "ok"),
    (0o606, "EACCES", "EACCES"),   # a group match takes the group's bits, not the others'
])
def test_C07_shmat_asks_for_read_or_read_and_write(mode, rdonly, rw):
    got = allowed(f"""
        T0: S0 = shmget(private, 4096, creat, mode=0{mode:o})
        T0: setuid(other)
        T0: A0 = shmat(S0, rdonly)
        T0: A1 = shmat(S0)
    """)
    assert got[2:] == [{rdonly}, {rw}]


def test_C07_others_bits_when_neither_owner_nor_group():
    got = allowed("""
        T0: S0 = shmget(private, 4096, creat, mode=0604)
        T0: setgid(other)
        T0: setuid(other)
        T0: A0 = shmat(S0, rdonly)
        T0: A1 = shmat(S0)
    """)
    assert got[3:] == [{"ok"}, {"EACCES"}]


def test_C07_root_passes_every_check():
    got = allowed("""
        T0: S0 = shmget(k, 4096, creat, mode=0)
        T0: A0 = shmat(S0)
        T0: S1 = shmget(k, 4096)
        T0: shmctl(S0, stat)
        T0: shmctl(S0, set, uid=other)
        T0: shmctl(S0, rmid)
    """)
    assert all(results - {"EACCES", "EPERM"} for results in got)
    assert not any(results & {"EACCES", "EPERM"} for results in got)


def test_C07_shmget_asks_for_its_own_modes_bits_after_eexist_and_size():
    got = allowed("""
        T0: setuid(other)
        T0: S0 = shmget(k, 4096, creat, excl, mode=0)
        T0: S1 = shmget(k, 4096, mode=0400)
        T0: S2 = shmget(k, 4096, mode=0)
        T0: S3 = shmget(k, 4096, creat, excl)
        T0: S4 = shmget(k, 8192)
    """)
    assert got[1:] == [{"new"}, {"EACCES"}, {"=S0"}, {"EEXIST"}, {"EINVAL"}]


def test_C07_ipc_stat_asks_for_read():
    got = allowed("""
        T0: S0 = shmget(private, 4096, creat, mode=0640)
        T0: S1 = shmget(private, 4096, creat)
        T0: setuid(other)
        T0: shmctl(S0, stat)
        T0: shmctl(S1, stat)
    """)
    assert got[3] == {"stat(nattch=0,segsz=4096,dest=0,key=private)"}
    assert got[4] == {"EACCES"}


def test_C07_ipc_rmid_and_ipc_set_need_the_creator_or_the_owner():
    got = allowed("""
        T0: S0 = shmget(private, 4096, creat, mode=0666)
        T0: T1 = fork()
        T1: setuid(other)
        T1: shmctl(S0, set, mode=0600)
        T1: shmctl(S0, rmid)
        T0: shmctl(S0, set, uid=other, mode=0600)
        T1: A0 = shmat(S0)
        T1: shmctl(S0, set, uid=root)
        T1: shmctl(S0, rmid)
    """)
    assert got[3:] == [{"EPERM"}, {"EPERM"}, {"ok"}, {"ok"}, {"ok"}, {"EPERM"}]


def test_C07_the_creator_keeps_its_rights_after_giving_the_segment_away():
    got = allowed("""
        T0: setuid(other)
        T0: S0 = shmget(private, 4096, creat)
        T0: shmctl(S0, set, uid=root)
        T0: A0 = shmat(S0)
        T0: shmctl(S0, rmid)
    """)
    assert got[2:] == [{"ok"}, {"ok"}, {"ok"}]


def test_C07_ipc_set_changes_the_given_fields_only():
    before = Perm(mode=0o640, uid="root", gid="other", cuid="root", cgid="root")
    assert credentials.ipc_set(before, None, "other", None) == Perm(0o640, "other", "other",
                                                                    "root", "root")
    assert credentials.ipc_set(before, 0o7777, None, None).mode == 0o777


def test_C07_an_attach_keeps_what_it_was_granted():
    got = allowed(SEGMENT_0600 + """
        T0: A0 = shmat(S0)
        T0: setuid(other)
        T0: write(A0, 3)
        T0: read(A0)
    """)
    assert got[3:] == [{"ok"}, {"3"}]


# --- files and POSIX shm objects --------------------------------------------------------

def test_C07_open_asks_for_read_or_read_and_write_after_eexist():
    got = allowed("""
        T0: F0 = open(file, f, creat, mode=0644)
        T0: setuid(other)
        T0: F1 = open(file, f, rdonly)
        T0: F2 = open(file, f)
        T0: F3 = open(file, f, creat, excl)
        T0: F4 = open(file, mine, creat, mode=0)
        T0: F5 = open(file, mine)
    """)
    assert got[2:] == [{"ok"}, {"EACCES"}, {"EEXIST"}, {"ok"}, {"EACCES"}]


def test_C07_a_read_only_descriptor_maps_and_protects_as_c01_says():
    got = allowed("""
        T0: F0 = open(shm, o, creat, mode=0644)
        T0: ftruncate(F0, 4096)
        T0: setuid(other)
        T0: F1 = open(shm, o, rdonly)
        T0: M0 = mmap(F1, shared, rw, 4096)
        T0: M1 = mmap(F1, shared, r, 4096)
        T0: mprotect(M1, 4096, rw)
        T0: M2 = mmap(F1, private, rw, 4096)
    """)
    assert got[3:] == [{"ok"}, {"EACCES"}, {"ok"}, {"EACCES"}, {"ok"}]


def test_C07_o_creat_in_the_sticky_directory_may_be_refused():
    got = allowed("""
        T0: T1 = fork()
        T1: setuid(other)
        T1: F0 = open(shm, o, creat, mode=0666)
        T0: F1 = open(shm, o, creat)
        T0: F2 = open(shm, o)
        T1: F3 = open(shm, o, creat)
    """)
    assert got[3:] == [{"ok", "EACCES"}, {"ok"}, {"ok"}]


def test_C07_shm_unlink_of_another_users_object_is_eacces_but_for_root():
    got = allowed("""
        T0: F0 = open(shm, o, creat, mode=0666)
        T0: T1 = fork()
        T1: setuid(other)
        T1: shm_unlink(o)
        T1: F1 = open(shm, mine, creat)
        T0: shm_unlink(mine)
        T0: shm_unlink(o)
    """)
    assert got[3:] == [{"EACCES"}, {"ok"}, {"ok"}, {"ok"}]


def test_C07_the_checks_side_by_side():
    root, other = Creds(), OTHER
    owned = Perm(mode=0o000)
    assert credentials.ipc_permits(owned, root, 6) and not credentials.ipc_permits(owned, other, 4)
    assert credentials.shmget_wants(0o600) == 6 and credentials.shmget_wants(0o040) == 4
    assert credentials.may_change_ipc(Perm(uid="other"), other)
    assert not credentials.may_change_ipc(Perm(), other)
    assert credentials.file_permits(Perm(mode=0o604), Creds("other", "other"), rdonly=True)
    assert not credentials.file_permits(Perm(mode=0o604), Creds("other", "other"), rdonly=False)


# --- the language ------------------------------------------------------------------------

CASE = """\
case c
profile linux
rules C07
origin test

T0: S0 = shmget(k, 4096, mode=0640, creat)
T0: shmctl(S0, set, mode=0604, uid=other, gid=root)
T0: F0 = open(file, f, mode=0, creat)
T0: setgid(other)
T0: setuid(other)
"""


def test_C07_the_new_arguments_round_trip_in_both_forms():
    case = case_from_text(CASE, "c.case")
    assert case_to_text(case) == CASE
    encoded = case_to_json(case)
    assert encoded["steps"][0]["args"]["mode"] == 0o640
    assert encoded["steps"][1]["args"] == {"segment": "S0", "cmd": "set", "mode": 0o604,
                                           "uid": "other", "gid": "root"}
    assert case_from_json(encoded, "c.json") == case


@pytest.mark.parametrize("line, problem", [
    ("T0: S0 = shmget(k, 4096, mode=640, creat)", "octal with a leading 0"),
    ("T0: S0 = shmget(k, 4096, mode=01000, creat)", "octal with a leading 0"),
    ("T0: setuid(nobody)", "uid must be one of root, other"),
    ("T0: F0 = open(memfd, mode=0644)", "open of a memfd takes no mode"),
    ("T0: S0 = shmget(k, 4096, creat)\nT0: shmctl(S0, stat, mode=0644)",
     "only shmctl set takes mode"),
    ("T0: S0 = shmget(k, 4096, creat)\nT0: shmctl(S0, rmid, uid=other)",
     "only shmctl set takes uid"),
])
def test_C07_bad_arguments_are_refused_with_the_line(line, problem):
    with pytest.raises(CaseError) as caught:
        case_from_text("case c\nprofile linux\n\n" + line + "\n", "bad.case")
    assert problem in str(caught.value) and "bad.case" in str(caught.value)


def test_C07_json_mode_out_of_range_is_refused():
    encoded = case_to_json(case_from_text(CASE, "c.case"))
    encoded["steps"][0]["args"]["mode"] = 0o1000
    with pytest.raises(CaseError, match="mode must be in 0..511"):
        case_from_json(encoded, "c.json")


def test_C07_the_other_shmctl_commands_check_as_the_kernel_does():
    got = allowed("""
        T0: S0 = shmget(private, 4096, creat)
        T0: T1 = fork()
        T1: setuid(other)
        T1: shmctl(S0, stat_full)
        T1: shmctl(S0, shm_stat)
        T1: shmctl(S0, shm_stat_any)
        T1: shmctl(S0, lock)
        T1: shmctl(S0, shm_info)
        T0: shmctl(S0, set, uid=other)
        T1: shmctl(S0, lock)
        T1: shmctl(S0, unlock)
    """)
    assert got[3:5] == [{"EACCES"}, {"EACCES"}]
    assert got[5] == {"stat(nattch=0,segsz=4096,dest=0,key=private,locked=0,cpid=T0,lpid=none,id=S0)"}
    assert got[6:9] == [{"EPERM"}, {"info(max>=S0)"}, {"ok"}]
    assert got[9:] == [{"ok", "EPERM"}, {"ok"}]    # EPERM: an RLIMIT_MEMLOCK of 0 (the host's)
