"""Requests on green threads: ``python green_requests.py gevent|eventlet``.

Monkey-patches first (as a green server or worker does), then runs 50 green
threads × 5 requests (request_started, a 20 ms query, request_finished) with
a ticker green thread that measures how long the hub was held up. Prints a
JSON summary.
"""

import json
import sys
import time

LIBRARY = sys.argv[1]
if LIBRARY == "gevent":
    from gevent import monkey

    monkey.patch_all()
    import gevent

    spawn, sleep = gevent.spawn, gevent.sleep

    def join(threads):
        gevent.joinall(threads)
else:
    import eventlet

    eventlet.monkey_patch()
    spawn, sleep = eventlet.spawn, eventlet.sleep

    def join(threads):
        for thread in threads:
            thread.wait()

import django  # noqa: E402

django.setup()

from django.core.signals import request_finished, request_started  # noqa: E402
from django.db import connection  # noqa: E402

import mysqlpool  # noqa: E402

errors, done, gaps = [], [0], [0.0]
running = [True]
#: Queries under way now, and the most at once: more than one means green
#: threads ran queries concurrently (a driver that blocked the hub could not).
in_flight = [0, 0]


def ticker():
    last = time.monotonic()
    while running[0]:
        sleep(0.002)
        now = time.monotonic()
        gaps[0] = max(gaps[0], now - last)
        last = now


def requests():
    for _ in range(5):
        request_started.send(sender=None)
        try:
            in_flight[0] += 1
            in_flight[1] = max(in_flight)
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT SLEEP(0.02)")
            finally:
                in_flight[0] -= 1
            done[0] += 1
        except Exception as exc:  # noqa: BLE001 - counted and shown
            errors.append(repr(exc)[:300])
        finally:
            request_finished.send(sender=None)


tick = spawn(ticker)
start = time.monotonic()
join([spawn(requests) for _ in range(50)])
elapsed = time.monotonic() - start
running[0] = False
join([tick])
print(json.dumps({
    "driver": connection.driver.name, "done": done[0], "errors": errors,
    "elapsed": elapsed, "max_gap": gaps[0], "most_at_once": in_flight[1],
    "stats": mysqlpool.stats()["default"],
}))
