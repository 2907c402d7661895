"""Hostile input at scale: every input surface of the command line, fuzzed (issue 13, "Figures").

Each input is one whole command (``sharespec show FILE``, ``run --case ...``, ``merge PART``,
...) run in a child process forked from this one (fast: the modules are already imported), in
a process group of its own, with a per-input time limit. Surfaces:

- ``case``: .case text files (valid cases mutated, random text, hostile tokens);
- ``json``: .json case files (structural mutations: values replaced by any JSON value, fields
  dropped or added, deep nesting, huge numbers, lone surrogates, raw U+2028);
- ``jsonl``: JSON-lines files of such cases (some valid, some not), read by ``run --case``;
- ``corpus``: a generated corpus folder with its manifest or its files mutated, replaced by
  special files, or nested;
- ``merge``: results files of ``run --json`` mutated, given to ``merge``;
- ``options``: command lines with hostile option values (``-j``, ``--timeout``, ``--impl``,
  ``--json``, ``--shard``, ``--profile``, ...);
- ``special``: FIFOs, devices, folders, dangling and looping links, over-long names, wherever
  a path is taken;
- ``observe``: a fake implementation that answers with fuzzed observation lines (mutated
  observations, garbage, no newline, huge lines, lone surrogates, floods on stderr, exits).

It counts, per surface: exit statuses (0, 1, 2, 3 and 130 are the documented ones), tracebacks
(any "Traceback" on stderr, or an exception escaping the command), hangs (no exit within the
time limit) and other exit statuses; and prints the figures. The goal is 0 tracebacks, 0
hangs and 0 other statuses. Exit status 1 when any was seen; the first few are printed.

    python benchmarks/fuzz_parsers.py [--count N] [--seed S] [--timeout SECONDS]

Run it in a private IPC namespace for exact figures (``unshare --ipc``), though it uses a fake
implementation almost everywhere; the few runs against the bundled one run a one-page case.
"""
from __future__ import annotations

import argparse
import collections
import io
import json
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "sharespec" / "cases"
SHARE = [sys.executable, "-m", "sharespec"]
ALLOWED_STATUS = {0, 1, 2, 3, 130}   # sharespec run --help, "exit status"

# --- the fake implementation ------------------------------------------------------------

FAKE = r'''
import json, os, sys, time
actions = json.load(open(sys.argv[1], encoding="utf-8")) if len(sys.argv) > 1 else []
n = 0
for line in sys.stdin.buffer:
    if not line.strip():
        continue
    try:
        name = json.loads(line).get("name")
    except Exception:
        name = None
    a = actions[min(n, len(actions) - 1)] if actions else {"out": None}
    n += 1
    if a.get("err"):
        os.write(2, a["err"].encode("latin-1") * a.get("err_times", 1))
    out = a.get("out")
    if out is None:
        out = json.dumps({"format": "sharespec-observation", "version": 1, "case": name,
                          "status": "error", "results": [], "detail": "fake"}) + "\n"
    data = out.encode("latin-1") * a.get("times", 1)
    while data:
        data = data[os.write(1, data):]
    if a.get("exit") is not None:
        os._exit(a["exit"])
'''

# --- hostile values ---------------------------------------------------------------------

TOKENS = ["9" * 5000, "-1", "0x", "0xffffffffffffffffffff", "1099511627776", "1e999", "NaN",
          "\ud800", "\u2028", "\u2029", "\x85", "\x00", "\r", "\t", "#", "->", "|", "(", ")",
          ",", "=", "[", "]", "+", ":", "anon", "T0:", "case", "profile windows", "../",
          "/tmp/x", "x" * 300, "é", "\ufeff", "M0[999]", "M0+4096", "frames(", "mutant:",
          "-> new", "-> ok | ok", "rules", "origin :x()", "  ", "\n", "\\", '"', "'"]


