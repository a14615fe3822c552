"""Context switches and CPU time per request, per driver and case: what a
request costs the kernel and the scheduler, which instruction counts
(benchmarks.instructions, user space only) do not show.

    python -m benchmarks.switches                        # 64 threads, pool of 10
    python -m benchmarks.switches --threads 1 --requests 3000

Each case runs the benchmark's request (as benchmarks.instructions does, the
requests shared by ``--threads`` threads, here at full speed) in a process of
its own, twice, with two numbers of requests; the difference of the two
processes' resource usage (getrusage), divided by the difference in requests, is
one request's, with Django's start-up and the first connection taken out.
The cases alternate, round after round, and the median of the rounds is
shown. Voluntary context switches (a thread blocked: on its socket, on the
GIL, in the pool's waiting line) vary little from run to run; CPU and wall
time vary with the machine's load, so compare them only within one run.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence

from benchmarks import per_request
from benchmarks.cases import CASES
from benchmarks.servers import Server

#: What is shown per request, in this order: name, unit, scale from the totals.
FIGURES = (("wall", "µs", 1e6), ("user", "µs", 1e6), ("system", "µs", 1e6),
           ("voluntary switches", "", 1.0), ("involuntary switches", "", 1.0))
NAMES = [name for name, _, _ in FIGURES]


def measured(driver: str, case: str, server: Server, requests: int,
             threads: int) -> dict[str, float]:
    """Wall time, CPU time and context switches of one process whose
    ``threads`` threads make ``requests`` requests in all."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(
        per_request.worker_command(driver, case, server, requests, threads),
        cwd=per_request.ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, stderr = process.communicate(timeout=1800)
    wall = time.perf_counter() - started
    # The process is reaped: its usage is what the children's totals grew by
    # (no other child runs meanwhile).
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        raise RuntimeError(f"{driver} / {case} failed:\n{stderr[-2000:]}")
    return {
        "wall": wall,
        "user": after.ru_utime - before.ru_utime,
        "system": after.ru_stime - before.ru_stime,
        "voluntary switches": float(after.ru_nvcsw - before.ru_nvcsw),
        "involuntary switches": float(after.ru_nivcsw - before.ru_nivcsw),
    }


def medians(rounds: Sequence[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the rounds."""
    return {name: statistics.median(one[name] for one in rounds) for name in NAMES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.switches",
        description="Context switches and CPU time per request, per driver and case.")
    per_request.add_arguments(parser, requests=5000, threads=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    drivers, cases = per_request.drivers_and_cases(parser, args)
    with per_request.prepared_server(args.url) as server:
        print(f"{args.threads} thread(s), {args.requests} requests, median of "
              f"{args.rounds} rounds; per request:")
        print(f"{'driver':15} {'case':32} " + " ".join(
            f"{(name + (f' ({unit})' if unit else '')):>22}" for name, unit, _ in FIGURES))
        for driver in drivers:
            runnable = per_request.runnable_cases(driver, cases)
            rounds: dict[str, list[dict[str, float]]] = {case: [] for case in runnable}
            for _ in range(args.rounds):
                for case in runnable:  # alternating: the machine's drift hits every case
                    fewer = measured(driver, case, server, 200, args.threads)
                    more = measured(driver, case, server, 200 + args.requests, args.threads)
                    rounds[case].append(
                        per_request.share_of_one(fewer, more, args.requests, NAMES))
            for case in runnable:
                figures = medians(rounds[case])
                print(f"{driver:15} {CASES[case]:32} " + " ".join(
                    f"{figures[name] * scale:22,.2f}" for name, _, scale in FIGURES),
                    flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
