"""Corpora: folders of generated cases, read back, identified, and split into shards.

A corpus folder, as ``sharespec generate`` writes it::

    DIR/manifest.json      what was generated, how, and every case: name, fingerprint, file
    DIR/cases/NAME.case    one case per file, the text form (the form people read and edit)
    DIR/cases.jsonl        the same cases as JSON lines (only with ``generate --json``)

The manifest is the index: ``read_corpus`` reads exactly the text files it lists, and checks
that each still has the fingerprint written beside it, so a case edited by hand is noticed
(exit 2 naming the file) rather than run under an identity it no longer has. A folder with no
manifest (cases collected by hand) is read as every case file in it, duplicates by fingerprint
dropped.

Identity. A case's identity is ``case_fingerprint`` (generators/canonical.py): the program and
profile, handles renamed by first occurrence, so the same program written with other handle
names is the same case. A *selection* (the cases one run takes, before sharding) is
identified by the digest of its sorted fingerprints; ``sharespec merge`` uses it to refuse
parts of different selections.

Shards. ``shard_of(fingerprint, n)`` is Lamping and Veach's jump consistent hash ("A Fast,
Minimal Memory, Consistent Hash Algorithm", 2014) of the fingerprint's first 64 bits:

- deterministic: it depends only on the case's own fingerprint and N, never on the other
  cases, on file order or on the machine, so every part of a CI matrix computes the same split;
- stable under adding cases: a case added to the corpus does not move any other case;
- stable under growing N: going from N to N+1 shards moves only the ~1/(N+1) of the cases
  that land in the new shard; none moves between old shards;
- balanced in expectation (each shard gets ~1/N of the cases), not exactly: a small corpus
  can leave a shard with few or no cases, which then runs nothing and passes.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from sharespec.model.case import Case, CaseError

MANIFEST = "manifest.json"
CASES_FOLDER = "cases"
JSON_LINES = "cases.jsonl"
FORMAT = "sharespec-corpus"
VERSION = 1


def fingerprint(case: Case) -> str:
    from sharespec.generators.canonical import case_fingerprint
    return case_fingerprint(case)


# --- shards --------------------------------------------------------------------------

@dataclass(frozen=True)
class Shard:
    """Part ``index`` (1-based, as in ``--shard 2/4``) of ``count`` parts."""
    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, case_fingerprint: str) -> bool:
        return shard_of(case_fingerprint, self.count) == self.index


def parse_shard(text: str) -> Shard:
    """``"2/4"`` -> Shard(2, 4); ValueError saying what is wrong otherwise."""
    parts = text.split("/")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"expected I/N (part I of N, e.g. 2/4), got {text!r}")
    index, count = (int(p) for p in parts)
    if count < 1:
        raise ValueError(f"the number of shards must be at least 1, got {text!r}")
    if not 1 <= index <= count:
        raise ValueError(f"the part must lie in 1..{count} (parts are counted from 1), got {text!r}")
    return Shard(index, count)


def _jump_hash(key: int, buckets: int) -> int:
    """Jump consistent hash: a bucket in 0..buckets-1 for a 64-bit key."""
    b, j = -1, 0
    while j < buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & 0xFFFFFFFFFFFFFFFF
        j = int((b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return b


def shard_of(case_fingerprint: str, count: int) -> int:
    """The part (1..count) a case with this fingerprint belongs to."""
    return _jump_hash(int(case_fingerprint[:16], 16), count) + 1


def select_shard(cases: Iterable[Case], shard: Optional[Shard]) -> list:
    """The cases of one shard, in their given order (all of them for ``None``)."""
    cases = list(cases)
    if shard is None:
        return cases
    return [c for c in cases if shard.holds(fingerprint(c))]


def selection_digest(fingerprints: Iterable[str]) -> str:
    """The identity of a set of cases: the same cases in any order give the same digest."""
    return hashlib.sha256("\n".join(sorted(fingerprints)).encode()).hexdigest()


# --- reading -------------------------------------------------------------------------

@dataclass
class Corpus:
    path: Path
    cases: list                        # in manifest order (or sorted file order)
    fingerprints: list                 # beside cases
    manifest: Optional[dict] = None    # None for a folder without one
    duplicates_dropped: int = 0

    @property
    def digest(self) -> str:
        return selection_digest(self.fingerprints)


def read_corpus(folder) -> Corpus:
    """A corpus folder (see the module's docstring); CaseError naming the file on bad input."""
    from sharespec.casefiles import path_kind, read_case_file, read_case_paths

    path = Path(folder)
    kind = path_kind(path)
    if kind != "folder":
        raise CaseError(str(path), "", "no such folder" if kind == "missing" else "not a folder")
    manifest_path = path / MANIFEST
    if path_kind(manifest_path) == "missing":
        cases, fps, dropped = [], [], 0
        for case in read_case_paths([path]):
            fp = fingerprint(case)
            if fp in fps:
                dropped += 1
                continue
            cases.append(case)
            fps.append(fp)
        return Corpus(path, cases, fps, None, dropped)

    manifest = read_manifest(manifest_path)
    cases, fps = [], []
    for number, entry in enumerate(manifest["cases"], 1):
        file = path / entry["file"]
        try:
            missing = path_kind(file) == "missing"
        except CaseError as e:
            raise CaseError(str(manifest_path), f"case {number}",
                            f"lists a file it cannot read: {e.problem}") from None
        if missing:
            raise CaseError(str(manifest_path), f"case {number}",
                            f"lists {entry['file']}, which does not exist")
        found = read_case_file(file)
        if len(found) != 1:
            raise CaseError(str(file), "", f"expected one case, found {len(found)}")
        fp = fingerprint(found[0])
        if fp != entry["fingerprint"]:
            raise CaseError(str(file), "", "this case is not the one the manifest lists "
                                           f"(fingerprint {fp[:12]}, manifest {entry['fingerprint'][:12]}): "
                                           "edited by hand? regenerate the corpus or remove manifest.json")
        cases.append(found[0])
        fps.append(fp)
    if len(set(fps)) != len(fps):
        raise CaseError(str(manifest_path), "", "lists the same case twice")
    return Corpus(path, cases, fps, manifest)


def read_manifest(manifest_path: Path) -> dict:
    from sharespec.casefiles import json_value, read_text
    source = str(manifest_path)
    manifest = json_value(read_text(manifest_path), source, what="a manifest")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CaseError(source, "", f"not a corpus manifest (\"format\" must be {FORMAT!r})")
    if type(manifest.get("version")) is not int or manifest.get("version") != VERSION:
        raise CaseError(source, "", f"unsupported corpus version {manifest.get('version')!r}")
    entries = manifest.get("cases")
    if not isinstance(entries, list):
        raise CaseError(source, "", "\"cases\" must be a list")
    for number, entry in enumerate(entries, 1):
        if not (isinstance(entry, dict) and isinstance(entry.get("file"), str)
                and isinstance(entry.get("fingerprint"), str) and len(entry["fingerprint"]) == 64):
            raise CaseError(source, f"case {number}", "needs \"file\" and a 64-digit \"fingerprint\"")
        if os.path.isabs(entry["file"]) or ".." in Path(entry["file"]).parts:
            raise CaseError(source, f"case {number}", f"file {entry['file'][:200]!r} lies outside the corpus")
        if "\0" in entry["file"]:
            raise CaseError(source, f"case {number}", "a file name cannot hold a NUL character")
    return manifest


# --- writing -------------------------------------------------------------------------

@dataclass
class Deduplicated:
    cases: list = field(default_factory=list)
    fingerprints: list = field(default_factory=list)
    duplicates: int = 0


def deduplicate(cases: Iterable[Case]) -> Deduplicated:
    """The first case of each fingerprint, in order; the catalogue rules a dropped duplicate
    was tagged with are added to the case kept (z3 may reach two goals with one program)."""
    from dataclasses import replace

    out = Deduplicated()
    seen: dict = {}
    for case in cases:
        fp = fingerprint(case)
        if fp in seen:
            out.duplicates += 1
            kept = out.cases[seen[fp]]
            if not set(case.rules) <= set(kept.rules):
                out.cases[seen[fp]] = replace(kept, rules=tuple(sorted(set(kept.rules) | set(case.rules))))
            continue
        seen[fp] = len(out.cases)
        out.cases.append(case)
        out.fingerprints.append(fp)
    return out


def write_corpus(folder, unique: Deduplicated, about: dict, json_lines: bool = False) -> dict:
    """Write a corpus folder atomically: everything is written into a fresh folder beside
    ``folder``, which then takes its place, so that a reader sees the old corpus or the new one,
    never a mixture. An existing corpus there is replaced; a folder holding anything else is
    refused (CaseError), never overwritten. Returns the manifest."""
    from sharespec import __version__
    from sharespec.model.case_json import dumps_case
    from sharespec.model.case_text import case_to_text

    target = Path(folder)
    if target.exists():
        if not target.is_dir():
            raise CaseError(str(target), "", "exists and is not a folder")
        if any(target.iterdir()) and not (target / MANIFEST).exists():
            raise CaseError(str(target), "", "is not empty and holds no corpus (no manifest.json); "
                                             "refusing to replace it")
    names = [c.name for c in unique.cases]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise CaseError(str(target), "", f"two different cases are both named {dup!r}")
    for name in names:
        if not name or "/" in name or name.startswith("."):
            raise CaseError(str(target), "", f"case name {name!r} cannot be a file name")

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        (staging / CASES_FOLDER).mkdir()
        entries = []
        for case, fp in zip(unique.cases, unique.fingerprints):
            rel = f"{CASES_FOLDER}/{case.name}.case"
            (staging / rel).write_text(case_to_text(case), encoding="utf-8")
            entries.append({"name": case.name, "fingerprint": fp, "steps": len(case.steps),
                            "file": rel})
        if json_lines:
            (staging / JSON_LINES).write_text("".join(dumps_case(c) + "\n" for c in unique.cases),
                                             encoding="utf-8")
        manifest = {"format": FORMAT, "version": VERSION, "sharespec": __version__} | about | {
            "count": len(entries), "duplicates_dropped": unique.duplicates,
            "digest": selection_digest(unique.fingerprints),
            "json_lines": JSON_LINES if json_lines else None, "cases": entries}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        os.chmod(staging, 0o755)
        _swap_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _swap_into_place(staging: Path, target: Path) -> None:
    if not target.exists():
        os.rename(staging, target)
        return
    # rename(2) cannot replace a non-empty folder: move the old one aside first, then drop it.
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.rmdir(old)
    os.rename(target, old)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


# --- what one run takes --------------------------------------------------------------

@dataclass
class Selection:
    """The cases one run takes: the whole set, its identity, and the shard run of it."""
    cases: list                  # the shard's cases (all of them without a shard)
    total: int                   # cases in the whole set, before sharding
    digest: str                  # selection_digest of the whole set
    shard: Optional[Shard]
    sources: list                # what the set was made of, for the record

    @classmethod
    def of(cls, cases: Iterable[Case], shard: Optional[Shard], sources: list) -> "Selection":
        cases = list(cases)
        fps = [fingerprint(c) for c in cases]
        chosen = cases if shard is None else [c for c, fp in zip(cases, fps) if shard.holds(fp)]
        return cls(chosen, len(cases), selection_digest(fps), shard, sources)

    def record(self) -> dict:
        """What ``run --json`` adds to its environment record, and ``merge`` checks."""
        return {"selection": {"digest": self.digest, "cases": self.total, "sources": self.sources},
                "shard": None if self.shard is None else
                {"index": self.shard.index, "count": self.shard.count, "cases": len(self.cases)}}
