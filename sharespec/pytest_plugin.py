"""A pytest plugin: a sharespec corpus runs as parametrized tests, one per case.

Registered as the ``pytest11`` entry point ``sharespec``, so it is loaded in every pytest
session of an environment where sharespec is installed; it costs nothing there (this module
imports only pytest-free standard modules at load, and the model when a session asks for it)
and does nothing unless one of its options is given:

    pytest --sharespec-impl 'my-sandbox python3 -S -m impl'        (the built-in suite)
    pytest --sharespec-corpus cases/ --sharespec-profile posix --junitxml=report.xml

Each case is a test item named ``sharespec[RULE:CASE]`` (its first catalogue rule and its
name); a FAIL fails the item with the deviating step and the allowed results, an ERROR fails
it with the protocol problem, INCONCLUSIVE and NOT_APPLICABLE skip it with the reason. JUnit
XML comes from pytest's own ``--junitxml``. The cases run in one implementation process, in
order, as the items are collected; each item waits for its own result.
"""
from __future__ import annotations

OPTIONS = ("sharespec_impl", "sharespec_corpus", "sharespec_profile")

# An INCONCLUSIVE case is a skip, and a session of skips is green in pytest: the session fails
# the way `sharespec run` exits 3 when no case passed or too many were inconclusive.


def pytest_addoption(parser) -> None:
    group = parser.getgroup("sharespec", "sharespec conformance (memory sharing)")
    group.addoption("--sharespec-impl", metavar="COMMAND", default=None,
                    help="run the sharespec corpus against this implementation (a command "
                         "speaking docs/protocol.md; 'bundled' for the bundled one; "
                         "'mutant:NAME' for a mutant)")
    group.addoption("--sharespec-corpus", metavar="PATH", default=None,
                    help="the cases to run (.case/.json/.jsonl file or folder; default: the "
                         "built-in suite)")
    group.addoption("--sharespec-profile", metavar="NAME", default=None,
                    help="the profile to judge under (default linux)")
    group.addoption("--sharespec-timeout", metavar="SECONDS", type=float, default=10.0,
                    help="seconds per case (default 10)")
    group.addoption("--sharespec-max-inconclusive", metavar="FRACTION", type=float, default=0.10,
                    help="fail the session when more than this fraction of the judged cases "
                         "is inconclusive, or when no case passed (default 0.10)")


def _active(config) -> bool:
    return any(config.getoption(name) is not None for name in OPTIONS)


def pytest_configure(config) -> None:
    if _active(config):
        config.pluginmanager.register(SharespecSession(config), "sharespec-session")


class SharespecSession:
    """Present only when the plugin is active: adds the cases as items to the session."""

    def __init__(self, config):
        from sharespec.report import Summary
        self.config = config
        self.results = None
        self.summary = Summary()
        self.cases = []

    def pytest_collection_modifyitems(self, session, config, items) -> None:
        import pytest

        from sharespec.kit import load_corpus
        corpus = config.getoption("sharespec_corpus")
        profile = config.getoption("sharespec_profile") or "linux"
        try:
            cases = load_corpus(corpus, profile)
        except Exception as e:
            raise pytest.UsageError(f"--sharespec-corpus {corpus}: {e}") from None
        collector_class, item_class = node_classes()
        parent = collector_class.from_parent(session, name="sharespec")
        self.cases = cases
        for case in cases:
            items.append(item_class.from_parent(parent, name=f"sharespec[{case_id(case)}]",
                                              case=case, session_state=self))

    def pytest_sessionfinish(self, session, exitstatus) -> None:
        # A run stopped early (-x, deselection, Ctrl-C) leaves the stream half read: close it,
        # so that its implementations stop and leave nothing behind.
        close = getattr(self.results, "close", None)
        if close is not None:
            close()
        if self.summary.total < len(self.cases) or session.exitstatus != 0:
            return          # stopped early or already failing: the counts say nothing more
        status, why = self.summary.settle(self.config.getoption("sharespec_max_inconclusive"))
        if status != 0:
            import pytest
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_line(f"sharespec: the session fails: {why}", red=True)

    def result_of(self, case):
        if self.results is None:
            from sharespec.kit import run_implementation
            impl = self.config.getoption("sharespec_impl")
            impl = None if impl in (None, "bundled") else impl
            profile = self.config.getoption("sharespec_profile") or "linux"
            timeout = self.config.getoption("sharespec_timeout")
            self.results = iter(run_implementation(impl, self.cases, profile, timeout))
            self.done = {}
        while id(case) not in self.done:
            r = next(self.results)
            self.done[id(r.case)] = r
            self.summary.add(r)
        return self.done.pop(id(case))


def case_id(case) -> str:
    rule = case.rules[0] if case.rules else "-"
    return f"{rule}:{case.name}"


def _node_classes():
    import pytest

    class CorpusCollector(pytest.Collector):
        def collect(self):
            return []

    class CaseItem(pytest.Item):
        def __init__(self, *, case, session_state, **kwargs):
            super().__init__(**kwargs)
            self.case = case
            self.session_state = session_state
            self.user_properties.append(("sharespec_rules", " ".join(case.rules)))

        def runtest(self):
            result = self.session_state.result_of(self.case)
            self.user_properties.append(("sharespec_verdict", result.verdict))
            if result.verdict in ("INCONCLUSIVE", "NOT_APPLICABLE"):
                pytest.skip(f"{result.verdict}: {result.detail}")
            if result.verdict != "PASS":
                raise CaseFailed(result)

        def repr_failure(self, excinfo):
            if isinstance(excinfo.value, CaseFailed):
                return excinfo.value.text()
            return super().repr_failure(excinfo)

        def reportinfo(self):
            return self.path, None, f"sharespec case {self.case.name}"

    return CorpusCollector, CaseItem


class CaseFailed(Exception):
    def __init__(self, result):
        super().__init__(result.detail)
        self.result = result

    def text(self) -> str:
        from sharespec.generators.reproducer import outcome_text
        r = self.result
        head = f"{r.verdict} {r.case.name}: {r.detail}"
        if r.verdict == "FAIL" and r.case.allowed is not None:
            head += "\n" + outcome_text(r.case, r)
            if r.rules:
                head += f"rules: {', '.join(r.rules)}\n"
        return head


_CLASSES: dict = {}


def node_classes() -> tuple:
    """(CorpusCollector, CaseItem): they subclass pytest's, so they are made on first use."""
    if not _CLASSES:
        _CLASSES["classes"] = _node_classes()
    return _CLASSES["classes"]
