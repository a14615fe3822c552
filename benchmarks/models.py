"""The table the benchmark reads: one row by primary key per request."""

from django.db import models


class Row(models.Model):
    name = models.CharField(max_length=64)
    quantity = models.IntegerField()

    class Meta:
        app_label = "benchmarks"
        db_table = "mysqlpool_bench_row"
        managed = False  # the benchmark creates and fills it itself
