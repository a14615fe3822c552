"""Requests per second of Django on MySQL/MariaDB: stock, pooled by
django-db-connection-pool, and pooled by mysqlpool, side by side in one run.

    python -m benchmarks.bench --quick     # see it work: about a minute
    python -m benchmarks.bench             # the full run: about fifteen minutes
    python -m benchmarks.bench --profile   # where one request's time goes (cProfile)

Run it from the repository root. For each driver (mysqlclient, PyMySQL,
mysql-connector-python) it measures these cases, each in its own process
(``pymysql.install_as_MySQLdb()`` is process-wide):

- ``stock-0``: Django's own backend with ``CONN_MAX_AGE=0`` (a connection per
  request); for mysql-connector, its own backend ``mysql.connector.django``;
- ``never-closed``: the same with ``CONN_MAX_AGE=None``, the upper limit;
- ``dbcp``: django-db-connection-pool, where it supports the driver;
- ``mysqlpool``: this project;
- ``never-closed-again``: ``never-closed`` measured a second time in each
  round, the control: its ratio to ``never-closed`` shows how far apart two
  measurements of the same code land in this run.

With ``--drivers postgresql`` (see benchmarks/postgres.py) the same request
runs on PostgreSQL too, stock and in Django's own pool (``django-pool``), so
that mysqlpool's ratio to never-closed connections can be set beside that
pool's to its own.

A request is what Django's handler does around a view: ``request_started``,
one ORM query (a row by primary key), ``request_finished``. Each case runs at
1, 8 and 64 threads; the pooled cases with ``pool_size=10, max_overflow=0``.
Peak server connections are sampled from ``information_schema.PROCESSLIST``
for the benchmark's own database user, from this (parent) process. Without
``--url``, the throwaway server runs on CPUs of its own and the cases on
another, as on two machines (benchmarks.cpus; ``--share-cpus`` not).

The results go to the screen and, as JSON, to ``--output`` (default
``benchmark-results/bench-<time>.json``). The exit status is non-zero only
when a case failed to run or a request through mysqlpool failed; requests
failing in the other cases, and goals not reached, are reported.
Each case's figures come from its best of several rounds (full mode).
Absolute figures depend on the machine; compare the ratios, which come from
the same run.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks import cpus, postgres
from benchmarks.cases import (
    ALL_DRIVERS,
    BENCH_DATABASE,
    CASES,
    DEFAULT_CASES,
    DRIVER_DISTRIBUTIONS,
    DRIVERS,
    MAX_OVERFLOW,
    MODES,
    POOL_SIZE,
    ROWS,
    URL_VARIABLES,
    round_order,
)
from benchmarks.report import (
    Measurement,
    control_spread,
    evaluate_targets,
    format_spread,
    format_table,
    paired_ratios,
    print_failures,
    ratio,
)
from benchmarks.servers import (
    ConnectionSampler,
    Server,
    open_server,
    prepare_server,
    remove_user,
)
from benchmarks.worker import run_case, unsupported


def run_worker_process(spec: dict, sampler: ConnectionSampler, timeout: float,
                       measurements: dict) -> str | None:
    """Run one case in a child process; return an error message, or None."""
    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, "-m", "benchmarks.bench", "--worker", json.dumps(spec)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    stderr: list[str] = []
    reader = threading.Thread(target=lambda: stderr.extend(process.stderr), daemon=True)
    reader.start()
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    results = 0
    try:
        for line in process.stdout:
            kind, _, payload = line.partition(" ")
            if kind == "PHASE":
                event = json.loads(payload)
                if event["event"] == "start":
                    sampler.begin()
                elif event["event"] == "end":
                    peak = sampler.end()
                    key = (spec["driver"], spec["case"], event["threads"])
                    if peak is not None:
                        measurements[key].peaks.append(peak)
            elif kind == "RESULT":
                result = json.loads(payload)
                result["round"] = spec["round"]
                key = (spec["driver"], spec["case"], result["threads"])
                measurements[key].rounds.append(result)
                results += 1
        process.wait()
    finally:
        timer.cancel()
        reader.join(5)
    if process.returncode != 0 or results != len(spec["threads"]):
        # The exception, not the whole traceback.
        lines = [line.rstrip() for line in stderr if line.strip()]
        tail = lines[-1] if lines else "no output"
        if process.returncode < 0:
            return f"killed after {timeout:.0f} s: {tail}"
        return f"exit status {process.returncode}: {tail}"
    return None


def versions(drivers: list[str]) -> dict[str, str]:
    found = {}
    for name in ["Django", "SQLAlchemy", "django-db-connection-pool",
                 *(DRIVER_DISTRIBUTIONS[d] for d in drivers),
                 *(["psycopg-pool"] if postgres.DRIVER in drivers else [])]:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true",
                        help="one short round per case (about a minute in all)")
    parser.add_argument("--url", default=next(
        (os.environ[v] for v in URL_VARIABLES if os.environ.get(v)), None),
        help="admin account of the server, mysql://user:password@host:port/ "
        f"(default: ${' or $'.join(URL_VARIABLES)}; without one, a throwaway "
        "mariadbd is started from the local binaries and removed afterwards)")
    parser.add_argument("--drivers", default=",".join(DRIVERS),
                        help="comma-separated; default: the three MySQL drivers; "
                        f"{postgres.DRIVER} adds Django's own PostgreSQL pool for comparison")
    parser.add_argument("--postgres-url", default=os.environ.get(postgres.URL_VARIABLE)
                        or postgres.DEFAULT_URL,
                        help=f"with --drivers {postgres.DRIVER}: a PostgreSQL account that can "
                        f"create a database (default ${postgres.URL_VARIABLE} or "
                        f"{postgres.DEFAULT_URL})")
    parser.add_argument("--cases", default=",".join(DEFAULT_CASES),
                        help=f"comma-separated among {', '.join(CASES)} (default: "
                        f"{', '.join(DEFAULT_CASES)})")
    parser.add_argument("--threads", default="1,8,64", help="comma-separated thread counts")
    parser.add_argument("--rounds", type=int, help="runs of each case (the best one is reported)")
    parser.add_argument("--warmup", type=float, help="seconds before measuring each phase")
    parser.add_argument("--duration", type=float, help="measured seconds per phase")
    parser.add_argument("--output", help="JSON file (default benchmark-results/bench-<time>.json)")
    parser.add_argument("--profile", action="store_true",
                        help="instead: one thread's requests under cProfile, per driver and "
                        "case (default cases never-closed,mysqlpool); .pstats files to "
                        "benchmark-results/")
    parser.add_argument("--share-cpus", action="store_true",
                        help="without --url: leave the throwaway server and the cases on "
                        "the same CPUs (by default each has CPUs of its own)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        run_case(json.loads(args.worker))
        return 0
    if args.profile:
        return profile(args)

    mode = dict(MODES["quick" if args.quick else "full"])
    for name in ("rounds", "warmup", "duration"):
        if getattr(args, name) is not None:
            mode[name] = getattr(args, name)
    drivers = [d for d in args.drivers.split(",") if d]
    cases = [c for c in args.cases.split(",") if c]
    threads = [int(t) for t in args.threads.split(",") if t]
    for name, chosen, valid in (("driver", drivers, ALL_DRIVERS), ("case", cases, CASES)):
        wrong = [value for value in chosen if value not in valid]
        if wrong:
            parser.error(f"unknown {name} {', '.join(wrong)}; choose among {', '.join(valid)}")

    postgres_server: tuple[Server, str] | None = None
    if postgres.DRIVER in drivers:
        on = postgres.server_from_url(args.postgres_url)
        postgres_server = (on, postgres.prepare_server(on, BENCH_DATABASE, ROWS))
    # PostgreSQL's server is not ours to place: its cases and the MySQL ones
    # are measured alike, on shared CPUs.
    server = open_server(args.url, apart=not args.share_cpus and postgres_server is None)
    server_version = prepare_server(server)
    try:
        return measure(args, mode, drivers, cases, threads, server, server_version,
                       postgres_server)
    finally:
        remove_user(server)


def measure(args: argparse.Namespace, mode: dict, drivers: list[str], cases: list[str],
            threads: list[int], server: Server, server_version: str,
            postgres_server_version: tuple[Server, str] | None = None) -> int:
    """Run every case, print the table and write the JSON report; the exit status."""
    sampler = ConnectionSampler(server)
    samplers = [sampler]
    servers = {"version": server_version, "host": server.host, "port": server.port}
    postgres_server = postgres_sampler = None
    if postgres_server_version is not None:
        postgres_server, version = postgres_server_version
        postgres_sampler = postgres.PostgresConnectionSampler(postgres_server)
        samplers.append(postgres_sampler)
        servers[postgres.DRIVER] = {"version": version, "host": postgres_server.host,
                                    "port": postgres_server.port}
        print(f"PostgreSQL {version} at {postgres_server.host}:{postgres_server.port}")
    started = time.monotonic()
    print(
        f"Server {server_version} at {server.host}:{server.port}; "
        f"{mode['rounds']} round(s), {mode['warmup']} s warm-up + {mode['duration']} s "
        f"per phase, threads {threads}, pools of {POOL_SIZE} (max_overflow {MAX_OVERFLOW})",
        flush=True,
    )

    measurements = {
        (d, c, t): Measurement(d, c, t) for d in drivers for c in cases for t in threads
    }
    skipped, errors, findings = [], [], []
    runnable = []
    for driver in drivers:
        for case in cases:
            reason = unsupported(driver, case)
            if reason:
                skipped.append({"driver": driver, "case": case, "reason": reason})
            else:
                runnable.append((driver, case))
    # Only a guard against a hung worker.
    timeout = 120 + len(threads) * (mode["warm_limit"] + mode["warmup"] + mode["duration"] + 60)
    for round_number in range(1, mode["rounds"] + 1):
        for driver, case in round_order(runnable, round_number):
            print(f"round {round_number}/{mode['rounds']}: {driver:<16} {CASES[case]}",
                  flush=True)
            on, counting = ((postgres_server, postgres_sampler) if driver == postgres.DRIVER
                            else (server, sampler))
            spec = {
                "driver": driver, "case": case, "threads": threads, "round": round_number,
                "warmup": mode["warmup"], "duration": mode["duration"],
                "warm_limit": mode["warm_limit"], "server": vars(on),
            }
            # Connections of the previous case may linger on a busy server;
            # count this case's own.
            counting.wait_until_idle(timeout=30)
            error = run_worker_process(spec, counting, timeout, measurements)
            if error:
                errors.append({"driver": driver, "case": case, "round": round_number,
                               "error": error})
                print(f"  failed: {error}", file=sys.stderr, flush=True)
    for each in samplers:
        each.close()

    summaries = {key: m.summary() for key, m in measurements.items() if m.rounds}
    for (driver, _case, count), found in summaries.items():
        base = summaries.get((driver, "never-closed", count))
        found["ratio_to_never_closed"] = ratio(found["rps"], base["rps"] if base else None)
        found["ratio_rounds"] = paired_ratios(
            measurements[(driver, _case, count)], measurements.get((driver, "never-closed", count)))
        found["ratio_median"] = (statistics.median(found["ratio_rounds"])
                                 if found["ratio_rounds"] else None)
        if found["errors"]:
            failure = {"driver": driver, "case": found["case"], "threads": count,
                       "error": f"{found['errors']} failed requests",
                       "samples": found["error_samples"]}
            # Requests failing under load in mysqlpool are a bug; in the cases
            # it is compared with (django-db-connection-pool starves threads
            # into its 30 s timeout at 64 threads) they are a finding.
            (errors if found["case"].startswith("mysqlpool") else findings).append(failure)
    targets = evaluate_targets(summaries)
    elapsed = time.monotonic() - started

    print()
    print(format_table(summaries, drivers, cases, threads))
    print("Goals (ratios from this run):")
    for target in targets:
        verdict = {True: "met", False: "MISSED", None: "not measured"}[target["met"]]
        median = target.get("median_of_rounds")
        print(f"  {verdict:<13}{target['target']}: {target['value']}"
              + (f" (median of the rounds' ratios {median})" if median is not None else ""))
    spread = control_spread(summaries)
    if spread:
        print("The same code measured twice (never closed, again / never closed):")
        print("\n".join(format_spread(spread)))
    for skip in skipped:
        print(f"skipped {skip['driver']} / {CASES[skip['case']]}: {skip['reason']}")
    for each in samplers:
        if each.error:
            print(f"connection sampling failed at least once: {each.error}")

    output = Path(args.output) if args.output else Path("benchmark-results") / (
        "bench-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + ".json"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "elapsed_seconds": round(elapsed, 1),
        "mode": "quick" if args.quick else "full",
        "settings": {**mode, "threads": threads, "pool_size": POOL_SIZE,
                     "max_overflow": MAX_OVERFLOW, "rows": ROWS},
        "server": servers,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "cases_on_cpus": cpus.this_process()},
        "versions": versions(drivers),
        "results": [summaries[key] for key in measurements if key in summaries],
        "targets": targets,
        "control": spread,
        "skipped": skipped,
        "errors": errors,
        "failed_requests_elsewhere": findings,
    }
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nJSON: {output}  ({elapsed:.0f} s)")
    if findings:
        print("Failed requests in the cases mysqlpool is compared with (not an error here):")
        print_failures(findings, sys.stdout)
    if errors:
        print(f"{len(errors)} error(s):", file=sys.stderr)
        print_failures(errors, sys.stderr)
        return 1
    return 0


def profile(args: argparse.Namespace) -> int:
    """Where a request's time goes, per driver and case: cProfile, one thread."""
    server = open_server(args.url)
    prepare_server(server)
    try:
        return profile_cases(args, server)
    finally:
        remove_user(server)


