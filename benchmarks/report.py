"""The benchmark's report: each case's best round and paired ratios, the
project's goals checked against them, and the table."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from benchmarks.cases import CASES, DRIVERS, NEVER_CLOSED_AGAIN, POOL_SIZE, POSTGRES


@dataclass
class Measurement:
    driver: str
    case: str
    threads: int
    rounds: list[dict] = field(default_factory=list)
    peaks: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        # The best round stands for the case: on a shared machine, other work
        # only ever slows a round down, so the fastest one is the least
        # disturbed. Every round's figure is kept in the JSON.
        rps = [r["rps"] for r in self.rounds]
        best = max(self.rounds, key=lambda r: r["rps"])
        return {
            "driver": self.driver,
            "case": self.case,
            "threads": self.threads,
            "rps": best["rps"],
            "rps_rounds": [round(value, 1) for value in rps],
            "rps_median": statistics.median(rps),
            "p50_ms": best["p50_ms"],
            "p99_ms": best["p99_ms"],
            "peak_connections": max(self.peaks) if self.peaks else None,
            "requests": sum(r["requests"] for r in self.rounds),
            "errors": sum(r["errors"] for r in self.rounds),
            "error_samples": sorted({e for r in self.rounds for e in r["error_samples"]})[:5],
        }


def paired_ratios(measured: Measurement, base: Measurement | None) -> list[float]:
    """Each round's req/s over the never-closed case's in the same round.

    A round runs a driver's cases one after the other, so a slower stretch of
    a shared machine (other work, another VM) weighs on both sides of each
    ratio: their median moves less from run to run than the ratio of the
    best rounds, which may come from different stretches."""
    if base is None:
        return []
    base_rps = {r["round"]: r["rps"] for r in base.rounds}
    return [round(r["rps"] / base_rps[r["round"]], 3) for r in measured.rounds
            if base_rps.get(r["round"])]


def ratio(value: float | None, base: float | None) -> float | None:
    if value is None or not base:
        return None
    return value / base


#: mysqlpool's throughput over stock Django's never-closed connections (the
#: upper limit), each case at a thread count: what the project aims for.
GOALS = (
    ("mysqlpool", 1, 0.95),
    ("mysqlpool", 8, 0.97),
    ("mysqlpool", 64, 0.90),
    ("mysqlpool-otel", 1, 0.90),
    ("mysqlpool-prometheus", 1, 0.93),
)


def evaluate_targets(summaries: dict[tuple, dict]) -> list[dict]:
    """The project's goals (GOALS, and at most pool_size server connections
    at 64 threads), checked against this run's figures."""
    def rps(driver: str, case: str, threads: int) -> float | None:
        found = summaries.get((driver, case, threads))
        return found["rps"] if found else None

    targets = []

    def add(name: str, value: float | None, required: float, met: bool | None,
            median: float | None = None) -> None:
        targets.append({
            "target": name,
            "value": None if value is None else round(value, 3),
            "median_of_rounds": None if median is None else round(median, 3),
            "required": required,
            "met": met,
        })

    for driver in DRIVERS:
        for case, threads, required in GOALS:
            value = ratio(rps(driver, case, threads), rps(driver, "never-closed", threads))
            if value is None:
                continue
            found = summaries[(driver, case, threads)]
            add(f"{driver}: {CASES[case]} / never closed at {threads} thread"
                f"{'s' if threads > 1 else ''} >= {required}", value, required,
                value >= required, found.get("ratio_median"))
        for threads in sorted({key[2] for key in summaries}):
            # Ahead of Django's own pool on PostgreSQL, each against its own
            # server's never-closed connections (when both ran).
            value = ratio(rps(driver, "mysqlpool", threads),
                          rps(driver, "never-closed", threads))
            theirs = ratio(rps(POSTGRES, "django-pool", threads),
                           rps(POSTGRES, "never-closed", threads))
            if value is not None and theirs is not None:
                add(f"{driver}: mysqlpool / never closed at {threads} thread"
                    f"{'s' if threads > 1 else ''} >= Django's PostgreSQL pool's "
                    f"({theirs:.3f})", value, round(theirs, 3), value >= theirs,
                    summaries[(driver, "mysqlpool", threads)].get("ratio_median"))
        pooled = summaries.get((driver, "mysqlpool", 64))
        if pooled is not None:
            peak = pooled["peak_connections"]
            add(f"{driver}: mysqlpool's peak server connections at 64 threads <= {POOL_SIZE}",
                peak, POOL_SIZE, None if peak is None else peak <= POOL_SIZE)
    return targets


def control_spread(summaries: dict[tuple, dict]) -> list[dict]:
    """How far apart two measurements of the same code land in this run: the
    never-closed case measured again (the control), per driver and thread
    count, over the never-closed case. Exactly 1 on a quiet machine; a goal
    closer to its ratio than this spread is not shown by one run."""
    spread = []
    for (driver, case, threads), found in sorted(summaries.items()):
        value = found.get("ratio_to_never_closed")
        if case != NEVER_CLOSED_AGAIN or value is None:
            continue
        rounds = found.get("ratio_rounds") or []
        spread.append({
            "driver": driver,
            "threads": threads,
            "ratio": round(value, 3),
            "lowest_round": min(rounds) if rounds else None,
            "highest_round": max(rounds) if rounds else None,
        })
    return spread


def format_spread(spread: list[dict]) -> list[str]:
    lines = []
    for each in spread:
        rounds = ("" if each["lowest_round"] is None else
                  f" (rounds {each['lowest_round']:.2f} to {each['highest_round']:.2f})")
        lines.append(f"  {each['driver']}, {each['threads']} thread"
                     f"{'s' if each['threads'] > 1 else ''}: {each['ratio']:.3f}{rounds}")
    return lines


def format_table(summaries: dict[tuple, dict], drivers: list[str], cases: list[str],
                 threads: list[int]) -> str:
    header = (
        f"{'driver':<16}{'case':<28}{'threads':>7}{'req/s':>10}{'x never':>9}{'median':>8}"
        f"{'p50 ms':>10}{'p99 ms':>10}{'peak conns':>11}"
    )
    lines = [header, "-" * len(header)]

    def number(value: float | None, digits: int) -> str:
        return "-" if value is None else f"{value:,.{digits}f}"

    for driver in drivers:
        for case in cases:
            for count in threads:
                found = summaries.get((driver, case, count))
                if found is None:
                    continue
                line = (
                    f"{driver:<16}{CASES[case]:<28}{count:>7}{number(found['rps'], 0):>10}"
                    f"{number(found['ratio_to_never_closed'], 2):>9}"
                    f"{number(found['ratio_median'], 2):>8}"
                    f"{number(found['p50_ms'], 3):>10}{number(found['p99_ms'], 3):>10}"
                    f"{number(found['peak_connections'], 0):>11}"
                )
                if found["errors"]:
                    line += f"  {found['errors']} errors"
                lines.append(line)
        lines.append("")
    return "\n".join(lines)


def print_failures(failures: list[dict], stream: Any) -> None:
    for failure in failures:
        where = " / ".join(str(failure[k]) for k in ("driver", "case", "round", "threads")
                           if k in failure)
        samples = "; ".join(failure.get("samples", []))[:300]
        print(f"  {where}: {failure['error'][:300]} {samples}", file=stream)
