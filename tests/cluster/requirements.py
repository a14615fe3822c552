"""The programs the cluster fixtures run.

Every fixture in tests/cluster calls ``require_binaries`` (tests/support/
requirements.py) with what it runs before running any of it, so that a
machine without, say, haproxy skips those tests with the package to install
instead of failing with FileNotFoundError halfway through starting them.
"""

from __future__ import annotations

import os

from tests.support.requirements import (
    INSTALL_DB,
    MARIADBD,
    SBIN,
    Binary,
    existing_file,
    on_path,
)

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
