"""What the release files must hold besides what ``twine check`` looks at
(``tox -e package`` runs both on what ``python -m build`` made)::

    python tests/check_distributions.py DIRECTORY

DIRECTORY must hold one wheel and one sdist. The wheel must carry the package
with its ``py.typed`` marker (type checkers read mysqlpool's annotations only
with it) and the license; the sdist the license, the README and the marker.
Neither may carry the tests. Prints what is wrong and exits 1, or prints
what it checked.
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path

#: Ends of names each wheel must have.
WHEEL = ("mysqlpool/__init__.py", "mysqlpool/py.typed", "mysqlpool/backends/mysqlpool/base.py",
         ".dist-info/METADATA", ".dist-info/licenses/LICENSE")
#: Ends of names the sdist must have (below its top directory).
SDIST = ("/LICENSE", "/README.md", "/pyproject.toml", "/mysqlpool/py.typed")


def problems(names: list[str], wanted: tuple[str, ...], what: str) -> list[str]:
    found = [f"{what} lacks {end.lstrip('/')}" for end in wanted
             if not any(name.endswith(end) for name in names)]
    if any(name.startswith("tests/") or "/tests/" in name for name in names):
        found.append(f"{what} carries the tests")
    return found


def check(directory: Path) -> list[str]:
    wheels = sorted(directory.glob("*.whl"))
    sdists = sorted(directory.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        return [f"expected one wheel and one sdist in {directory}, found "
                f"{[path.name for path in wheels + sdists]}"]
    (wheel,), (sdist,) = wheels, sdists
    with zipfile.ZipFile(wheel) as archive:
        found = problems(archive.namelist(), WHEEL, wheel.name)
    with tarfile.open(sdist) as archive:
        found += problems(archive.getnames(), SDIST, sdist.name)
    if not found:
        print(f"{wheel.name}: {', '.join(end.lstrip('/') for end in WHEEL)}")
        print(f"{sdist.name}: {', '.join(end.lstrip('/') for end in SDIST)}")
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    found = check(Path(argv[0]))
    for problem in found:
        print(problem, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
