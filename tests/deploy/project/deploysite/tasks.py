import os

from celery import shared_task
from django.db import connection

from deploysite.models import TaskRun


@shared_task(name="deploysite.record")
def record(number: int) -> None:
    """Note which process and server connection ran this task."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        connection_id = cursor.fetchone()[0]
    TaskRun.objects.create(number=number, pid=os.getpid(), connection_id=connection_id)


@shared_task(name="deploysite.close_pool")
def close_pool(number: int) -> None:
    """Record, then dispose of the pool on purpose (connection.close_pool())."""
    record(number)
    connection.close_pool()
