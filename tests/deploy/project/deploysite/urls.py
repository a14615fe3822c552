import json
import os
import threading

from django.db import connection
from django.http import HttpResponse
from django.urls import path

from deploysite.models import Item

#: Queries of the sleep view under way in this process now, and the most at once:
#: more than one means the worker served requests concurrently (a driver that
#: blocked gevent's hub would run them one at a time).
_in_flight = [0, 0]
_in_flight_lock = threading.Lock()


def sleep(request):
    """Holds its connection for a 20 ms query."""
    with _in_flight_lock:
        _in_flight[0] += 1
        _in_flight[1] = max(_in_flight)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT SLEEP(0.02)")
    finally:
        with _in_flight_lock:
            _in_flight[0] -= 1
    return HttpResponse("ok")


def whoami(request):
    """Which process and server connection served this, with which driver."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        connection_id = cursor.fetchone()[0]
    driver = getattr(connection, "driver", None)
    return HttpResponse(json.dumps({
        "pid": os.getpid(), "connection_id": connection_id,
        "driver": driver.name if driver is not None else None,
        "most_queries_at_once": _in_flight[1],
    }), content_type="application/json")


async def orm_async(request):
    """An async view: the ORM's async API (aget, acount)."""
    item = await Item.objects.aget(pk=1)
    count = await Item.objects.acount()
    return HttpResponse(f"{item.name} {count}")


def metrics(request):
    """Prometheus's scrape, every worker's values added up (multi-process mode)."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


urlpatterns = [
    path("metrics/", metrics),
    path("sleep/", sleep),
    path("whoami/", whoami),
    path("async/", orm_async),
]
