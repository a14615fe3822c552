"""A Django project of its own in a directory, made with ``startproject``, for
tests that run ``manage.py`` as users do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent.parent


def start_project(directory: Path) -> dict[str, str]:
    """``django-admin startproject site_app`` into ``directory``; returns the
    environment to run its ``manage.py`` with."""
    env = {**os.environ}
    if not os.environ.get("TOX_ENV_NAME"):
        # Outside tox, use this checkout; tox has installed the package itself.
        env["PYTHONPATH"] = str(REPOSITORY)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    # Tests rewrite settings.py between runs: a rewrite within the same second
    # and of the same size (one driver's name for another) would otherwise be
    # read from the stale bytecode cache.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "site_app", str(directory)],
        check=True, env=env,
    )
    return env
