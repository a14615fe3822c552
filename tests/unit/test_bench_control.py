"""The benchmark's control: the never-closed case measured a second time in
each round, whose ratio to the first shows how far apart two measurements of
the same code land in one run."""

from __future__ import annotations

import pytest

from benchmarks import postgres
from benchmarks.cases import NEVER_CLOSED_AGAIN
from benchmarks.report import control_spread, format_spread
from benchmarks.servers import Server
from benchmarks.worker import database_settings, unsupported

SERVER = Server("db.example", 3306, "bench", "secret")


@pytest.mark.parametrize("driver", ["mysqlclient", "pymysql", "mysql-connector",
                                    postgres.DRIVER])
def test_the_control_runs_with_the_never_closed_cases_settings(driver):
    assert (database_settings(driver, NEVER_CLOSED_AGAIN, SERVER)
            == database_settings(driver, "never-closed", SERVER))


@pytest.mark.parametrize("driver", ["mysqlclient", "pymysql", postgres.DRIVER])
def test_the_control_runs_wherever_the_never_closed_case_does(driver):
    assert unsupported(driver, NEVER_CLOSED_AGAIN) == unsupported(driver, "never-closed")


def summary(case: str, threads: int, ratio: float | None, rounds: list[float],
            driver: str = "pymysql") -> tuple:
    return (driver, case, threads), {"ratio_to_never_closed": ratio, "ratio_rounds": rounds}


@pytest.mark.parametrize(("summaries", "expected"), [
    # Only the control's ratios: not the pooled case's, nor the base's own 1.0.
    (dict([summary("never-closed", 8, 1.0, [1.0, 1.0]),
           summary("mysqlpool", 8, 0.95, [0.9, 0.97]),
           summary(NEVER_CLOSED_AGAIN, 8, 0.9412, [0.91, 1.06, 0.97])]),
     [{"driver": "pymysql", "threads": 8, "ratio": 0.941,
       "lowest_round": 0.91, "highest_round": 1.06}]),
    # Sorted by driver, then thread count.
    (dict([summary(NEVER_CLOSED_AGAIN, 64, 1.1, [1.1]),
           summary(NEVER_CLOSED_AGAIN, 1, 0.98, [0.98]),
           summary(NEVER_CLOSED_AGAIN, 1, 1.01, [1.01], driver="mysqlclient")]),
     [{"driver": "mysqlclient", "threads": 1, "ratio": 1.01, "lowest_round": 1.01,
       "highest_round": 1.01},
      {"driver": "pymysql", "threads": 1, "ratio": 0.98, "lowest_round": 0.98,
       "highest_round": 0.98},
      {"driver": "pymysql", "threads": 64, "ratio": 1.1, "lowest_round": 1.1,
       "highest_round": 1.1}]),
    # No never-closed figure to compare with (it failed): no spread.
    (dict([summary(NEVER_CLOSED_AGAIN, 8, None, [])]), []),
    ({}, []),
])
def test_control_spread(summaries, expected):
    assert control_spread(summaries) == expected


def test_the_spread_is_printed_per_driver_and_thread_count():
    spread = [{"driver": "pymysql", "threads": 1, "ratio": 0.94, "lowest_round": 0.88,
               "highest_round": 1.07},
              {"driver": "pymysql", "threads": 8, "ratio": 1.0, "lowest_round": None,
               "highest_round": None}]
    assert format_spread(spread) == ["  pymysql, 1 thread: 0.940 (rounds 0.88 to 1.07)",
                                     "  pymysql, 8 threads: 1.000"]
