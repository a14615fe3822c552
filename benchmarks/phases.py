"""Where a request's CPU time goes, per driver and case: taking the
connection, the query, giving it back, measured inside running requests.

    python -m benchmarks.phases                      # 8 threads, pool of 10
    python -m benchmarks.phases --threads 1 --rounds 5

A few microseconds of the pool's work per request, timed in a loop, cost
several times as much inside real requests, where each runs after another
request's work has taken the processor's caches. Each case runs the
benchmark's request split in three steps, in a process of its own at full
speed: taking the connection (``request_started`` and the connect, a
checkout or a parked connection taken back with the pool), the query (an
ORM row by primary key) and giving it back (``request_finished``). Each
thread adds up the CPU time it spent in each step (``time.thread_time()``,
which leaves out the time it waited for the GIL or the server); the
per-request figure is the sum over the threads' requests, divided by
their number. The cases alternate, round after round; the median of the
rounds is shown, and each step's difference from the never-closed case's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence

from benchmarks import per_request
from benchmarks.cases import CASES
from benchmarks.servers import Server

#: The steps of a request, in order, as the worker reports them.
STEPS = ("connect", "query", "finish")


def worker_command(driver: str, case: str, server: Server, threads: int, warmup: float,
                   seconds: float) -> list[str]:
    """The benchmark's worker timing the steps of ``threads`` threads'
    requests for ``seconds`` after ``warmup``."""
    spec = {"driver": driver, "case": case, "threads": [threads], "server": vars(server),
            "warmup": warmup, "phases": seconds}
    return [sys.executable, "-m", "benchmarks.bench", "--worker", json.dumps(spec)]


def per_request_step(totals: Mapping[str, float]) -> dict[str, float]:
    """Seconds of CPU time per request in each step, and in all of them,
    from a worker's totals."""
    requests = totals["requests"]
    if not requests:
        raise RuntimeError("the worker measured no request")
    figures = {step: totals[step] / requests for step in STEPS}
    figures["total"] = sum(figures[step] for step in STEPS)
    return figures


def medians(rounds: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Each step's median over the rounds."""
    return {name: statistics.median(one[name] for one in rounds) for name in (*STEPS, "total")}


def measured(driver: str, case: str, server: Server, threads: int, warmup: float,
             seconds: float) -> dict[str, float]:
    """One process's CPU time per request and step."""
    done = subprocess.run(worker_command(driver, case, server, threads, warmup, seconds),
                          cwd=per_request.ROOT, capture_output=True, text=True,
                          timeout=300 + warmup + seconds)
    if done.returncode != 0:
        raise RuntimeError(f"{driver} / {case} failed:\n{done.stderr[-2000:]}")
    for line in done.stdout.splitlines():
        kind, _, payload = line.partition(" ")
        if kind == "PHASES":
            return per_request_step(json.loads(payload))
    raise RuntimeError(f"{driver} / {case} reported no figures:\n{done.stdout[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.phases",
        description="CPU time per request in each step (taking the connection, "
        "the query, giving it back), per driver and case.")
    per_request.add_arguments(parser, requests=None, threads=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per process")
    args = parser.parse_args(argv)
    drivers, cases = per_request.drivers_and_cases(parser, args)
    with per_request.prepared_server(args.url) as server:
        print(f"{args.threads} thread(s), {args.seconds:g} s per process, median of "
              f"{args.rounds} rounds; CPU µs per request (difference from never-closed):")
        print(f"{'driver':15} {'case':32} " + " ".join(
            f"{name:>16}" for name in (*STEPS, "total")))
        for driver in drivers:
            runnable = per_request.runnable_cases(driver, cases)
            rounds: dict[str, list[dict[str, float]]] = {case: [] for case in runnable}
            for _ in range(args.rounds):
                for case in runnable:  # alternating: the machine's drift hits every case
                    rounds[case].append(
                        measured(driver, case, server, args.threads, 1.0, args.seconds))
            base = medians(rounds["never-closed"]) if "never-closed" in rounds else None
            for case in runnable:
                figures = medians(rounds[case])
                cells = []
                for name in (*STEPS, "total"):
                    cell = f"{figures[name] * 1e6:,.1f}"
                    if base is not None and case != "never-closed":
                        cell += f" ({(figures[name] - base[name]) * 1e6:+,.1f})"
                    cells.append(f"{cell:>16}")
                print(f"{driver:15} {CASES[case]:32} " + " ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