def profile_cases(args: argparse.Namespace, server: Server) -> int:
    drivers = [d for d in args.drivers.split(",") if d]
    cases = [c for c in args.cases.split(",") if c]
    if args.cases == ",".join(DEFAULT_CASES):
        cases = ["never-closed", "mysqlpool"]
    directory = Path("benchmark-results")
    directory.mkdir(exist_ok=True)
    root = Path(__file__).resolve().parent.parent
    failed = False
    for driver in drivers:
        for case in cases:
            reason = unsupported(driver, case)
            if reason:
                print(f"skipped {driver} / {CASES[case]}: {reason}")
                continue
            path = directory / f"profile-{driver}-{case}.pstats"
            spec = {"driver": driver, "case": case, "threads": [1], "warmup": 0,
                    "duration": args.duration or 5.0, "server": vars(server),
                    "profile": str(path.resolve())}
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.bench", "--worker", json.dumps(spec)],
                cwd=root, capture_output=True, text=True,
            )
            for line in done.stdout.splitlines():
                kind, _, payload = line.partition(" ")
                if kind == "PROFILE":
                    found = json.loads(payload)
                    print(f"== {driver} / {CASES[case]}: {found['requests']} requests, "
                          f"{path}\n{found['top']}")
            if done.returncode != 0:
                failed = True
                print(f"{driver} / {CASES[case]} failed:\n{done.stderr[-2000:]}",
                      file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
