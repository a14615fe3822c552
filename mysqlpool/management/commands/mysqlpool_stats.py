import json

from django.core.management.base import BaseCommand

from mysqlpool import stats

COLUMNS = [
    ("alias", "alias"), ("driver", "driver"), ("pool_size", "size"),
    ("max_overflow", "max overflow"), ("checked_out", "checked out"), ("idle", "idle"),
    ("waiting", "waiting"), ("connects", "connects"),
    ("invalidations", "invalidations"), ("timeouts", "timeouts"), ("waits", "waits"),
    ("wait_time", "wait s"), ("idle_closed", "idle closed"),
    ("lifetime_closed", "lifetime closed"), ("ping_timeouts", "ping timeouts"),
    ("failovers", "failovers"),
]


class Command(BaseCommand):
    help = "Print the connection pools of this process (mysqlpool.stats()) as a table."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print JSON instead")
        parser.add_argument(
            "--connect", action="store_true",
            help="open (and return) one connection per pooled alias first, so the "
            "pools exist in this process",
        )

    def handle(self, *args, **options):
        if options["connect"]:
            from django.db import connections

            from mysqlpool.config import is_pooled_backend

            # Not connections.all(): that makes every alias's connection, and
            # one whose backend cannot load (its driver missing, say) would
            # stop the command. is_pooled_backend() passes over those.
            for alias in connections:
                if is_pooled_backend(connections.settings[alias]):
                    connection = connections[alias]
                    connection.ensure_connection()
                    connection.close()
        data = stats()
        if options["json"]:
            self.stdout.write(json.dumps(data, indent=2, sort_keys=True))
            return
        if not data:
            self.stdout.write("No pools in this process yet (try --connect).")
            return
        rows = [[label for _, label in COLUMNS]]
        rows += [[str(pool.get(key, "")) for key, _ in COLUMNS] for pool in data.values()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
        for row in rows:
            line = "  ".join(
                cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            self.stdout.write(line.rstrip())
