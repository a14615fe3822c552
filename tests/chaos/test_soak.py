"""Soak: 64 threads writing and reading through a pool of 10 for a while.

``MYSQLPOOL_SOAK_SECONDS`` sets the duration (default 60; shorter for local runs).
"""

from __future__ import annotations

import os
import threading
import time

import pytest
from django.db import transaction

import mysqlpool
from tests.app.models import Item
from tests.chaos.conftest import APP, record, request

pytestmark = pytest.mark.chaos

THREADS = 64
POOL_SIZE = 10
SECONDS = float(os.environ.get("MYSQLPOOL_SOAK_SECONDS", "60"))


def test_soak(server, pooled_alias):
    alias = pooled_alias(pool={"pool_size": POOL_SIZE, "max_overflow": 0, "timeout": 60})
    stop = threading.Event()
    written = [0] * THREADS
    requests = [0] * THREADS
    slowest = [0.0] * THREADS
    errors: list[BaseException] = []
    samples: list[int] = []

    def one_request(index: int, number: int) -> None:
        name = f"t{index}"
        if number % 4 == 3:
            # Now and then two writes in one transaction, read back inside it.
            with transaction.atomic(using=alias):
                Item.objects.using(alias).bulk_create(
                    [Item(name=name, quantity=number), Item(name=name, quantity=-number)]
                )
                assert Item.objects.using(alias).filter(name=name, quantity=-number).exists()
            written[index] += 2
        else:
            item = Item.objects.using(alias).create(name=name, quantity=number)
            written[index] += 1
            assert Item.objects.using(alias).get(pk=item.pk).quantity == number
        # Every row this thread committed is visible to it.
        assert Item.objects.using(alias).filter(name=name).count() == written[index]

    def worker(index: int) -> None:
        number = 0
        while not stop.is_set():
            number += 1
            start = time.monotonic()
            try:
                request(lambda n=number: one_request(index, n))
                requests[index] += 1
                slowest[index] = max(slowest[index], time.monotonic() - start)
            except Exception as exc:  # noqa: BLE001 - counted
                errors.append(exc)

    def monitor() -> None:
        while not stop.is_set():
            try:
                samples.append(len(server.connection_ids(APP.user)))
            except Exception as exc:  # noqa: BLE001 - counted
                errors.append(exc)
            stop.wait(0.1)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    threads.append(threading.Thread(target=monitor))
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        stop.wait(SECONDS)
    finally:
        stop.set()
        for thread in threads:
            thread.join(120)
    elapsed = time.monotonic() - started

    rows = server.query("SELECT COUNT(*) FROM chaos.app_item")[0][0]
    figures = mysqlpool.stats()[alias]
    assert errors == [], errors[:3]
    assert rows == sum(written), "lost (or extra) writes"
    assert samples and max(samples) <= POOL_SIZE, max(samples)
    assert figures["connects"] <= POOL_SIZE
    assert figures["checked_out"] == 0
    assert sum(requests) > THREADS
    # Waiters are served in turn: none starves anywhere near the pool timeout.
    assert min(requests) > 0
    assert max(slowest) < 15, max(slowest)
    record(
        f"soak: {THREADS} threads x {elapsed:.0f} s, pool of {POOL_SIZE}: {sum(requests)} "
        f"requests, {len(errors)} errors, {sum(written)} writes committed, {rows} rows "
        f"(0 lost), max {max(samples)} server connections in {len(samples)} samples, "
        f"{figures['connects']} connects, {figures['waits']} waits, slowest request "
        f"{max(slowest) * 1000:.0f} ms, fewest requests in a thread {min(requests)}"
    )
