import json
import os

from django.db import connection
from django.http import HttpResponse
from django.urls import path

from deploysite.models import Item


def sleep(request):
    """Holds its connection for a 20 ms query, as the issue's view does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT SLEEP(0.02)")
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
