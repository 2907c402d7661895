"""One program and the same program with every handle renamed: the fingerprint and
deduplication tests' shared example (a case is its program up to the names of its handles)."""
from sharespec.model.ops import PAGE_SIZE, Fork, Place, Read, ShmAt, ShmGet, Step, Write

PROGRAM = [Step("T0", ShmGet("private", PAGE_SIZE, creat=True), "S0"),
           Step("T0", ShmAt("S0"), "A0"),
           Step("T0", Fork(), "T1"),
           Step("T1", Write(Place("A0"), 7)),
           Step("T0", Read(Place("A0")))]
RENAMED = [Step("T0", ShmGet("private", PAGE_SIZE, creat=True), "seg"),
           Step("T0", ShmAt("seg"), "att"),
           Step("T0", Fork(), "child"),
           Step("child", Write(Place("att"), 7)),
           Step("T0", Read(Place("att")))]
