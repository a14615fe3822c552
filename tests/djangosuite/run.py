#!/usr/bin/env python
"""Run Django's own test suite on mysqlpool with one driver, and check the outcome.

Downloads the source distribution of the installed Django (its wheel has no
tests), unpacks ``tests/`` under ``.djangosuite/`` in the checkout, and runs
``runtests.py`` there with ``djangosuite_settings``; the few tests of
``run_alone.txt`` run afterwards, by themselves. Then compares each test's
outcome with ``expected_failures/<driver>.txt``: the run fails when a test that
is not listed fails, and when a listed test passes, so the list only shrinks.

    MYSQLPOOL_DRIVER=pymysql python tests/djangosuite/run.py [--parallel 2] [app ...]

The server is ``MYSQLPOOL_TEST_URL`` (default ``mysql://root@127.0.0.1:3306/test``).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HARNESS_DIR = Path(__file__).resolve().parent
CHECKOUT_DIR = HARNESS_DIR.parents[1]
DEFAULT_WORK_DIR = CHECKOUT_DIR / ".djangosuite"
DRIVERS = ("mysqlclient", "pymysql", "mysql-connector")

#: Django test apps that exercise the database backend: the 30 of the
#: conformance issue, then more ORM and backend apps that stay cheap. Not
#: cache (its tests mostly sleep) nor test_utils (in parallel runs one of its
#: template tests can fail depending on what ran before it in the worker, with
#: an exception that cannot be pickled, which ends the whole run).
APPS = (
    "backends transactions basic queries model_fields expressions select_for_update "
    "aggregation lookup ordering update delete get_or_create many_to_one custom_pk "
    "timezones db_functions introspection schema migrations bulk_create select_related "
    "prefetch_related raw_query indexes constraints model_forms fixtures serializers "
    "multiple_database "
    "inspectdb annotations datetimes dates db_typecasts model_regress field_defaults "
    "dbshell null_queries get_earliest_or_latest distinct_on_fields m2m_through "
    "model_inheritance generic_relations expressions_case expressions_window "
    "aggregation_regress datatypes string_lookup delete_regress update_only_fields "
    "known_related_objects foreign_object one_to_one many_to_many m2m_regress "
    "custom_columns reserved_names from_db_value custom_lookups servers"
).split()

#: The 30 apps of the conformance issue, the first of APPS (``--core``).
CORE_APPS = APPS[:APPS.index("multiple_database") + 1]

# Outcomes as djangosuite_runner writes them.
PASSING = {"passed", "expected failure"}
FAILING = {"failed", "error", "unexpected success"}
SKIPPED = "skipped"


# ----- expected failures -------------------------------------------------------


def read_expected(path: Path) -> dict[str, str]:
    """``test id  # reason`` per line; blank lines and ``#`` comments are ignored.

    Every entry must give its reason. Raises ValueError naming the bad line.
    """
    expected: dict[str, str] = {}
    if not path.exists():
        return expected
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        test, _, reason = line.partition("#")
        test, reason = test.strip(), reason.strip()
        if not reason or " " in test:
            raise ValueError(f"{path}:{number}: expected 'test.id  # reason', got {line!r}")
        if test in expected:
            raise ValueError(f"{path}:{number}: {test} is listed twice")
        expected[test] = reason
    return expected


@dataclass
class Verdict:
    """How a run compares with its expected failures."""

    passed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    listed_failed: list[str] = field(default_factory=list)
    #: Failed or errored, and not listed.
    unexpected: list[str] = field(default_factory=list)
    #: Listed, but passed: remove them from the list.
    fixed: list[str] = field(default_factory=list)
    #: Listed, but skipped or not run at all: the list is out of date.
    stale: list[str] = field(default_factory=list)
    #: Collected but never reported (a crashed worker, a class whose setup failed).
    unreported: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.unexpected or self.fixed or self.stale or self.unreported)


def in_sources(tests_dir: Path, test: str) -> bool:
    """Whether Django's test sources define ``test`` (module.Class.method)."""
    module, _, method = test.rpartition(".")
    module = module.rpartition(".")[0]
    path = tests_dir / (module.replace(".", "/") + ".py")
    try:
        return f"def {method}(" in path.read_text(encoding="utf-8")
    except OSError:
        return False


