"""A Django test runner that writes every test's outcome to a JSON report.

``runtests.py`` picks it up from ``TEST_RUNNER`` in ``djangosuite_settings``;
``run.py`` reads the report (path in ``DJANGOSUITE_REPORT``) and compares it
with the expected failures. Parallel workers send their results to the parent
process as pickled events, so outcomes are recorded there, in one place.
"""

from __future__ import annotations

import json
import os
import re
import sys
import traceback
import unittest
from typing import Any

from django.db import connections
from django.test.runner import (
    DiscoverRunner,
    ParallelTestSuite,
    RemoteTestResult,
    RemoteTestRunner,
    iter_test_cases,
)

REPORT_VARIABLE = "DJANGOSUITE_REPORT"
#: Ids of tests to leave out, separated by whitespace (run.py passes run_alone.txt,
#: whose tests it runs afterwards by themselves).
EXCLUDE_VARIABLE = "DJANGOSUITE_EXCLUDE"

PASSED = "passed"
FAILED = "failed"
ERROR = "error"
SKIPPED = "skipped"
# Django's own @expectedFailure tests: they count as passing, as in unittest.
EXPECTED_FAILURE = "expected failure"
UNEXPECTED_SUCCESS = "unexpected success"

# Outcomes that make a test fail; a later one never hides an earlier failure.
_BAD = (FAILED, ERROR, UNEXPECTED_SUCCESS)

# unittest names an error outside a test "setUpClass (module.Class)".
_FIXTURE_ERROR = re.compile(r"^(\w+) \((.+)\)$")


def test_id(test: Any) -> str:
    """A dotted id for a test, or for the class/module fixture that failed."""
    identifier = test.id()
    if isinstance(test, unittest.suite._ErrorHolder):
        match = _FIXTURE_ERROR.match(identifier)
        if match:
            return f"{match[2]}.{match[1]}"
    return identifier


