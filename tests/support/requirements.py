"""What a test needs from the machine, and what happens when it is missing.

A test (or its fixture) that runs a program — mariadbd, openssl, haproxy,
wrk, … — or needs a service such as Redis asks for it here before starting
anything. When it is missing, the test is skipped with a reason naming it and
the Debian package that has it, so that ``tox`` passes on a machine with
less installed and says what it did not run.

With ``MYSQLPOOL_TEST_REQUIRE_ALL=1`` (CI sets it) the same reason fails the
test instead: where everything is meant to be installed, a skip would hide a
missing install.

No Django here: the server-free unit tests use it too.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NoReturn

import pytest

from tests.server import server_binary

#: Set (to anything but 0, false, no, off or nothing) where nothing may be missing.
REQUIRE_ALL = "MYSQLPOOL_TEST_REQUIRE_ALL"

#: Where Debian installs daemons; a non-root user's PATH often lacks them.
SBIN = ("/usr/sbin", "/usr/local/sbin")


def require_all(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether a missing requirement fails the test rather than skipping it."""
    return environ.get(REQUIRE_ALL, "").strip().lower() not in ("", "0", "false", "no", "off")


def missing(reason: str) -> NoReturn:
    """Skip the test for ``reason`` (what is missing, and the package to install);
    fail it instead under ``MYSQLPOOL_TEST_REQUIRE_ALL``."""
    if require_all():
        pytest.fail(f"{reason} ({REQUIRE_ALL} is set: nothing may be missing)", pytrace=False)
    pytest.skip(reason)


def on_path(*names: str, also_in: tuple[str, ...] = ()) -> Callable[[], str | None]:
    """A lookup of the first of ``names`` on PATH, then in ``also_in``."""

    def find() -> str | None:
        for name in names:
            for directory in (None, *also_in):
                path = shutil.which(name, path=directory)
                if path:
                    return path
        return None

    return find


def existing_file(*paths: str) -> Callable[[], str | None]:
    """A lookup of the first of ``paths`` that exists."""

    def find() -> str | None:
        return next((path for path in paths if os.path.exists(path)), None)

    return find


@dataclass(frozen=True)
class Binary:
    """A program (or library) a test runs, and the Debian package that has it."""

    name: str
    package: str
    #: Finds it the way the code that runs it does; by default ``name`` on PATH.
    locate: Callable[[], str | None] | None = None

    def path(self) -> str | None:
        """Where it is, or None when it is not installed."""
        return (self.locate or on_path(self.name))()

    def describe(self) -> str:
        return f"{self.name} (Debian package {self.package})"


def require_binaries(*binaries: Binary) -> list[str]:
    """The paths of ``binaries``, in order; unless all are installed, skip the
    test (see :func:`missing`), naming every missing one and its package."""
    paths = [binary.path() for binary in binaries]
    absent = [binary.describe() for binary, path in zip(binaries, paths, strict=True)
              if path is None]
    if absent:
        missing(f"not installed: {', '.join(absent)}")
    return [path for path in paths if path is not None]


# ThrowawayServer (tests/server.py) looks these two up like this.
MARIADBD = Binary("mariadbd", "mariadb-server", server_binary)
INSTALL_DB = Binary("mariadb-install-db", "mariadb-server",
                    on_path("mariadb-install-db", "mysql_install_db"))
#: A throwaway server of the test's own: tests/server.py's ThrowawayServer.
THROWAWAY_SERVER = (MARIADBD, INSTALL_DB)
#: Certificates for a throwaway server with TLS, and for its clients.
OPENSSL = Binary("openssl", "openssl")
#: The HTTP load the deployment tests drive their servers with.
WRK = Binary("wrk", "wrk")
