"""The programs the cluster fixtures run, and the skip when one is missing.

Every fixture in tests/cluster calls :func:`require_binaries` with what it
runs before running any of it, so that a machine without, say, haproxy skips
those tests with the package to install instead of failing with
FileNotFoundError halfway through starting them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.server import server_binary

#: Where Debian installs daemons; a non-root user's PATH often lacks them.
SBIN = ("/usr/sbin", "/usr/local/sbin")


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
    """A program (or library) a fixture runs, and the Debian package that has it."""

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
    test, naming every missing one and its package."""
    paths = [binary.path() for binary in binaries]
    missing = [binary.describe() for binary, path in zip(binaries, paths, strict=True)
               if path is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")
    return [path for path in paths if path is not None]


# ThrowawayServer (tests/server.py) looks these two up like this.
MARIADBD = Binary("mariadbd", "mariadb-server", server_binary)
INSTALL_DB = Binary("mariadb-install-db", "mariadb-server",
                    on_path("mariadb-install-db", "mysql_install_db"))
GALERA = Binary("libgalera_smm.so", "galera-4", existing_file(
    "/usr/lib/galera/libgalera_smm.so",       # Debian, Ubuntu
    "/usr/lib/galera-4/libgalera_smm.so",
    "/usr/lib64/galera-4/libgalera_smm.so",   # RPM-based distributions
))
# A joining node's server runs wsrep_sst_rsync, which runs rsync, and ss (or
# sockstat or lsof) to see its rsync daemon listen; it fails without one.
WSREP_SST_RSYNC = Binary("wsrep_sst_rsync", "mariadb-server")
RSYNC = Binary("rsync", "rsync")
SOCKET_LISTER = Binary("ss", "iproute2", on_path("ss", "sockstat", "lsof"))
# Run on each node's directory when the tests run as root (see Node.start).
CHOWN = Binary("chown", "coreutils")
CHMOD = Binary("chmod", "coreutils")
HAPROXY = Binary("haproxy", "haproxy", on_path("haproxy", also_in=SBIN))


def node_programs() -> tuple[Binary, ...]:
    """What starting a Galera node runs here, besides Galera's library."""
    as_root = (CHOWN, CHMOD) if os.geteuid() == 0 else ()
    return (MARIADBD, INSTALL_DB, WSREP_SST_RSYNC, RSYNC, SOCKET_LISTER, *as_root)