class OutcomeRecorder:
    """Mixin for a unittest result class: remembers each test's outcome."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outcomes: dict[str, str] = {}
        self.details: dict[str, str] = {}

    def _record(self, test: Any, outcome: str, err: Any = None) -> None:
        key = test_id(test)
        if self.outcomes.get(key) in _BAD:
            return
        self.outcomes[key] = outcome
        if err is not None:
            exc_type, exc_value = err[0], err[1]
            self.details[key] = f"{exc_type.__name__}: {exc_value}"[:500]

    def addSuccess(self, test):  # noqa: N802 - unittest's API
        super().addSuccess(test)
        self._record(test, PASSED)

    def addFailure(self, test, err):  # noqa: N802
        super().addFailure(test, err)
        self._record(test, FAILED, err)

    def addError(self, test, err):  # noqa: N802
        super().addError(test, err)
        self._record(test, ERROR, err)

    def addSkip(self, test, reason):  # noqa: N802
        super().addSkip(test, reason)
        self._record(test, SKIPPED)

    def addExpectedFailure(self, test, err):  # noqa: N802
        super().addExpectedFailure(test, err)
        self._record(test, EXPECTED_FAILURE)

    def addUnexpectedSuccess(self, test):  # noqa: N802
        super().addUnexpectedSuccess(test)
        self._record(test, UNEXPECTED_SUCCESS)

    def addSubTest(self, test, subtest, err):  # noqa: N802
        super().addSubTest(test, subtest, err)
        if err is not None:
            # The test fails as a whole; unittest then skips its addSuccess().
            failed = issubclass(err[0], test.failureException)
            self._record(test, FAILED if failed else ERROR, err)


class UnpicklableFailure(AssertionError):
    """Stands in for a test failure whose exception cannot be pickled."""


class UnpicklableError(Exception):
    """Stands in for a test error whose exception cannot be pickled."""


class WorkerResult(RemoteTestResult):
    """Result of a parallel worker: every outcome reaches the parent process.

    - An exception that cannot be pickled would end the whole run (Django's
      worker raises); it is sent as a stand-in carrying its traceback as text.
    - Django's worker sends an error of a class or module fixture with the
      index of the test that ran before it, so the parent would charge it to
      that (passed) test; it is sent with index -1 and its own id instead,
      which makes the parent rebuild it under its name.
    """

    def _picklable(self, err: Any, stand_in: type) -> Any:
        try:
            self._confirm_picklable(err)
        except Exception:  # noqa: BLE001 - whatever pickling raises
            text = "".join(traceback.format_exception(*err))
            return (stand_in, stand_in(f"(not picklable, sent as text)\n{text}"), None)
        return err

    def addError(self, test, err):  # noqa: N802 - unittest's API
        err = self._picklable(err, UnpicklableError)
        if not isinstance(test, unittest.suite._ErrorHolder):
            return super().addError(test, err)
        self.events.append(("addError", -1, test.id(), err))
        unittest.TestResult.addError(self, test, err)

    def addFailure(self, test, err):  # noqa: N802
        super().addFailure(test, self._picklable(err, UnpicklableFailure))

    def startTest(self, test):  # noqa: N802
        self._started = test
        super().startTest(test)

    def addSkip(self, test, reason):  # noqa: N802
        # Python 3.12+ skips a test without startTest(), so Django's event
        # would carry the index of the test before it: the parent would mark
        # that one skipped and never hear of this one. Start it, as 3.11 did.
        if getattr(self, "_started", None) is not test:
            self.startTest(test)
            super().addSkip(test, reason)
            self.stopTest(test)
            return
        super().addSkip(test, reason)

    def addSubTest(self, test, subtest, err):  # noqa: N802
        if err is not None:
            failed = issubclass(err[0], test.failureException)
            err = self._picklable(err, UnpicklableFailure if failed else UnpicklableError)
        super().addSubTest(test, subtest, err)


class WorkerRunner(RemoteTestRunner):
    resultclass = WorkerResult


class ConformanceParallelSuite(ParallelTestSuite):
    runner_class = WorkerRunner


class ConformanceRunner(DiscoverRunner):
    """DiscoverRunner that writes the JSON report ``run.py`` checks."""

    parallel_test_suite = ConformanceParallelSuite

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if os.environ.get("DJANGOSUITE_ENGINE") == "stock":
            # What "mysqlpool" in INSTALLED_APPS does when the app is ready
            # (runtests.py sets INSTALLED_APPS itself). Parallel workers are
            # forked from this process, hooks included.
            from mysqlpool.backends import stock

            stock.install()
        self.collected: list[str] = []
        self.result: Any = None
        self.to_exclude = set(os.environ.get(EXCLUDE_VARIABLE, "").split())
        self.excluded: list[str] = []
        if self.parallel > 1:
            try:
                import tblib  # noqa: F401
            except ImportError:
                # Without it a failing test's traceback cannot cross the
                # process boundary and the whole run crashes.
                sys.exit("djangosuite: parallel runs need tblib (pip install tblib)")

    def setup_databases(self, **kwargs: Any) -> list:
        if os.environ.get("DJANGOSUITE_ENGINE") == "stock":
            from mysqlpool.backends.pooling import PoolingMixin

            unpooled = [alias for alias in connections
                        if not isinstance(connections[alias], PoolingMixin)]
            if unpooled:
                sys.exit(f"djangosuite: Django's ENGINE with OPTIONS['pool'] is not "
                         f"pooled for {unpooled}")
        old_config = super().setup_databases(**kwargs)
        self.check_clones(kwargs.get("aliases") or ())
        return old_config

    def check_clones(self, aliases: Any) -> None:
        """Stop when a parallel worker's copy of a test database is incomplete.

        Django clones the MySQL test database with ``mysqldump | mysql`` and
        does not check either; a dump that breaks halfway would otherwise show
        up as hundreds of "table doesn't exist" errors.
        """
        if self.parallel < 2:
            return
        for alias in aliases:
            connection = connections[alias]
            if connection.settings_dict["TEST"]["MIRROR"]:
                continue
            source = connection.settings_dict["NAME"]
            clones = [
                connection.creation.get_test_db_clone_settings(str(index))["NAME"]
                for index in range(1, self.parallel + 1)
            ]
            names = [source, *clones]
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT TABLE_SCHEMA, COUNT(*) FROM information_schema.TABLES "
                    f"WHERE TABLE_SCHEMA IN ({', '.join(['%s'] * len(names))}) "
                    "GROUP BY TABLE_SCHEMA",
                    names,
                )
                tables = dict(cursor.fetchall())
            broken = [name for name in clones if tables.get(name) != tables.get(source)]
            if broken:
                sys.exit(
                    f"djangosuite: cloning {source} failed: {source} has "
                    f"{tables.get(source, 0)} tables, "
                    + ", ".join(f"{name} {tables.get(name, 0)}" for name in broken)
                    + " (see the mysqldump errors above)"
                )

    def get_resultclass(self) -> type:
        base = super().get_resultclass() or unittest.TextTestResult
        return type(f"Recording{base.__name__}", (OutcomeRecorder, base), {})

    def test_suite(self, tests: Any = ()) -> unittest.TestSuite:
        """The suite of everything found, less the excluded tests."""
        kept = []
        for test in tests:
            if test_id(test) in self.to_exclude:
                self.excluded.append(test_id(test))
            else:
                kept.append(test)
        return unittest.TestSuite(kept)

    def build_suite(self, *args: Any, **kwargs: Any) -> unittest.TestSuite:
        suite = super().build_suite(*args, **kwargs)
        self.collected = [test_id(test) for test in iter_test_cases(suite)]
        return suite

    def run_suite(self, suite: unittest.TestSuite, **kwargs: Any) -> unittest.TestResult:
        self.result = super().run_suite(suite, **kwargs)
        return self.result

    def run_tests(self, *args: Any, **kwargs: Any) -> int:
        failures = super().run_tests(*args, **kwargs)
        # Written only once everything, teardown included, went through: no
        # report means the run broke.
        path = os.environ.get(REPORT_VARIABLE)
        if path:
            report = {
                "collected": self.collected,
                "excluded": self.excluded,
                "outcomes": self.result.outcomes,
                "details": self.result.details,
                "tests_run": self.result.testsRun,
            }
            with open(path, "w", encoding="utf-8") as file:
                json.dump(report, file, indent=1, sort_keys=True)
        return failures
