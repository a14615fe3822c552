"""Mutation testing of the server-free core against its unit tests: ``tox -e mutation``.

mutmut changes the modules listed in ``[tool.mutmut]`` of pyproject.toml
(statements.py, pool/gate.py, hosts.py and the TLS table in drivers/tls.py and
drivers/tls_arguments.py) one small change at a time, and runs the unit tests
of each (tests/unit/test_statements.py, test_gate.py, test_hosts.py,
test_tls_table.py). A mutant the tests do not notice survived: either a change
of behaviour no test looks at, or a change that is no change (an equivalent
mutant). This prints, per module, how many mutants there were, how many the
tests killed and how many survived, and the survivors' names.

mutmut works in a ``mutants/`` folder beside the code it mutates; the run
happens in a copy of the project so that nothing lands in the working tree.
The copy is kept, so that a survivor can be looked at there::

    python tests/mutation.py [--workdir DIR] [--max-children N] [--show]
    cd DIR && mutmut show NAME

mutmut mutates function bodies only: module-level tables (the keyword sets
and regular expressions of statements.py, tls.TABLE) are not mutated.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: What the mutated modules and their unit tests need, relative to ROOT.
COPIED = ("mysqlpool", "tests/__init__.py", "tests/unit", "pyproject.toml")
#: mutmut's statuses that mean the tests noticed the mutant.
DETECTED = ("killed", "timeout", "caught by type check")
UNDETECTED = ("survived", "no tests")


def copy_project(workdir: Path) -> None:
    if workdir.exists():
        shutil.rmtree(workdir)
    for relative in COPIED:
        source, target = ROOT / relative, workdir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target)


def mutmut(workdir: Path, *arguments: str, capture: bool = False) -> str:
    done = subprocess.run([sys.executable, "-m", "mutmut", *arguments], cwd=workdir,
                          text=True, stdout=subprocess.PIPE if capture else None)
    if done.returncode != 0:
        sys.exit(f"mutmut {' '.join(arguments)} failed (exit status {done.returncode})")
    return done.stdout or ""


def statuses(results: str) -> dict[str, str]:
    """Mutant name -> status, from ``mutmut results --all true``."""
    found = {}
    for line in results.splitlines():
        name, colon, status = line.strip().rpartition(": ")
        if colon and "__mutmut_" in name:
            found[name] = status
    return found


def module_of(mutant: str) -> str:
    # mysqlpool.hosts.x_label__mutmut_3, mysqlpool.hosts.xǁHostListǁorder__mutmut_1:
    # a function's or a method's name holds no dot.
    return mutant.rpartition(".")[0]


def report(found: dict[str, str], seconds: float) -> None:
    """Print the table per module, then the survivors."""
    by_module: dict[str, collections.Counter[str]] = collections.defaultdict(
        collections.Counter)
    for name, status in found.items():
        by_module[module_of(name)][status] += 1
    header = f"{'module':<34}{'mutants':>8}{'killed':>8}{'survived':>9}{'survival':>10}"
    print()
    print(header)
    print("-" * len(header))
    totals: collections.Counter[str] = collections.Counter()
    for module in sorted(by_module):
        counts = by_module[module]
        totals.update(counts)
        print(row(module, counts))
    print("-" * len(header))
    print(row("total", totals))
    others = {status for status in totals if status not in DETECTED + UNDETECTED}
    if others:
        print("other statuses: " + ", ".join(f"{s} {totals[s]}" for s in sorted(others)))
    survivors = sorted(name for name, status in found.items() if status in UNDETECTED)
    print(f"\n{len(found)} mutants in {seconds:.0f} s; killed includes timeouts "
          f"({totals['timeout']}).")
    if survivors:
        print("Survivors (mutmut show NAME in the work folder shows the change):")
        for name in survivors:
            print(f"  {name}: {found[name]}")


def row(label: str, counts: collections.Counter[str]) -> str:
    total = sum(counts.values())
    killed = sum(counts[status] for status in DETECTED)
    survived = sum(counts[status] for status in UNDETECTED)
    rate = f"{100 * survived / total:.1f} %" if total else "-"
    return f"{label:<34}{total:>8}{killed:>8}{survived:>9}{rate:>10}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path,
                        help="where to copy the project and run (emptied first; "
                             "default: a new temporary folder)")
    parser.add_argument("--max-children", type=int,
                        help="mutants tested at once (default: one per CPU)")
    parser.add_argument("--show", action="store_true",
                        help="print the change each survivor makes")
    options = parser.parse_args()
    workdir = (options.workdir or Path(tempfile.mkdtemp(prefix="mysqlpool-mutation-"))).resolve()
    copy_project(workdir)
    print(f"mutmut in {workdir}", flush=True)
    started = time.monotonic()
    children = ["--max-children", str(options.max_children)] if options.max_children else []
    mutmut(workdir, "run", *children)
    seconds = time.monotonic() - started
    found = statuses(mutmut(workdir, "results", "--all", "true", capture=True))
    if not found:
        print("mutmut reported no mutants: check [tool.mutmut] in pyproject.toml")
        return 1
    report(found, seconds)
    if options.show:
        for name, status in sorted(found.items()):
            if status in UNDETECTED:
                print(mutmut(workdir, "show", name, capture=True))
    print(f"\nWork folder: {workdir}")
    # Survivors are reported, not failed on: some mutants change nothing
    # (the equivalent ones), and which those are is a reader's judgement.
    return 0


if __name__ == "__main__":
    sys.exit(main())
