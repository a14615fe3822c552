"""tox's inline plugin (tox loads it from next to tox.ini): an environment that
installs mysqlclient, on a machine that cannot compile it, is skipped saying
what to install, rather than failing halfway through pip's build output.

mysqlclient has no wheels for Linux: pip compiles it, which needs a C
compiler, Python's headers, pkg-config and the MariaDB (or MySQL) client
library's development files. An environment that lacks one of them is
treated as one whose Python is missing: skipped, with the reason in tox's
summary, unless missing interpreters fail (``--skip-missing-interpreters
false``, or ``TOX_SKIP_MISSING_INTERPRETERS=false`` as in CI), where it fails
with the same message.
"""

from __future__ import annotations

import re
import subprocess
from typing import Any

from tox.plugin import impl
from tox.tox_env.errors import Fail, Skip

# Run by the environment's own Python, in its environment (the one pip builds
# in); prints one line per missing thing. The pkg-config names are those
# mysqlclient's build looks for; MYSQLCLIENT_CFLAGS and MYSQLCLIENT_LDFLAGS
# stand in for them.
CHECK = r"""
import importlib.util, os, shutil, subprocess, sys, sysconfig
if importlib.util.find_spec("MySQLdb"):
    sys.exit()
cc = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
if not shutil.which(cc):
    print(f"a C compiler, {cc} (Debian package gcc)")
if not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")):
    print("Python %d.%d's headers (Debian package python3-dev)" % sys.version_info[:2])
if not (os.environ.get("MYSQLCLIENT_CFLAGS") and os.environ.get("MYSQLCLIENT_LDFLAGS")):
    if not shutil.which("pkg-config"):
        print("pkg-config (Debian package pkg-config)")
    elif not any(subprocess.run(["pkg-config", "--exists", name]).returncode == 0
                 for name in ("mysqlclient", "mariadb", "libmariadb", "perconaserverclient")):
        print("the MariaDB client library's development files (Debian package libmariadb-dev)")
"""

MYSQLCLIENT = re.compile(r"^\s*mysqlclient\b", re.IGNORECASE)
_checked: set[str] = set()


def installs_mysqlclient(tox_env: Any) -> bool:
    """Whether the environment installs mysqlclient: as an extra of mysqlpool,
    or among its deps."""
    try:
        extras = tox_env.conf["extras"]
        deps = tox_env.conf["deps"].lines()
    except (KeyError, AttributeError):
        return False
    return "mysqlclient" in extras or any(MYSQLCLIENT.match(line) for line in deps)


@impl
def tox_on_install(tox_env: Any, arguments: Any, section: str, of_type: str) -> None:
    name = tox_env.conf.name
    if name in _checked or not installs_mysqlclient(tox_env):
        return
    _checked.add(name)
    result = subprocess.run([str(tox_env.env_python()), "-c", CHECK], capture_output=True,
                            text=True, env=tox_env.environment_variables)
    missing = [line for line in result.stdout.splitlines() if line.strip()]
    if result.returncode != 0 or not missing:
        return  # nothing missing (or the check itself failed: pip will say why)
    message = f"mysqlclient cannot be compiled here; missing: {'; '.join(missing)}"
    if tox_env.core["skip_missing_interpreters"]:
        raise Skip(message)
    raise Fail(message)
