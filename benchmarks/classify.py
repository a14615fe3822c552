"""Microseconds per statement spent reading what a statement leaves behind:
the classifier before ``mysqlpool.statements`` (kept below) against it.

    python -m benchmarks.classify

Run it from the repository root. No server is needed: the statement texts
are compiled by Django's MySQL backend from the test models (tests/app), with
MariaDB 10.11's server facts filled in instead of asked for. "uncached" empties
each classifier's cache before every statement, as for a text never seen
before; "cached" is the steady state of a process serving the same ORM calls.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# ----- the classifier before mysqlpool.statements (mysqlpool/session.py) ---------

OLD_CLEAN, OLD_TRANSACTION, OLD_SESSION = 0, 1, 2
_OLD_NEUTRAL = re.compile(
    r"\s*(?:/\*[^!].*?\*/\s*)*"
    r"(?:SELECT|INSERT|UPDATE|DELETE|REPLACE|WITH|VALUES|TABLE|SHOW|DESCRIBE|DESC"
    r"|EXPLAIN|ANALYZE|OPTIMIZE|CHECKSUM|SAVEPOINT|RELEASE\s+SAVEPOINT"
    r"|ROLLBACK\s+(?:WORK\s+)?TO|CREATE|ALTER|DROP|TRUNCATE|RENAME)\b",
    re.IGNORECASE | re.DOTALL,
)
_OLD_TRANSACTIONAL = re.compile(
    r"\s*(?:/\*[^!].*?\*/\s*)*(?:START\s+TRANSACTION|BEGIN|COMMIT|ROLLBACK|XA)\b",
    re.IGNORECASE | re.DOTALL,
)
_OLD_USER_VARIABLE = re.compile(r"(?<!@)@(?!@)")
old_known: dict[str, int] = {}


def _old_side_effects(sql: str) -> bool:
    if ";" in sql or ("@" in sql and _OLD_USER_VARIABLE.search(sql)):
        return True
    lowered = sql.lower()
    return "get_lock" in lowered or "temporary" in lowered


def old_classify(sql: object) -> int:
    """The former mysqlpool.session.classify, unchanged."""
    if isinstance(sql, bytes):
        sql = sql.decode(errors="replace")
    if not isinstance(sql, str):
        return OLD_SESSION
    effect = old_known.get(sql)
    if effect is None:
        if _OLD_NEUTRAL.match(sql):
            effect = OLD_SESSION if _old_side_effects(sql) else OLD_CLEAN
        elif _OLD_TRANSACTIONAL.match(sql):
            effect = OLD_SESSION if ";" in sql else OLD_TRANSACTION
        else:
            effect = OLD_SESSION
        if len(sql) <= 4096:
            if len(old_known) >= 4096:
                old_known.clear()
            old_known[sql] = effect
    return effect


# ----- ORM statement texts ------------------------------------------------------

SERVER_DATA = {
    "version": "10.11.19-MariaDB",
    "sql_mode": "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,"
                "NO_ENGINE_SUBSTITUTION",
    "default_isolation_level": "repeatable-read",
    "lower_case_table_names": 0,
    "has_zoneinfo_database": True,
}


def orm_statements() -> tuple[list[str], list[str]]:
    """(statements on Item and Note, statements on Flag), as the ORM writes them."""
    import django
    from django.conf import settings

    settings.configure(
        DATABASES={"default": {"ENGINE": "django.db.backends.mysql", "NAME": "bench", "PORT": 1}},
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "tests.app"],
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()
    from django.db import connections
    from django.db.models import Count, F, Q, Sum
    from django.db.models.sql import DeleteQuery, InsertQuery, UpdateQuery

    from tests.app.models import Flag, Item, Note

    connections["default"].__dict__["mysql_server_data"] = SERVER_DATA  # no server needed

    def select(queryset) -> str:
        return queryset.query.get_compiler("default").as_sql()[0]

    def insert(model, count: int = 1) -> str:
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        query = InsertQuery(model)
        query.insert_values(fields, [model() for _ in range(count)])
        compiler = query.get_compiler("default")
        compiler.returning_fields = [model._meta.pk]
        return compiler.as_sql()[0][0]

    def update(model, **values) -> str:
        query = model.objects.filter(pk=1).query.chain(UpdateQuery)
        query.add_update_values(values)
        return query.get_compiler("default").as_sql()[0]

    def delete(model) -> str:
        query = DeleteQuery(model)
        query.add_filter("pk__in", [1, 2, 3])
        return query.get_compiler("default").as_sql()[0]

    items = Item.objects
    common = [
        select(items.filter(pk=1)[:21]),
        select(items.filter(pk__in=[1, 2, 3, 4, 5, 6, 7, 8])),
        select(items.filter(name="a", quantity__gte=2).order_by("-created")[10:30]),
        select(items.filter(Q(name__icontains="a") | Q(quantity__lt=F("id")))),
        select(items.filter(name__contains=F("name"))),  # backslashes in literals
        select(Note.objects.select_related("item").filter(item__name="x")),
        select(items.annotate(n=Count("notes")).filter(n__gt=1).order_by("-n")),
        select(items.values("name").annotate(total=Sum("quantity"))),
        select(items.filter(notes__text__startswith="x").distinct()),
        select(items.filter(pk=1).union(items.filter(pk=2))),
        items.filter(pk=1).query.exists().get_compiler("default").as_sql()[0],
        insert(Item),
        insert(Item, count=3),
        insert(Note),
        update(Item, quantity=3, name="b"),
        delete(Item),
        delete(Note),
    ]
    flags = [
        select(Flag.objects.filter(pk=1)[:21]),
        select(Flag.objects.filter(is_temporary=True, get_lock_count__gt=0)),
        insert(Flag),
        update(Flag, get_lock_count=F("get_lock_count") + 1),
        delete(Flag),
    ]
    return common, flags


# ----- timing ----------------------------------------------------------------------


def per_statement(classify: Callable[[object], int], cache: dict, statements: list[str],
                  cached: bool, rounds: int) -> float:
    """Best-of-five microseconds per statement."""
    best = float("inf")
    for _ in range(5):
        cache.clear()
        if cached:
            for sql in statements:
                classify(sql)
        start = time.perf_counter()
        for _ in range(rounds):
            for sql in statements:
                if not cached:
                    cache.clear()
                classify(sql)
        elapsed = time.perf_counter() - start
        best = min(best, elapsed / (rounds * len(statements)))
    return best * 1e6


def main() -> None:
    from mysqlpool import statements

    common, flags = orm_statements()
    for sql in common + flags:
        new = statements.classify(sql)
        if new != statements.CLEAN:
            raise SystemExit(f"not CLEAN: {sql}")
    print(f"{len(common)} ORM statements on Item/Note, {len(flags)} on Flag "
          "(columns is_temporary, get_lock_count, next_value)")
    print(f"{'statements':<12} {'cache':<9} {'old µs':>8} {'new µs':>8}")
    for label, texts, rounds in (("Item/Note", common, 2000), ("Flag", flags, 2000)):
        for cached in (False, True):
            old = per_statement(old_classify, old_known, texts, cached, rounds)
            new = per_statement(statements.classify, statements._known, texts, cached, rounds)
            print(f"{label:<12} {'cached' if cached else 'uncached':<9} {old:8.2f} {new:8.2f}")
    # What the old classifier got wrong on Flag: every statement was SESSION.
    wrong = sum(old_classify(sql) != statements.CLEAN for sql in flags)
    print(f"old classifier: {wrong} of {len(flags)} Flag statements SESSION (a reset "
          "or reconnect per request); new: 0")


if __name__ == "__main__":
    main()
