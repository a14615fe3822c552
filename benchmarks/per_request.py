"""What the tools that measure one request (benchmarks.instructions,
benchmarks.switches) share: their common arguments, and the benchmark's
server and account for the time of a run."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from benchmarks.cases import CASES, DRIVERS
from benchmarks.servers import Server, open_server, prepare_server, remove_user
from benchmarks.worker import unsupported

#: Where the benchmark's worker runs from: the project's root.
ROOT = Path(__file__).resolve().parent.parent


def worker_command(driver: str, case: str, server: Server, requests: int,
                   threads: int) -> list[str]:
    """The benchmark's worker for one process whose ``threads`` threads make
    ``requests`` requests in all, and nothing else (run from ROOT)."""
    spec = {"driver": driver, "case": case, "threads": [threads], "server": vars(server),
            "requests": requests}
    return [sys.executable, "-m", "benchmarks.bench", "--worker", json.dumps(spec)]


def share_of_one(fewer: Mapping[str, float], more: Mapping[str, float], extra_requests: int,
                 names: Iterable[str]) -> dict[str, float]:
    """One request's share of each of ``names``: the difference of two runs
    (Django's start-up and the first connection taken out), over the
    difference in their requests."""
    return {name: (more[name] - fewer[name]) / extra_requests for name in names}


def add_arguments(parser: argparse.ArgumentParser, *, requests: int | None,
                  threads: int) -> None:
    """--url, --drivers, --cases, --requests (unless ``requests`` is None) and --threads."""
    parser.add_argument("--url", help="admin account of the server, as for benchmarks.bench")
    parser.add_argument("--drivers", default=",".join(DRIVERS))
    parser.add_argument("--cases", default="never-closed,mysqlpool",
                        help=f"comma-separated among {', '.join(CASES)}")
    if requests is not None:
        parser.add_argument("--requests", type=int, default=requests,
                            help="the difference in requests between the two runs of a case")
    parser.add_argument("--threads", type=int, default=threads,
                        help="threads sharing the requests (the pool has "
                        "benchmarks.bench's 10 connections)")


def runnable_cases(driver: str, cases: Iterable[str]) -> list[str]:
    """The cases that can run on ``driver``; a line for each one that cannot."""
    runnable = []
    for case in cases:
        reason = unsupported(driver, case)
        if reason:
            print(f"{driver:15} {CASES[case]:32} skipped: {reason}")
        else:
            runnable.append(case)
    return runnable


def drivers_and_cases(parser: argparse.ArgumentParser,
                      args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """The --drivers and --cases asked for; an unknown case is a usage error."""
    drivers = [d for d in args.drivers.split(",") if d]
    cases = [c for c in args.cases.split(",") if c]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        parser.error(f"--cases: unknown {', '.join(unknown)}; valid: {', '.join(CASES)}")
    return drivers, cases


@contextlib.contextmanager
def prepared_server(url: str | None) -> Iterator[Server]:
    """The server at ``url`` (or a throwaway one) with the benchmark's
    database and account, which are dropped at the end."""
    server = open_server(url)
    prepare_server(server)
    try:
        yield server
    finally:
        remove_user(server)
