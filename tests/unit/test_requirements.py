"""What a test does when the machine lacks a program it needs
(tests/support/requirements.py): skip naming it, or fail where nothing may be
missing. No server, no programs run."""

from __future__ import annotations

import shutil

import pytest

from tests.support.requirements import (
    REQUIRE_ALL,
    Binary,
    existing_file,
    missing,
    require_all,
    require_binaries,
)

ABSENT = Binary("mysqlpool-no-such-program", "mysqlpool-no-such-package")
ABSENT_FILE = Binary("libmysqlpool_no_such.so", "mysqlpool-no-such-library",
                     existing_file("/nonexistent/libmysqlpool_no_such.so"))
PRESENT = Binary("sh", "dash")
ABSENT_REASON = "mysqlpool-no-such-program (Debian package mysqlpool-no-such-package)"
ABSENT_FILE_REASON = "libmysqlpool_no_such.so (Debian package mysqlpool-no-such-library)"


@pytest.mark.parametrize("value, strict", [
    (None, False),
    ("", False),
    ("0", False),
    ("false", False),
    ("No", False),
    (" off ", False),
    ("1", True),
    ("true", True),
    ("yes", True),
    ("on", True),
])
def test_which_values_make_every_requirement_required(value, strict):
    environ = {} if value is None else {REQUIRE_ALL: value}
    assert require_all(environ) is strict


# binaries asked for, MYSQLPOOL_TEST_REQUIRE_ALL, what happens, the reason's parts
CASES = [
    ((PRESENT,), None, "paths", []),
    ((PRESENT,), "1", "paths", []),
    ((PRESENT, ABSENT), None, "skip", [ABSENT_REASON]),
    ((PRESENT, ABSENT), "0", "skip", [ABSENT_REASON]),
    ((ABSENT, PRESENT, ABSENT_FILE), None, "skip", [ABSENT_REASON, ABSENT_FILE_REASON]),
    ((PRESENT, ABSENT), "1", "fail", [ABSENT_REASON, REQUIRE_ALL]),
    ((ABSENT_FILE,), "yes", "fail", [ABSENT_FILE_REASON, REQUIRE_ALL]),
]


@pytest.mark.parametrize("binaries, value, outcome, reason", CASES)
def test_require_binaries(monkeypatch, binaries, value, outcome, reason):
    if value is None:
        monkeypatch.delenv(REQUIRE_ALL, raising=False)
    else:
        monkeypatch.setenv(REQUIRE_ALL, value)
    if outcome == "paths":
        assert require_binaries(*binaries) == [shutil.which("sh")] * len(binaries)
        return
    expected = {"skip": pytest.skip.Exception, "fail": pytest.fail.Exception}[outcome]
    with pytest.raises(expected) as raised:
        require_binaries(*binaries)
    message = str(raised.value)
    assert message.startswith("not installed: ")
    for part in reason:
        assert part in message
    if outcome == "skip":
        assert REQUIRE_ALL not in message


def test_a_missing_program_is_named_with_its_package(monkeypatch):
    monkeypatch.delenv(REQUIRE_ALL, raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_binaries(PRESENT, ABSENT)
    assert str(skipped.value) == f"not installed: {ABSENT_REASON}"


@pytest.mark.parametrize("value, expected", [
    (None, pytest.skip.Exception),
    ("1", pytest.fail.Exception),
])
def test_a_missing_service_skips_or_fails(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv(REQUIRE_ALL, raising=False)
    else:
        monkeypatch.setenv(REQUIRE_ALL, value)
    with pytest.raises(expected) as raised:
        missing("Redis does not answer on 127.0.0.1:6379 (Debian package redis-server)")
    assert str(raised.value).startswith("Redis does not answer on 127.0.0.1:6379")
