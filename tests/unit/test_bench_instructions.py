"""Reading cachegrind's summary (benchmarks.instructions)."""

from __future__ import annotations

import threading

import pytest

from benchmarks.cases import ROWS
from benchmarks.instructions import parse_counts
from benchmarks.worker import run_requests

SUMMARY = """\
==12197== I   refs:      3,464,175,915
==12197== I1  misses:       19,960,283
==12197== LLi misses:           24,031
==12197== I1  miss rate:          0.58%
==12197== D   refs:      1,807,445,812  (1,172,030,545 rd   + 635,415,267 wr)
==12197== D1  misses:       36,761,763  (   33,100,152 rd   +   3,661,611 wr)
"""


def test_the_counts_are_read_with_their_thousands_separators():
    assert parse_counts(SUMMARY) == {
        "instructions": 3_464_175_915, "I1 misses": 19_960_283, "D1 misses": 36_761_763}


@pytest.mark.parametrize("missing", ["I   refs", "I1  misses", "D1  misses"])
def test_a_summary_without_a_count_is_an_error_naming_it(missing):
    lines = [line for line in SUMMARY.splitlines() if missing not in line]
    with pytest.raises(RuntimeError, match="no .* in valgrind's output"):
        parse_counts("\n".join(lines))


class _Connections:
    """What run_requests calls on Django's connections: close_all, per thread."""

    def __init__(self) -> None:
        self.closed_in: list[int] = []
        self.lock = threading.Lock()

    def close_all(self) -> None:
        with self.lock:
            self.closed_in.append(threading.get_ident())


@pytest.mark.parametrize(("total", "threads"), [(10, 1), (10, 3), (200, 64), (5, 8)])
def test_the_requests_are_shared_by_the_threads_each_made_once(total, threads):
    made: list[tuple[int, int]] = []
    lock = threading.Lock()

    def request(pk: int) -> None:
        with lock:
            made.append((pk, threading.get_ident()))

    connections = _Connections()
    run_requests(request, connections, total, threads)
    assert sorted(pk for pk, _ in made) == sorted(n % ROWS + 1 for n in range(total))
    # Each thread closes its connections once, the requestless ones too
    # (thread idents may be reused once a thread has ended: counted, not told apart).
    assert len(connections.closed_in) == threads
    assert {ident for _, ident in made} <= set(connections.closed_in)
