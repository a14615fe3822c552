"""A process that used the pool and exits normally prints nothing about it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent("""
    import django
    django.setup()
    from django.db import connections

    # A query in the main thread, as a management command or a script runs one;
    # Django never closes that connection before the interpreter exits.
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
    {extra}
""")

SHARED = textwrap.dedent("""
    from django.db import transaction
    transaction.set_autocommit(False)
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 2")
""")


@pytest.mark.parametrize("extra", ["", SHARED], ids=["autocommit", "transaction open"])
def test_a_normal_exit_is_quiet(extra):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings",
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(extra=extra)], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr
