"""Small cases whose allowed results never depend on the results before them."""

ONE_PAGE_MMAP = """\
case one-page-mmap
profile linux
rules R02

T0: M0 = mmap(anon, private, rw, 4096)   -> ok
T0: write(M0, 7)                         -> ok
T0: read(M0)                             -> 7
"""

SYSV = """\
case sysv-write-read
profile linux
rules R01

T0: S0 = shmget(private, 4096, creat)   -> new
T0: A0 = shmat(S0)                      -> ok
T0: write(A0, 3)                        -> ok
T0: read(A0)                            -> 3
"""


def write_cases(folder, *texts):
    folder.mkdir(exist_ok=True)
    for text in texts:
        name = text.split("\n")[0].split()[1]
        (folder / f"{name}.case").write_text(text)
    return folder