def json_value(rng: random.Random, depth: int = 0):
    choice = rng.randrange(14)
    if choice == 0 or depth > 3:
        return rng.choice([None, True, False, 0, 1, -1, 1.0, 2 ** 64, 10 ** 30, 0.5, 1e308])
    if choice == 1:
        return rng.choice(TOKENS)
    if choice == 2:
        return [json_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if choice == 3:
        return {rng.choice(["a", "name", "op", "args", "x", "\ud800"]): json_value(rng, depth + 1)
                for _ in range(rng.randrange(3))}
    if choice == 4:
        return "".join(rng.choice(TOKENS[:30]) for _ in range(rng.randrange(1, 4)))
    if choice == 5:
        return rng.randrange(-2 ** 70, 2 ** 70)
    return rng.choice(["ok", "new", "0", "EINVAL", "private", "T0", "M0", "S0", "F0", "linux",
                       "posix", "rw", "shared", 4096, 0, 8192, "done", "error", "timeout"])


def paths_of(obj, path=()):
    yield path
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from paths_of(value, path + (key,))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            yield from paths_of(value, path + (index,))


def mutate_json(rng: random.Random, obj, times=None) -> str:
    """JSON text of ``obj`` with 1-3 structural mutations (and sometimes deep nesting or a
    truncation); raw non-ASCII (U+2028 included) half of the time."""
    nest = None
    for _ in range(times if times is not None else rng.randint(1, 3)):
        path = rng.choice(list(paths_of(obj)))
        how = rng.choice(["replace", "replace", "drop", "add", "nest"])
        if not path:
            if how == "replace" and rng.random() < 0.2:
                obj = json_value(rng)
            continue
        parent = obj
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        if how == "replace":
            parent[key] = json_value(rng)
        elif how == "drop":
            del parent[key]
        elif how == "add" and isinstance(parent, dict):
            parent[rng.choice(["extra", "name", "version", "\u2028"])] = json_value(rng)
        elif how == "nest" and nest is None:
            nest = rng.choice([3, 900, 1000, 5000, 100000])
            parent[key] = "NESTED-HERE"
    try:
        text = json.dumps(obj, ensure_ascii=rng.random() < 0.5)
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(obj)
    if nest is not None:
        text = text.replace('"NESTED-HERE"', "[" * nest + "1" + "]" * nest, 1)
    if rng.random() < 0.15:
        text = text[:rng.randrange(len(text) + 1)]
    return text


def mutate_text(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(lines) + 1)
        how = rng.choice(["delete", "duplicate", "garble", "insert", "token", "number"])
        if how == "delete" and i < len(lines):
            del lines[i]
        elif how == "duplicate" and i < len(lines):
            lines.insert(i, lines[i])
        elif how == "garble" and i < len(lines):
            at = rng.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:at] + rng.choice(TOKENS) + lines[i][at + rng.randrange(3):]
        elif how == "insert":
            lines.insert(i, "".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 5))))
        elif how == "token" and i < len(lines):
            words = lines[i].split(" ")
            words[rng.randrange(len(words))] = rng.choice(TOKENS)
            lines[i] = " ".join(words)
        elif how == "number" and i < len(lines):
            lines[i] = lines[i].replace("4096", rng.choice(["9" * 5000, "0", "1099511627776",
                                                            "68719476736", "0x1000"]), 1)
    out = "\n".join(lines)
    if rng.random() < 0.1:
        out = out[:rng.randrange(len(out) + 1)]
    return out


def to_bytes(rng: random.Random, text: str) -> bytes:
    """Text as a file holds it: UTF-8, or (rarely) with a stray invalid byte."""
    data = text.encode("utf-8", "surrogatepass")
    if rng.random() < 0.03:
        at = rng.randrange(len(data) + 1)
        data = data[:at] + bytes([rng.choice([0xff, 0xc3, 0x80, 0x00])]) + data[at:]
    return data


# --- running one input ------------------------------------------------------------------

