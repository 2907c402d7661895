"""The copy-on-write program (R11) that the frame tests of both tiers judge, and Linux's own
frame report for it (tests/model/test_frames.py, tests/host/test_frames_posix.py)."""

COW = """\
T0: M0 = mmap(anon, private, rw, 4096)
T0: write(M0, 1)
T0: T1 = fork()
T0: frames(T0:M0, T1:M0)
T1: write(M0, 2)
T0: frames(T0:M0, T1:M0)
"""
COW_LINUX = ["ok", "ok", "ok", "frames(A,B;A=p,B=p)", "ok", "frames(A/B;A=pe,B=pe)"]
