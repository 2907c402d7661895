"""shmctl(S, times) as docs/case-format.md writes it: each of shm_atime, shm_dtime and
shm_ctime is "0" (the kernel's value is 0), "set" (within the window) or "out" (outside it).

The window runs from the start of the step that created the segment (the wall clock read by
the executor just before it sent the shmget) to the end of this observation (read just after
the answer came). The kernel's times are whole seconds of its coarse real-time clock
(ktime_get_real_seconds), which may lag time.time() by a tick: the window is widened to
[floor(start) - 1, ceil(end)]. This only measures: which step set a time is the model's to say
(model/shm_times.py), not this implementation's.
"""
import math

FIELDS = ("atime", "dtime", "ctime")
COMMANDS = ("times", "shm_stat_times")    # IPC_STAT's, SHM_STAT's of the segment's index


def window(began, ended):
    """The whole seconds a time set between ``began`` and ``ended`` (time.time()) may read."""
    return math.floor(began) - 1, math.ceil(ended)


def times_result(fields, began, ended):
    """The result's text from IPC_STAT's fields (syscalls._shmid_ds_fields)."""
    low, high = window(began, ended)
    parts = []
    for name in FIELDS:
        value = fields[name]
        word = "0" if value == 0 else "set" if low <= value <= high else "out"
        parts.append("%s=%s" % (name, word))
    return "times(%s)" % ",".join(parts)
