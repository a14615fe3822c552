from django.db import models


class Item(models.Model):
    name = models.CharField(max_length=100)


class TaskRun(models.Model):
    """One task run: which process and which server connection ran it."""

    number = models.IntegerField()
    pid = models.IntegerField()
    connection_id = models.BigIntegerField()
