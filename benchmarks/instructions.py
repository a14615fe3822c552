"""Machine instructions per request, per driver and case: what the pool adds
to a request, counted rather than timed.

    python -m benchmarks.instructions                   # never-closed and mysqlpool
    python -m benchmarks.instructions --cases never-closed,mysqlpool,mysqlpool-otel
    python -m benchmarks.instructions --threads 64      # more threads than connections

Requests per second move by 10-30 % between rounds on a shared machine, so a
change of a few microseconds per request is lost in them; the number of
instructions a request executes moves by well under 1 %. Each case runs the
benchmark's request (``request_started``, one ORM row by primary key,
``request_finished``, on one thread or shared by ``--threads``; valgrind runs
one thread at a time) under valgrind's cachegrind twice, with
two numbers of requests: the difference, divided by the difference in
requests, is one request's instructions with Django's start-up, the imports
and the first connection taken out. User-space instructions only (the
kernel's share of a socket round trip is not counted), and an instruction is
not a fixed time: cache misses are reported beside it. The server and the
settings are the benchmark's (``benchmarks.bench``). Every process runs with
the same hash seed (``PYTHONHASHSEED=0``), so that one thread's count is the
same from run to run within a few instructions.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys

from benchmarks import per_request
from benchmarks.cases import CASES
from benchmarks.servers import Server
from benchmarks.worker import unsupported

#: The counts valgrind prints at exit, by name in its summary.
COUNTERS = {"instructions": r"I\s+refs", "I1 misses": r"I1\s+misses",
            "D1 misses": r"D1\s+misses"}


def counts(driver: str, case: str, server: Server, requests: int,
           threads: int = 1) -> dict[str, int]:
    """valgrind's totals for one process whose ``threads`` threads make
    ``requests`` requests in all."""
    done = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=yes",
         "--cachegrind-out-file=/dev/null",
         *per_request.worker_command(driver, case, server, requests, threads)],
        cwd=per_request.ROOT, capture_output=True, text=True, timeout=1800,
        # One hash seed for every run: with Python's random one, dictionaries
        # lay out differently in each process and a request's count moves by
        # up to 1 %; with a fixed one, two runs agree within a few instructions.
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    if done.returncode != 0:
        raise RuntimeError(f"{driver} / {case} failed:\n{done.stderr[-2000:]}")
    return parse_counts(done.stderr)


def parse_counts(summary: str) -> dict[str, int]:
    """The COUNTERS from the summary cachegrind prints at exit."""
    found = {}
    for name, pattern in COUNTERS.items():
        match = re.search(pattern + r":\s+([\d,]+)", summary)
        if match is None:
            raise RuntimeError(f"no {name} in valgrind's output:\n{summary[-2000:]}")
        found[name] = int(match.group(1).replace(",", ""))
    return found


def counted_per_request(driver: str, case: str, server: Server, fewer: int,
                more: int, threads: int = 1) -> dict[str, float]:
    low = counts(driver, case, server, fewer, threads)
    high = counts(driver, case, server, more, threads)
    return per_request.share_of_one(low, high, more - fewer, COUNTERS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.instructions",
        description="Instructions per request (valgrind), per driver and case.")
    per_request.add_arguments(parser, requests=1000, threads=1)
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt install valgrind)", file=sys.stderr)
        return 2
    drivers, cases = per_request.drivers_and_cases(parser, args)
    with per_request.prepared_server(args.url) as server:
        print(f"{args.threads} thread(s)")
        print(f"{'driver':15} {'case':32} {'instructions':>12} {'x never':>8} "
              f"{'I1 misses':>10} {'D1 misses':>10}")
        for driver in drivers:
            base = None
            for case in cases:
                reason = unsupported(driver, case)
                if reason:
                    print(f"{driver:15} {CASES[case]:32} skipped: {reason}")
                    continue
                figures = counted_per_request(driver, case, server, 200,
                                              200 + args.requests, args.threads)
                if case == "never-closed":
                    base = figures["instructions"]
                relative = f"{figures['instructions'] / base:8.3f}" if base else f"{'':8}"
                print(f"{driver:15} {CASES[case]:32} {figures['instructions']:12,.0f} "
                      f"{relative} {figures['I1 misses']:10,.0f} "
                      f"{figures['D1 misses']:10,.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
