"""The cluster fixtures' skip when a program is missing: no cluster needed."""

from __future__ import annotations

import shutil

import pytest

from tests.cluster.requirements import Binary, existing_file, require_binaries

MISSING = Binary("mysqlpool-no-such-program", "mysqlpool-no-such-package")
MISSING_FILE = Binary("libmysqlpool_no_such.so", "mysqlpool-no-such-library",
                      existing_file("/nonexistent/libmysqlpool_no_such.so"))
PRESENT = Binary("sh", "dash")


def test_a_missing_program_skips_naming_its_package():
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_binaries(PRESENT, MISSING)
    assert str(skipped.value) == (
        "not installed: mysqlpool-no-such-program (Debian package mysqlpool-no-such-package)")


def test_every_missing_one_is_named_at_once():
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_binaries(MISSING, PRESENT, MISSING_FILE)
    message = str(skipped.value)
    assert "mysqlpool-no-such-program (Debian package mysqlpool-no-such-package)" in message
    assert "libmysqlpool_no_such.so (Debian package mysqlpool-no-such-library)" in message


def test_installed_programs_give_their_paths():
    assert require_binaries(PRESENT) == [shutil.which("sh")]
