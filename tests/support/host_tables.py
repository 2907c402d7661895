"""The host's processes and SysV segments as /proc shows them, for the tests that look for
what a run left (the session's own check in tests/conftest.py, the implementation's and the
runner's tests). Read here, independently of the code under test (sharespec.process_tree,
sharespec.leftovers, impl/segments.py)."""
import os


def process_table():
    """{pid: the fields of /proc/PID/stat after the command's name, as strings} of every
    process: fields[0] is the state letter (Z: dead, not yet reaped), fields[1] the parent's
    pid, fields[2] the process group, fields[3] the session (proc(5) fields 3 to 6)."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    table[int(entry)] = stat.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue        # it ended meanwhile
    return table


def descendants(root, table=None):
    """The descendants of process root (the dead not yet reaped too), from `table`
    (process_table()) or a fresh one."""
    table = process_table() if table is None else table
    parent = {pid: int(fields[1]) for pid, fields in table.items()}
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, ppid in parent.items() if ppid in frontier} - found
        found |= frontier
    return found


def segment_table():
    """{shmid: {column: number}} of every SysV segment of this IPC namespace, by the column
    names of /proc/sysvipc/shm's header (key, shmid, perms, size, cpid, lpid, nattch, uid,
    gid, cuid, cgid, atime, dtime, ctime, rss, swap)."""
    with open("/proc/sysvipc/shm") as table:
        header = table.readline().split()
        rows = [dict(zip(header, map(int, line.split()))) for line in table]
    return {row["shmid"]: row for row in rows}