class Campaign:
    def __init__(self, work: Path, seed: int, timeout: float):
        self.work, self.timeout = work, timeout
        self.rng = random.Random(seed)
        self.tally: dict = collections.defaultdict(collections.Counter)
        self.problems: list = []
        self.slowest = (0.0, "")
        self.fake = work / "fake_impl.py"
        self.fake.write_text(FAKE)
        self.fake_cmd = f"{sys.executable} -S {self.fake}"
        self.bases = [p for p in sorted(CASES.glob("*.case")) if len(p.read_text()) < 1500]
        from sharespec.casefiles import read_case_file
        from sharespec.model.case_json import case_to_json
        self.base_json = [case_to_json(read_case_file(p)[0]) for p in self.bases]
        self.small = self.bases[0]

    def run(self, surface: str, argv: list, cwd: Path, what: str = "") -> None:
        """Run ``sharespec ARGV`` in a forked child; record how it ended."""
        out_path, err_path = cwd / ".out", cwd / ".err"
        t0 = time.monotonic()
        pid = os.fork()
        if pid == 0:  # the child: becomes the command
            code = 70
            try:
                os.setpgid(0, 0)
                os.chdir(cwd)
                fd_in = os.open(os.devnull, os.O_RDONLY)
                fd_out = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                fd_err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(fd_in, 0)
                os.dup2(fd_out, 1)
                os.dup2(fd_err, 2)
                sys.stdin = open(0, encoding="utf-8", closefd=False)
                sys.stdout = io.TextIOWrapper(open(1, "wb", closefd=False), encoding="utf-8",
                                              line_buffering=True)
                sys.stderr = io.TextIOWrapper(open(2, "wb", closefd=False), encoding="utf-8",
                                              errors="backslashreplace", line_buffering=True)
                signal.signal(signal.SIGINT, signal.default_int_handler)
                from sharespec.cli import main
                try:
                    code = main(argv)
                except SystemExit as e:       # argparse: 2 for usage, 0 for --help
                    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
                except BaseException:         # noqa: BLE001 - what the campaign looks for
                    sys.stderr.write("sharespec-fuzz escaped:\n" + traceback.format_exc())
                    code = 70
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code if isinstance(code, int) and 0 <= code < 256 else 71)
        status, hung = None, False
        deadline = t0 + self.timeout
        while True:
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(raw)
                break
            if time.monotonic() > deadline:
                hung = True
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                os.waitpid(pid, 0)
                break
            time.sleep(0.005)
        try:               # whatever the command started in its group ends with it
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        seconds = time.monotonic() - t0
        err = err_path.read_bytes()[-20000:].decode("utf-8", "replace") if err_path.exists() else ""
        tally = self.tally[surface]
        tally["inputs"] += 1
        label = f"{surface}: sharespec {' '.join(map(str, argv))[:160]!r} {what}"
        if hung:
            tally["hangs"] += 1
            self.note(f"HANG ({self.timeout:.0f} s) {label}")
        elif "Traceback (most recent call last)" in err:
            tally["tracebacks"] += 1
            self.note(f"TRACEBACK (exit {status}) {label}\n" + err[-1500:])
        elif status not in ALLOWED_STATUS:
            tally["other status"] += 1
            self.note(f"EXIT {status} {label}\n" + err[-600:])
        else:
            tally[f"exit {status}"] += 1
        if seconds > self.slowest[0]:
            self.slowest = (seconds, label)

    def note(self, text: str) -> None:
        if len(self.problems) < 30:
            self.problems.append(text)

    def fresh(self) -> Path:
        folder = Path(tempfile.mkdtemp(dir=self.work))
        return folder

    def done_with(self, folder: Path) -> None:
        for p in folder.rglob("*"):
            try:
                if p.is_dir() and not p.is_symlink():
                    os.chmod(p, 0o700)
            except OSError:
                pass
        shutil.rmtree(folder, ignore_errors=True)

    # --- the surfaces -----------------------------------------------------------------

    def case_text(self) -> None:
        rng, d = self.rng, self.fresh()
        if rng.random() < 0.85:
            text = mutate_text(rng, rng.choice(self.bases).read_text())
        else:
            text = "".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 40)))
        (d / "c.case").write_bytes(to_bytes(rng, text))
        argv = rng.choice([["show", "c.case"], ["show", "--json", "c.case"],
                           ["run", "--case", "c.case", "--impl", self.fake_cmd, "--no-shrink"],
                           ["explain", "c.case", "--out", "x.dot"]])
        self.run("case", argv, d)
        self.done_with(d)

    def case_json(self) -> None:
        rng, d = self.rng, self.fresh()
        text = mutate_json(rng, json.loads(json.dumps(rng.choice(self.base_json))))
        (d / "c.json").write_bytes(to_bytes(rng, text))
        argv = rng.choice([["show", "c.json"], ["show", "--json", "c.json"],
                           ["run", "--case", "c.json", "--impl", self.fake_cmd, "--no-shrink", "-q"]])
        self.run("json", argv, d)
        self.done_with(d)

    def case_jsonl(self) -> None:
        rng, d = self.rng, self.fresh()
        lines = []
        for _ in range(rng.randint(1, 4)):
            obj = json.loads(json.dumps(rng.choice(self.base_json)))
            lines.append(mutate_json(rng, obj, times=rng.choice([0, 0, 1, 2])))
        sep = rng.choice(["\n", "\n", "\r\n", "\n\n", "\u2028"])
        (d / "c.jsonl").write_bytes(to_bytes(rng, sep.join(lines) + rng.choice(["", "\n"])))
        self.run("jsonl", ["run", "--case", "c.jsonl", "--impl", self.fake_cmd, "--no-shrink",
                           "-q", "-j", str(rng.choice([1, 1, 2]))], d)
        self.done_with(d)

    def corpus(self) -> None:
        rng, d = self.rng, self.fresh()
        corpus = d / "corpus"
        shutil.copytree(self.base_corpus, corpus)
        manifest = corpus / "manifest.json"
        how = rng.choice(["manifest", "manifest", "case", "delete", "special", "nest", "extra",
                          "name"])
        files = sorted((corpus / "cases").iterdir())
        if how == "manifest":
            manifest.write_bytes(to_bytes(rng, mutate_json(rng, json.loads(manifest.read_text()))))
        elif how == "case":
            f = rng.choice(files)
            f.write_bytes(to_bytes(rng, mutate_text(rng, f.read_text())))
        elif how == "delete":
            rng.choice(files + [manifest]).unlink()
        elif how == "special":
            f = rng.choice(files + [manifest])
            f.unlink()
            rng.choice([lambda: os.mkfifo(f), lambda: f.mkdir(),
                        lambda: os.symlink("/dev/zero", f), lambda: os.symlink(f, f)])()
        elif how == "nest":
            manifest.write_text("[" * rng.choice([999, 1000, 100000]))
        elif how == "extra":
            (corpus / "cases" / rng.choice(["x.case", "y.json", "z.jsonl", "a.observation.json"])
             ).write_bytes(to_bytes(rng, mutate_text(rng, rng.choice(self.bases).read_text())))
        elif how == "name":
            m = json.loads(manifest.read_text())
            m["cases"][0]["file"] = rng.choice(["cases/" + "n" * 300 + ".case", "/etc/passwd",
                                                "../x.case", "cases/\u0000.case", "cases",
                                                "cases/" + "a/" * 200 + "b.case"])
            manifest.write_text(json.dumps(m))
        argv = rng.choice([["run", "--case", "corpus"], ["run", "--corpus", "corpus"],
                           ["show", "corpus"]])
        if argv[0] == "run":
            argv += ["--impl", self.fake_cmd, "--no-shrink", "-q"]
        self.run("corpus", argv, d, how)
        self.done_with(d)

    def merge(self) -> None:
        rng, d = self.rng, self.fresh()
        records = [json.loads(line) for line in self.base_part.read_text().splitlines()]
        how = rng.choice(["record", "record", "text", "two"])
        if how == "record":
            i = rng.randrange(len(records))
            text = mutate_json(rng, {"r": records[i]})
            lines = [json.dumps(r) for r in records]
            try:
                lines[i] = json.dumps(json.loads(text)["r"], ensure_ascii=rng.random() < 0.5)
            except (ValueError, KeyError, TypeError, RecursionError):
                lines[i] = text
            (d / "p.jsonl").write_bytes(to_bytes(rng, "\n".join(lines) + "\n"))
            argv = ["merge", "p.jsonl"]
        elif how == "text":
            (d / "p.jsonl").write_bytes(to_bytes(rng, mutate_text(rng, self.base_part.read_text())))
            argv = ["merge", "p.jsonl"]
        else:
            shutil.copy(self.base_part, d / "p.jsonl")
            (d / "q.jsonl").write_bytes(to_bytes(rng, mutate_text(rng, self.base_part.read_text())))
            argv = ["merge", "p.jsonl", "q.jsonl"]
        if rng.random() < 0.3:
            argv += ["--json", rng.choice(["out.jsonl", "-", ".", "/nonexistent/x", "p.jsonl"])]
        self.run("merge", argv, d, how)
        self.done_with(d)

    OPTION_VALUES = {
        "-j": ["0", "-1", "3", "99999999999999999999", "x", "1.5", ""],
        "--timeout": ["inf", "-inf", "nan", "0", "-1", "1e308", "0.0001", "x", "1e-320", "86401"],
        "--impl": ['"x', "\\", "", " ", "./my-harness", "mutant:", "mutant:nope", "/dev/null",
                   "/", "true", "false", "cat", "sh -c 'exit 3'", "yes", "\udcff"],
        # never a device as an output: a regression would rename a file onto it (as root)
        "--json": ["/nonexistent/x", ".", "fifo", "", "-", "x" * 300, "out.json", "/"],
        "--shard": ["0/0", "1/0", "2/1", "x", "1/99999999999999999999", "-1/2", "1/2/3", ""],
        "--profile": ["windows", "", "linux+nope", "posix", "linux+", "+", "\udcff"],
        "--seed": ["-1", "99999999999999999999999", "x", "9" * 5000],
        "--out": ["/nonexistent/x", "fifo", "", "x" * 300],
        "--generated": ["-1", "x"],
        "--z3-bound": ["-1", "x"],
        "--case": ["/dev/zero", "", ".", "/", "nope.case", "x" * 300],
    }

    def options(self) -> None:
        rng, d = self.rng, self.fresh()
        os.mkfifo(d / "fifo")
        os.mkfifo(d / "fifo.dot")
        command = rng.choice(["run", "run", "run", "show", "explain", "shrink", "merge", "--bogus",
                              "", "help"])
        argv = [command] if command else []
        if command == "run":
            argv += ["--case", str(self.small), "--no-shrink", "-q"]
            impl = ["--impl", self.fake_cmd]
            for _ in range(rng.randint(1, 3)):
                option = rng.choice(list(self.OPTION_VALUES))
                argv += [option, rng.choice(self.OPTION_VALUES[option])]
                if option == "--impl":
                    impl = []
            if "--shard" in argv and rng.random() < 0.5:
                argv.remove("--shard")
            argv += impl
        elif command in ("show", "explain", "shrink"):
            argv.append(rng.choice([str(self.small), "r02-anon-zero", "nope", "", "\udcff", "-x"]))
            if command == "explain":
                argv += ["--out", rng.choice(["x.dot", "x.png", "x.txt", "", "fifo.dot", "."]),
                         *rng.choice([[], ["--step", rng.choice(["0", "-1", "999", "x"])],
                                      ["--observed", rng.choice(["/dev/zero", "nope", "."])]])]
            if command == "shrink":
                argv += ["--impl", self.fake_cmd,
                         *rng.choice([[], ["--profile", "windows"], ["--timeout", "nan"]])]
        elif command == "merge":
            argv += rng.choice([[], ["--json"], ["/dev/zero"], ["nope"], ["."]])
        if rng.random() < 0.1:
            argv.insert(rng.randrange(len(argv) + 1), rng.choice(["--help", "-q", "--", "--x"]))
        self.run("options", argv, d)
        self.done_with(d)

    def special_paths(self, d: Path) -> list:
        fifo = d / "fifo.case"
        os.mkfifo(fifo)
        sock = d / "sock.case"
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(sock))
        s.close()
        (d / "loop.case").symlink_to(d / "loop.case")
        (d / "dangling.case").symlink_to(d / "nowhere")
        (d / "folder.case").mkdir()
        (d / "empty.case").write_text("")
        (d / "nl\nname.case").write_text(self.small.read_text())
        return [fifo, sock, d / "loop.case", d / "dangling.case", d / "folder.case",
                d / "empty.case", d / "nl\nname.case", Path("/dev/zero"), Path("/dev/urandom"),
                Path("/dev/null"), Path("/dev/full"), d / ("n" * 300), d / "nope.case", Path("/")]

    def special(self) -> None:
        d = self.fresh()
        for path in self.special_paths(d):
            p = str(path)
            outputs = [] if p.startswith("/dev/") or p == "/" else [  # never a device: see --json
                ["run", "--case", str(self.small), "--impl", self.fake_cmd, "--json", p],
                ["merge", str(self.base_part), "--json", p],
                ["explain", str(self.small), "--out", p + ".dot"]]
            for argv in [["show", p], ["run", "--case", p, "--impl", self.fake_cmd],
                         ["run", "--corpus", p, "--impl", self.fake_cmd], ["merge", p],
                         ["explain", p, "--out", "x.dot"],
                         ["explain", str(self.small), "--observed", p, "--out", "x.dot"],
                         ["shrink", p, "--impl", self.fake_cmd]] + outputs:
                self.run("special", argv, d, p[-40:])
        self.done_with(d)

    def observation_line(self, name: str, steps: int) -> str:
        rng = self.rng
        base = {"format": "sharespec-observation", "version": 1, "case": name,
                "status": rng.choice(["done", "done", "timeout", "error"]),
                "results": [rng.choice(["ok", "0", "new", "EINVAL", "ENOMEM", "7"])
                            for _ in range(rng.choice([steps, steps, 0, steps + 1, 1]))],
                "detail": rng.choice(["", "x", "\ud800", "\u2028"])}
        kind = rng.randrange(10)
        if kind < 6:
            return mutate_json(rng, base, times=rng.choice([0, 1, 1, 2])) + "\n"
        if kind == 6:
            return "".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 10))) + "\n"
        if kind == 7:
            return json.dumps(base)            # no newline: then the process exits or waits
        if kind == 8:
            return "\n".join(json.dumps(base) for _ in range(rng.randint(2, 3))) + "\n"
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))).decode("latin-1") + "\n"

    def observe(self) -> None:
        rng, d = self.rng, self.fresh()
        chosen = rng.sample(self.bases, rng.randint(1, 3))
        from sharespec.casefiles import read_case_file
        actions = []
        for path in chosen:
            case = read_case_file(path)[0]
            action = {"out": self.observation_line(case.name, len(case.steps))}
            if rng.random() < 0.15:
                action["err"], action["err_times"] = "e" * 1000, rng.choice([1, 70, 300])
            if rng.random() < 0.1:
                action["exit"] = rng.choice([0, 1, 3, 139])
            if rng.random() < 0.03:
                action["out"], action["times"] = "x", rng.choice([2 ** 20, 17 * 2 ** 20])
            if action["out"] and not action["out"].endswith("\n") and "exit" not in action:
                action["exit"] = 0
            actions.append(action)
        (d / "actions.json").write_text(json.dumps(actions))
        argv = ["run", "--impl", f"{self.fake_cmd} {d / 'actions.json'}", "--timeout", "3",
                "-j", str(rng.choice([1, 1, 2])), "-q"]
        for path in chosen:
            argv += ["--case", str(path)]
        if rng.random() < 0.9:
            argv.append("--no-shrink")
        else:
            argv += ["--out", "failures"]
        if rng.random() < 0.2:
            argv += ["--json", "results.jsonl"]
        self.run("observe", argv, d)
        self.done_with(d)

    # --- the campaign -----------------------------------------------------------------

    def prepare(self) -> None:
        from sharespec.cli import main
        self.base_corpus = self.work / "base-corpus"
        self.base_part = self.work / "base-part.jsonl"
        quiet = io.StringIO()
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = quiet
        try:
            assert main(["generate", "--count", "4", "--bound", "3", "--out",
                         str(self.base_corpus)]) == 0
            assert main(["run", "--case", str(self.bases[0]), "--case", str(self.bases[1]),
                         "--impl", self.fake_cmd, "--json", str(self.base_part), "-q"]) in (0, 1, 3)
        finally:
            sys.stdout, sys.stderr = saved

    def print_figures(self, seconds: float) -> int:
        columns = ["inputs", "exit 0", "exit 1", "exit 2", "exit 3", "exit 130", "tracebacks", "hangs",
                   "other status"]
        print(f"{'surface':<9}" + "".join(f"{c:>13}" for c in columns))
        total = collections.Counter()
        for surface, tally in self.tally.items():
            total.update(tally)
            print(f"{surface:<9}" + "".join(f"{tally[c]:>13}" for c in columns))
        print(f"{'total':<9}" + "".join(f"{total[c]:>13}" for c in columns))
        print(f"{total['inputs']} inputs in {seconds:.0f} s; slowest {self.slowest[0]:.1f} s: "
              f"{self.slowest[1][:150]}")
        for problem in self.problems:
            print("----\n" + problem)
        return total["tracebacks"] + total["hangs"] + total["other status"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10000, help="inputs (default 10000)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds an input may take before it counts as a hang (default 60)")
    args = parser.parse_args()
    seed = random.randrange(2 ** 32) if args.seed is None else args.seed
    work = Path(tempfile.mkdtemp(prefix="sharespec-fuzz-"))
    print(f"seed {seed}; {args.count} inputs; work folder {work}", flush=True)
    t0 = time.monotonic()
    try:
        campaign = Campaign(work, seed, args.timeout)
        campaign.prepare()
        campaign.special()                      # every special path at every place: ~130
        weights = [("case", campaign.case_text, 20), ("json", campaign.case_json, 20),
                   ("jsonl", campaign.case_jsonl, 10), ("corpus", campaign.corpus, 10),
                   ("merge", campaign.merge, 12), ("options", campaign.options, 13),
                   ("observe", campaign.observe, 15)]
        surfaces = [f for _, f, w in weights for _ in range(w)]
        done = sum(t["inputs"] for t in campaign.tally.values())
        while done < args.count:
            campaign.rng.choice(surfaces)()
            done += 1
            if done % 500 == 0:
                bad = sum(t["tracebacks"] + t["hangs"] + t["other status"]
                          for t in campaign.tally.values())
                print(f"  {done} inputs, {time.monotonic() - t0:.0f} s, {bad} problems", flush=True)
        return 1 if campaign.print_figures(time.monotonic() - t0) else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