def compare(report: dict, expected: dict[str, str],
            run_alone: dict[str, str] | None = None) -> Verdict:
    """Sort each outcome in ``report`` against the ``expected`` failures.

    A test in ``run_alone`` that the main run did not find to leave out is stale.
    """
    verdict = Verdict()
    outcomes: dict[str, str] = report["outcomes"]
    for test, outcome in sorted(outcomes.items()):
        listed = test in expected
        if outcome in FAILING:
            (verdict.listed_failed if listed else verdict.unexpected).append(test)
        elif outcome == SKIPPED:
            verdict.skipped.append(test)
            if listed:
                verdict.stale.append(test)
        elif outcome in PASSING:
            verdict.passed.append(test)
            if listed:
                verdict.fixed.append(test)
        else:
            raise ValueError(f"unknown outcome {outcome!r} for {test}")
    verdict.stale.extend(sorted(test for test in expected if test not in outcomes))
    left_out = set(report.get("excluded", ()))
    verdict.stale.extend(sorted(test for test in run_alone or () if test not in left_out))
    # A class- or module-level error stands for the tests it kept from running.
    failed_fixtures = {
        test.rpartition(".")[0] for test in outcomes
        if test.rpartition(".")[2] in ("setUpClass", "tearDownClass", "setUpModule")
        and outcomes[test] in FAILING
    }
    verdict.unreported = sorted(
        test for test in report["collected"]
        if test not in outcomes and not any(
            test.startswith(fixture + ".") for fixture in failed_fixtures
        )
    )
    return verdict


# ----- Django's tests ------------------------------------------------------------


def django_tests(version: str, work_dir: Path) -> Path:
    """The ``tests/`` directory of Django ``version``'s sdist, unpacked once."""
    target = work_dir / f"django-{version}"
    tests_dir = target / "tests"
    if (tests_dir / "runtests.py").exists():
        return tests_dir
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_dir) as scratch:
        print(f"djangosuite: downloading the source of Django {version}", flush=True)
        subprocess.run(
            [
                sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:",
                "--no-deps", "--disable-pip-version-check", f"django=={version}",
                "--dest", scratch,
            ],
            check=True,
        )
        (archive,) = Path(scratch).glob("*.tar.gz")
        unpacked = Path(scratch) / "unpacked"
        with tarfile.open(archive) as tar:
            prefix = tar.getnames()[0].split("/")[0] + "/tests/"
            members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
            tar.extractall(unpacked, members=members, filter="data")
        # Renamed into place in one step, so a concurrent run sees all or nothing.
        try:
            (unpacked / prefix.split("/")[0]).rename(target)
        except OSError:
            if not (tests_dir / "runtests.py").exists():
                raise
    return tests_dir


def run_django_tests(tests_dir: Path, driver: str, apps: list[str], parallel: int,
                     report_path: Path, extra: list[str], exclude: list[str]) -> int:
    """``runtests.py`` with mysqlpool and ``driver``; its exit code."""
    env = dict(os.environ)
    env["MYSQLPOOL_DRIVER"] = driver
    env["DJANGOSUITE_REPORT"] = str(report_path)
    env["DJANGOSUITE_EXCLUDE"] = " ".join(exclude)
    path = [str(HARNESS_DIR)]
    if importlib.util.find_spec("mysqlpool") is None:
        path.append(str(CHECKOUT_DIR))  # not installed: test this checkout
    env["PYTHONPATH"] = os.pathsep.join(path + [p for p in [env.get("PYTHONPATH")] if p])
    command = [
        sys.executable, "runtests.py", "--settings=djangosuite_settings", "--noinput",
        f"--parallel={parallel}", *extra, *apps,
    ]
    print("djangosuite:", " ".join(command), flush=True)
    return subprocess.run(command, cwd=tests_dir, env=env).returncode


