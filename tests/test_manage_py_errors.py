"""Bad settings met by manage.py commands: the system check's message, never a
traceback, whichever command meets them and however it meets them (the system
checks, the database checks that connect, a command's own connect).

Run as a user would, in subprocesses of a new project (as test_project.py
does). A driver that is not installed is made so for real in the subprocess:
its imports fail as they do without the package.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.conf import settings

from mysqlpool.drivers import DRIVERS, get_driver
from tests.support.projects import start_project

#: Runs a script (manage.py, ...) as __main__ with the modules named in
#: BLOCKED_MODULES not installed: importing them fails as without the package.
LAUNCHER = '''
import os
import runpy
import sys

BLOCKED = tuple(filter(None, os.environ.get("BLOCKED_MODULES", "").split(",")))


class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NotInstalled())
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
'''

#: A connect outside any command, as a request or a worker would make it.
CONNECT = '''
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_app.settings")
django.setup()
from django.db import connection

connection.ensure_connection()
'''

#: Commands that meet the settings each their own way: the system checks
#: without a database; with one (Django's database checks connect); a command's
#: own connect, with and without the system checks first.
COMMANDS = [
    ["check"],
    ["check", "--database", "default"],
    ["migrate", "--noinput"],
    ["showmigrations"],
    ["shell", "-c", "from django.contrib.auth.models import User; User.objects.count()"],
    ["inspectdb"],
]

POOLED = "mysqlpool.backends.mysqlpool"
#: The driver of this test run, and one named instead of it that is not installed.
RUN_DRIVER = settings.MYSQLPOOL_DRIVER or get_driver(None).name
MISSING = "pymysql" if RUN_DRIVER == "mysqlclient" else "mysqlclient"


class Project:
    """A new Django project, settings of a test's own on top of startproject's."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory = directory
        self.env = env
        self.settings_file = directory / "site_app" / "settings.py"
        self.base_settings = self.settings_file.read_text()
        (directory / "launcher.py").write_text(LAUNCHER)
        (directory / "connect.py").write_text(CONNECT)

    def configure(self, engine: str = POOLED, options: dict | None = None,
                  driver: str | None = RUN_DRIVER, arguments: dict | None = None) -> None:
        entry = {**settings.SERVER.django(), "ENGINE": engine, "OPTIONS": options or {}}
        self.settings_file.write_text(self.base_settings + textwrap.dedent(f"""
            DATABASES = {{"default": {entry!r}}}
            MYSQLPOOL_DRIVER = {driver!r}
            MYSQLPOOL_ARGUMENTS = {arguments or {}!r}
            INSTALLED_APPS += ["mysqlpool"]
        """))

    def run(self, script: str, *args: str, blocked: tuple[str, ...] = ()
            ) -> subprocess.CompletedProcess:
        env = {**self.env, "BLOCKED_MODULES": ",".join(blocked)}
        return subprocess.run(
            [sys.executable, "launcher.py", script, *args], cwd=self.directory, env=env,
            capture_output=True, text=True, timeout=120,
        )


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    directory = tmp_path_factory.mktemp("project")
    return Project(directory, start_project(directory))


def assert_told(result: subprocess.CompletedProcess, *needles: str) -> None:
    """The command failed with the check's message, and without a traceback."""
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output, output
    assert "System check identified some issues" in result.stderr, output
    for needle in needles:
        assert needle in result.stderr, output
    assert len(output.splitlines()) <= 10, output


BAD_KEY = ("(mysqlpool.E002) DATABASES['default']['OPTIONS']['pool']['pool_sise'] = 3: "
           "QueuePool has no argument 'pool_sise'")


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_bad_pool_argument(project, command):
    project.configure(options={"pool": {"pool_sise": 3}})
    assert_told(project.run("manage.py", *command), BAD_KEY)


@pytest.mark.parametrize("command", COMMANDS[1:3], ids=" ".join)
def test_a_bad_global_pool_argument(project, command):
    project.configure(arguments={"use_threadlocal": True})
    assert_told(project.run("manage.py", *command),
                "(mysqlpool.E002) MYSQLPOOL_ARGUMENTS['use_threadlocal'] is not a pool argument")


@pytest.mark.skipif(importlib.util.find_spec("MySQLdb") is None,
                    reason="Django's own ENGINE needs MySQLdb without mysqlpool's")
@pytest.mark.parametrize("command", COMMANDS[1:3], ids=" ".join)
def test_a_bad_pool_argument_of_djangos_engine(project, command):
    project.configure(engine="django.db.backends.mysql", options={"pool": {"pool_sise": 3}})
    assert_told(project.run("manage.py", *command), BAD_KEY)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_driver_that_is_not_installed(project, command):
    """MYSQLPOOL_DRIVER names a driver whose package is missing: the project
    still loads (another installed driver stands in for Django's import of
    MySQLdb), and every command says what to install."""
    missing = DRIVERS[MISSING]
    project.configure(driver=MISSING)
    result = project.run("manage.py", *command, blocked=(missing.module_name.split(".")[0],))
    assert_told(result, f"(mysqlpool.E001) MYSQLPOOL_DRIVER = {MISSING!r}, but "
                f"{missing.distribution} is not installed",
                f"Install it with pip install {missing.distribution}",
                "or choose an installed driver (")
    installed = result.stderr.split("or choose an installed driver (")[1].split(")")[0]
    assert repr(RUN_DRIVER) in installed and repr(MISSING) not in installed, installed


@pytest.mark.parametrize("command", COMMANDS[:3], ids=" ".join)
def test_an_unknown_driver(project, command):
    project.configure(driver="mariadb")
    assert_told(project.run("manage.py", *command),
                "(mysqlpool.E001) MYSQLPOOL_DRIVER = 'mariadb' is not a driver mysqlpool knows")


def test_outside_a_command_a_connect_raises_improperly_configured(project):
    """A request's or a worker's connect: the ImproperlyConfigured itself,
    with the same message."""
    missing = DRIVERS[MISSING]
    project.configure(driver=MISSING)
    result = project.run("connect.py", blocked=(missing.module_name.split(".")[0],))
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(
        f"django.core.exceptions.ImproperlyConfigured: MYSQLPOOL_DRIVER = {MISSING!r}, but "
        f"{missing.distribution} is not installed"), result.stderr
    assert f"pip install {missing.distribution}" in last
    project.configure(options={"pool": {"pool_sise": 3}})
    result = project.run("connect.py")
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: "
                           "DATABASES['default']['OPTIONS']['pool']['pool_sise'] = 3"), last


def test_good_settings_pass(project):
    project.configure(options={"pool": {"pool_size": 2}})
    for command in (["check"], ["check", "--database", "default"]):
        result = project.run("manage.py", *command)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "System check identified no issues" in result.stdout
