"""The Django-suite harness's bookkeeping (tests/djangosuite/run.py), without a run."""

import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "djangosuite_run", Path(__file__).parent / "djangosuite" / "run.py"
)
run = sys.modules["djangosuite_run"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run)


def report(outcomes, collected=None):
    return {
        "outcomes": outcomes,
        "collected": list(outcomes) if collected is None else collected,
        "details": {},
    }


def test_only_unlisted_failures_fail_the_run():
    verdict = run.compare(
        report({"a.T.test_1": "passed", "a.T.test_2": "failed", "a.T.test_3": "error"}),
        {"a.T.test_2": "driver quirk"},
    )
    assert verdict.listed_failed == ["a.T.test_2"]
    assert verdict.unexpected == ["a.T.test_3"]
    assert not verdict.ok


def test_a_listed_test_that_passes_fails_the_run():
    verdict = run.compare(report({"a.T.test_1": "passed"}), {"a.T.test_1": "quirk"})
    assert verdict.fixed == ["a.T.test_1"]
    assert not verdict.ok


def test_a_listed_test_that_is_skipped_or_gone_fails_the_run():
    verdict = run.compare(
        report({"a.T.test_1": "skipped"}), {"a.T.test_1": "quirk", "a.T.gone": "quirk"}
    )
    assert verdict.stale == ["a.T.test_1", "a.T.gone"]
    assert not verdict.ok


def test_djangos_own_expected_failures_pass():
    verdict = run.compare(report({"a.T.test_1": "expected failure"}), {})
    assert verdict.ok and verdict.passed == ["a.T.test_1"]


def test_unexpected_success_fails():
    verdict = run.compare(report({"a.T.test_1": "unexpected success"}), {})
    assert verdict.unexpected == ["a.T.test_1"]


def test_a_test_that_never_reported_fails_the_run_unless_its_class_setup_failed():
    verdict = run.compare(
        report(
            {"a.T.test_1": "passed", "a.U.setUpClass": "error"},
            collected=["a.T.test_1", "a.T.test_2", "a.U.test_1"],
        ),
        {},
    )
    assert verdict.unreported == ["a.T.test_2"]
    assert verdict.unexpected == ["a.U.setUpClass"]


def test_expected_failures_file_needs_a_reason_per_test(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("# comment\n\na.T.test_1  # the driver returns str\n")
    assert run.read_expected(good) == {"a.T.test_1": "the driver returns str"}
    bad = tmp_path / "bad.txt"
    bad.write_text("a.T.test_1\n")
    with pytest.raises(ValueError, match="bad.txt:1"):
        run.read_expected(bad)


def test_checked_in_lists_parse():
    harness = Path(__file__).parent / "djangosuite"
    for path in [harness / "run_alone.txt", *(harness / "expected_failures").glob("*.txt")]:
        run.read_expected(path)


def test_the_runner_records_each_outcome_under_the_tests_id():
    import io
    import unittest

    sys.path.insert(0, str(Path(__file__).parent / "djangosuite"))
    try:
        from djangosuite_runner import OutcomeRecorder
    finally:
        sys.path.pop(0)

    class Case(unittest.TestCase):
        def test_pass(self):
            pass

        def test_fail(self):
            self.fail("no")

        def test_subtest(self):
            with self.subTest(i=1):
                self.fail("no")

        @unittest.skip("not here")
        def test_skip(self):
            pass

    class Broken(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            raise RuntimeError("setup")

        def test_never(self):
            pass

    loader = unittest.TestLoader()
    suite = unittest.TestSuite(
        [loader.loadTestsFromTestCase(Case), loader.loadTestsFromTestCase(Broken)]
    )
    result_class = type("Result", (OutcomeRecorder, unittest.TextTestResult), {})
    result = unittest.TextTestRunner(stream=io.StringIO(), resultclass=result_class).run(suite)
    case, broken = (f"{cls.__module__}.{cls.__qualname__}" for cls in (Case, Broken))
    assert result.outcomes == {
        f"{case}.test_pass": "passed",
        f"{case}.test_fail": "failed",
        f"{case}.test_subtest": "failed",
        f"{case}.test_skip": "skipped",
        f"{broken}.setUpClass": "error",
    }
    assert result.details[f"{broken}.setUpClass"] == "RuntimeError: setup"


def test_a_worker_sends_an_unpicklable_failure_as_text():
    import pickle
    import unittest

    sys.path.insert(0, str(Path(__file__).parent / "djangosuite"))
    try:
        from djangosuite_runner import WorkerResult
    finally:
        sys.path.pop(0)

    class Unpicklable(AssertionError):
        def __reduce__(self):
            raise TypeError("cannot pickle this")

    class Case(unittest.TestCase):
        def test_it(self):
            raise Unpicklable("the message")

    result = WorkerResult()
    unittest.TestSuite([Case("test_it")]).run(result)
    (event,) = [event for event in result.events if event[0] == "addFailure"]
    exc_type, exc_value, _ = pickle.loads(pickle.dumps(event))[2]
    assert issubclass(exc_type, AssertionError)
    assert "Unpicklable: the message" in str(exc_value)


def test_a_run_alone_test_the_run_no_longer_finds_fails_the_run():
    found = {"outcomes": {}, "collected": [], "details": {}, "excluded": ["a.T.test_1"]}
    assert run.compare(found, {}, {"a.T.test_1": "timing"}).ok
    gone = {**found, "excluded": []}
    assert run.compare(gone, {}, {"a.T.test_1": "timing"}).stale == ["a.T.test_1"]


@pytest.mark.parametrize("test, found", [
    ("serializers.test_deserialization.TestDeserializer.test_crafted_xml_performance", True),
    ("serializers.test_deserialization.TestDeserializer.test_crafted_xml_perfromance", False),
    ("serializers.test_gone.TestDeserializer.test_crafted_xml_performance", False),
])
def test_a_test_is_looked_up_in_this_django_versions_sources(tmp_path, test, found):
    module = tmp_path / "serializers" / "test_deserialization.py"
    module.parent.mkdir()
    module.write_text("class TestDeserializer:\n    def test_crafted_xml_performance(self):\n"
                      "        pass\n")
    assert run.in_sources(tmp_path, test) is found


def test_the_core_apps_are_the_first_thirty():
    assert len(run.CORE_APPS) == 30
    assert run.CORE_APPS == run.APPS[:30]
    assert {"backends", "transactions", "schema", "migrations"} <= set(run.CORE_APPS)