def run_and_read(tests_dir: Path, driver: str, labels: list[str], parallel: int,
                 report_path: Path, extra: list[str], exclude: list[str]) -> dict | None:
    """Run ``labels`` and return the runner's report; None if the run broke."""
    try:
        exit_code = run_django_tests(
            tests_dir, driver, labels, parallel, report_path, extra, exclude
        )
        try:
            # Written only when runtests.py got through its teardown.
            return json.loads(report_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            print(f"\ndjangosuite: runtests.py exited with {exit_code} without "
                  "finishing its run", file=sys.stderr)
            return None
    finally:
        report_path.unlink(missing_ok=True)


# ----- main ------------------------------------------------------------------------


def print_list(title: str, tests: list[str], report: dict,
               reasons: dict[str, str] | None = None) -> None:
    if not tests:
        return
    print(f"\n{title} ({len(tests)}):")
    for test in tests:
        print(f"  {test}")
        if reasons and test in reasons:
            print(f"      listed: {reasons[test]}")
        detail = report["details"].get(test) or report["outcomes"].get(test)
        if detail:
            print(f"      got: {detail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "apps", nargs="*", help=f"test labels (default: {len(APPS)} backend-related apps)"
    )
    parser.add_argument(
        "--driver", default=os.environ.get("MYSQLPOOL_DRIVER"), choices=DRIVERS,
        help="default: $MYSQLPOOL_DRIVER",
    )
    parser.add_argument(
        "--core", action="store_true",
        help=f"only the {len(CORE_APPS)} core apps (backends, transactions, queries, "
        "schema, migrations, ...): half the time",
    )
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument(
        "--expected", type=Path, action="append",
        help="a file of expected failures; repeatable (default: "
        "expected_failures/pooled.txt and expected_failures/<driver>.txt here)",
    )
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    parser.add_argument(
        "--runtests-arg", action="append", default=[], metavar="ARG",
        help="passed on to runtests.py, e.g. --runtests-arg=--verbosity=2",
    )
    options = parser.parse_args(argv)
    if options.core:
        options.apps = [*CORE_APPS, *options.apps]
    if options.driver is None:
        parser.error("give --driver or set MYSQLPOOL_DRIVER")
    expected_paths = options.expected or [
        HARNESS_DIR / "expected_failures" / "pooled.txt",
        HARNESS_DIR / "expected_failures" / f"{options.driver}.txt",
    ]
    reasons: dict[str, str] = {}
    for path in expected_paths:
        for test, reason in read_expected(path).items():
            if test in reasons:
                raise ValueError(f"{test} is listed in more than one of {expected_paths}")
            reasons[test] = f"{reason} ({path.name})"
    expected = reasons
    run_alone = {
        test: f"{reason} (run_alone.txt)"
        for test, reason in read_expected(HARNESS_DIR / "run_alone.txt").items()
    }
    if options.apps:
        # Only what was asked for ran: listed tests elsewhere are not stale.
        def asked(test: str) -> bool:
            return any(test == app or test.startswith(app + ".") for app in options.apps)

        expected = {test: reason for test, reason in expected.items() if asked(test)}
        run_alone = {test: reason for test, reason in run_alone.items() if asked(test)}

    version = importlib.metadata.version("django")
    tests_dir = django_tests(version, options.work_dir)
    # A test this Django version does not have (Django 6.1 dropped the XML
    # timing test) is not a stale entry; a misspelt one still is.
    run_alone = {test: reason for test, reason in run_alone.items()
                 if in_sources(tests_dir, test)}
    report_path = options.work_dir / f"report-{options.driver}-{os.getpid()}.json"
    started = time.monotonic()
    report = run_and_read(
        tests_dir, options.driver, options.apps or APPS, options.parallel, report_path,
        options.runtests_arg, list(run_alone),
    )
    if report is None:
        return 2
    if run_alone and report["excluded"]:
        alone = run_and_read(
            tests_dir, options.driver, report["excluded"], 1, report_path,
            options.runtests_arg, [],
        )
        if alone is None:
            return 2
        for key in ("outcomes", "details"):
            report[key].update(alone[key])
        report["collected"] += alone["collected"]
    elapsed = time.monotonic() - started

    verdict = compare(report, expected, run_alone)
    print_list("Run by themselves, as run_alone.txt says", report.get("excluded", []),
               report, run_alone)
    print_list("Failed as listed", verdict.listed_failed, report, reasons)
    print_list("FAILED, not listed", verdict.unexpected, report)
    print_list("PASSED but listed: remove from the list", verdict.fixed, report, reasons)
    print_list("Listed but skipped or not run: remove from the list", verdict.stale,
               report, {**reasons, **run_alone})
    print_list("Collected but never reported", verdict.unreported, report)
    engine = ("Django's ENGINE with OPTIONS['pool']"
              if os.environ.get("DJANGOSUITE_ENGINE") == "stock" else "mysqlpool's ENGINE")
    print(
        f"\ndjangosuite: Django {version}, {engine}, driver {options.driver}: "
        f"{len(report['outcomes'])} tests in {elapsed:.0f} s, "
        f"{len(verdict.listed_failed)} failed as listed, "
        f"{len(report.get('excluded', []))} of them run alone"
    )
    failed = len(verdict.unexpected) + len(verdict.fixed) + len(verdict.stale) + len(
        verdict.unreported
    )
    print(f"{len(verdict.passed)} passed, {failed} failed, {len(verdict.skipped)} skipped")
    # runtests.py exits 1 when any test failed, listed or not: the verdict decides.
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
