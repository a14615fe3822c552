import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deploysite.settings")

from celery import Celery  # noqa: E402

app = Celery("deploysite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["deploysite"])
