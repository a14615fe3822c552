"""Pooling under stock ENGINEs: Django's own MySQL backend, GeoDjango's,
django-prometheus's and a project's backend derived from Django's, each with
``OPTIONS["pool"]`` and "mysqlpool" in INSTALLED_APPS (tests/settings.py), on
the MySQLdb each imports: mysqlclient, or PyMySQL standing in for it. An alias
of the same ENGINE without ``OPTIONS["pool"]`` stays Django's own."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connections
from django.db.utils import load_backend

import mysqlpool
from mysqlpool.backends import stock
from mysqlpool.backends.pooling import PoolingMixin
from tests.aliases import temporary_alias
from tests.support.requests import request
from tests.support.requirements import missing
from tests.support.threads import run_threads
from tests.users import OTHER

pytestmark = pytest.mark.usefixtures("database_access", "django_db_setup")

#: Whether Django's MySQL ENGINEs can run here: they need mysqlclient, or
#: PyMySQL as MySQLdb (an environment with only mysql-connector has neither).
HAS_MYSQLDB = any(importlib.util.find_spec(name) for name in ("MySQLdb", "pymysql"))
needs_mysqldb = pytest.mark.skipif(
    not HAS_MYSQLDB, reason="Django's MySQL ENGINE needs mysqlclient or PyMySQL (as MySQLdb)")
CONNECTOR_ENGINE = "mysql.connector.django"
GIS_ENGINE = "django.contrib.gis.db.backends.mysql"


@contextlib.contextmanager
def mysqldb_as_users_install_it() -> Iterator[None]:
    """Without mysqlclient, PyMySQL installed as MySQLdb, as its users do for
    Django's MySQL backends (GeoDjango's imports MySQLdb's constants itself),
    for the import only: the rest of the suite runs as it did."""
    if ("MySQLdb" in sys.modules or importlib.util.find_spec("MySQLdb") is not None
            or importlib.util.find_spec("pymysql") is None):
        yield
        return
    import pymysql

    before = set(sys.modules)
    pymysql.install_as_MySQLdb()
    try:
        yield
    finally:
        for name in set(sys.modules) - before:
            if name == "MySQLdb" or name.startswith("MySQLdb."):
                del sys.modules[name]


def _loads(engine: str) -> str | None:
    """Why ``engine`` cannot load here, or None."""
    if engine == CONNECTOR_ENGINE:
        if importlib.util.find_spec("mysql") is None or importlib.util.find_spec(
                "mysql.connector") is None:
            return "mysql-connector-python is not installed"
    elif not HAS_MYSQLDB:
        return f"{engine} needs mysqlclient or PyMySQL (as MySQLdb)"
    try:
        with (contextlib.nullcontext() if engine == CONNECTOR_ENGINE
              else mysqldb_as_users_install_it()):
            load_backend(engine)
    except (ImproperlyConfigured, ImportError, OSError) as exc:
        return f"{engine} does not load here: {exc}"
    return None


def require_loads(engine: str) -> None:
    """Skip the test unless ``engine`` loads here. GeoDjango without its system
    libraries is a missing install (failing under MYSQLPOOL_TEST_REQUIRE_ALL);
    a Python package this environment does not install is not."""
    problem = _loads(engine)
    if problem is None:
        return
    if engine == GIS_ENGINE and ("GDAL library" in problem or "GEOS library" in problem):
        missing(f"{problem} (GeoDjango needs GDAL and GEOS: Debian packages libgdal32 "
                "and libgeos-c1v5, or their successors)")
    pytest.skip(problem)


ENGINES = [
    "django.db.backends.mysql",
    "django.contrib.gis.db.backends.mysql",
    "django_prometheus.db.backends.mysql",
    "tests.backends.derived",
    CONNECTOR_ENGINE,
]


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    require_loads(request.param)  # GeoDjango without GDAL, django-prometheus not installed
    return request.param


def entry(engine: str, **options) -> dict:
    """A DATABASES entry of ``engine`` for this run's test database."""
    return django_settings.SERVER.django(
        ENGINE=engine, USER=OTHER.user, PASSWORD=OTHER.password,
        NAME=connections["default"].settings_dict["NAME"],
        OPTIONS={"connect_timeout": 5, **options})


def connection_id(alias: str) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        return cursor.fetchone()[0]


def test_64_threads_over_a_pool_of_10_hold_at_most_10_server_connections(
        engine, admin, fresh_pools):
    pool = {"pool_size": 10, "max_overflow": 0, "timeout": 30}
    with temporary_alias("pooled_stock", **entry(engine, pool=pool)) as connection:
        backend_class = load_backend(engine).DatabaseWrapper
        assert isinstance(connection, backend_class)
        assert isinstance(connection, PoolingMixin)
        seen, done = [], threading.Event()

        def monitor():
            while not done.is_set():
                seen.append(len(admin.connection_ids(OTHER.user)))
                done.wait(0.005)

        def one_request() -> None:
            with connections["pooled_stock"].cursor() as cursor:
                cursor.execute("SELECT SLEEP(0.005)")

        def worker() -> type:
            for _ in range(3):
                request(one_request)
            return type(connections["pooled_stock"])

        watcher = threading.Thread(target=monitor)
        watcher.start()
        try:
            classes = run_threads([worker] * 64)
        finally:
            done.set()
            watcher.join()
        figures = mysqlpool.stats()["pooled_stock"]
        assert max(seen) <= 10, max(seen)
        assert figures["connects"] <= 10, figures
        assert figures["checkouts"] >= 64 * 3, figures
        # Every thread's wrapper is the pooled one: Django makes one per thread.
        assert all(issubclass(cls, PoolingMixin) and issubclass(cls, backend_class)
                   for cls in classes)

        # A request reuses the connection of the one before it.
        first = request(lambda: connection_id("pooled_stock"))
        assert request(lambda: connection_id("pooled_stock")) == first

        mysqlpool.close_pool("pooled_stock")
        admin.wait_until_gone(admin.connection_ids(OTHER.user) | {first})
        assert admin.connection_ids(OTHER.user) == set()


def test_an_alias_without_pool_stays_stock(engine, fresh_pools):
    with temporary_alias("plain_stock", **entry(engine)) as connection:
        assert type(connection) is load_backend(engine).DatabaseWrapper
        first = request(lambda: connection_id("plain_stock"))
        second = request(lambda: connection_id("plain_stock"))
        assert first != second, "stock Django opens a new connection per request"
        assert "plain_stock" not in mysqlpool.stats()


def test_the_session_a_request_changed_is_reset_on_every_engine(engine, fresh_pools):
    """What a request leaves in its session (seen by the statement noting,
    also under a backend that makes its own cursors) never reaches the next."""
    pool = {"pool_size": 1, "max_overflow": 0}
    with temporary_alias("pooled_stock", **entry(engine, pool=pool)):
        def leave_state() -> int:
            with connections["pooled_stock"].cursor() as cursor:
                cursor.execute("SET @left_behind = 42")
                cursor.execute("SELECT CONNECTION_ID()")
                return cursor.fetchone()[0]

        def read_state() -> object:
            with connections["pooled_stock"].cursor() as cursor:
                cursor.execute("SELECT @left_behind")
                return cursor.fetchone()[0]

        request(leave_state)
        assert request(read_state) is None


@needs_mysqldb
def test_bad_pool_settings_name_the_setting_on_a_stock_engine(fresh_pools):
    with temporary_alias("bad_stock", **entry("django.db.backends.mysql",
                                              pool={"pool_size": -1})) as connection:
        with pytest.raises(ImproperlyConfigured) as raised:
            connection.ensure_connection()
    assert "DATABASES['bad_stock']['OPTIONS']['pool']['pool_size'] = -1" in str(raised.value)


@needs_mysqldb
def test_manage_py_check_reports_a_bad_pool_setting_of_a_stock_engine():
    with temporary_alias("bad_stock", **entry("django.db.backends.mysql",
                                              pool={"pool_size": -1})):
        with pytest.raises(SystemCheckError) as raised:
            # Only mysqlpool's checks: Django's model checks would connect.
            call_command("check", tags=["mysqlpool"])
    message = str(raised.value)
    assert "mysqlpool.E002" in message
    assert "DATABASES['bad_stock']['OPTIONS']['pool']['pool_size'] = -1" in message


@needs_mysqldb
def test_a_project_backend_keeps_what_it_adds(fresh_pools):
    with temporary_alias("derived", **entry("tests.backends.derived", pool=True)) as connection:
        assert connection.project_marker == "derived"
        with connection.cursor() as cursor:
            cursor.execute("SELECT @project_backend")
            assert cursor.fetchone()[0] == "derived"
        assert mysqlpool.stats()["derived"]["connects"] == 1


@needs_mysqldb
def test_a_backend_that_pools_itself_is_not_pooled_again():
    with pytest.raises(ImproperlyConfigured) as raised:
        with temporary_alias("selfpooling", **entry("tests.backends.selfpooling", pool=True)):
            pass
    message = str(raised.value)
    assert "DATABASES['selfpooling']['OPTIONS']['pool']" in message
    assert "pools connections itself" in message


def test_django_db_connection_pool_s_engine_is_not_pooled_twice():
    """Its backend derives from Django's MySQL one and pools with SQLAlchemy
    in a mixin of its own, under no name Django's pools use."""
    engine = "dj_db_conn_pool.backends.mysql"
    require_loads(engine)
    with pytest.raises(ImproperlyConfigured) as raised:
        with temporary_alias("dbcp", **entry(engine, pool=True)):
            pass
    message = str(raised.value)
    assert "DATABASES['dbcp']['OPTIONS']['pool']" in message
    assert "pools connections itself" in message


@needs_mysqldb
def test_a_wrapper_made_before_the_app_was_ready_is_pooled(fresh_pools):
    """Django makes the default alias's wrapper while importing models,
    before any app's ready(): install() pools wrappers already made too."""
    settings_entry = connections.configure_settings(
        {"default": {}, "early": entry("django.db.backends.mysql", pool={"pool_size": 2})}
    )["early"]
    connections.settings["early"] = settings_entry
    try:
        early = load_backend(settings_entry["ENGINE"]).DatabaseWrapper(settings_entry, "early")
        connections["early"] = early  # as Django's handler stores one it made
        assert not isinstance(early, PoolingMixin)
        stock.pool_made_wrappers()
        assert isinstance(connections["early"], PoolingMixin)
        first = request(lambda: connection_id("early"))
        assert request(lambda: connection_id("early")) == first
        assert mysqlpool.stats()["early"]["connects"] == 1
    finally:
        connections["early"].close()
        del connections["early"]
        connections.settings.pop("early")
        mysqlpool.close_pool("early")


def test_django_prometheus_still_counts_the_queries_of_a_pooled_alias(fresh_pools):
    engine = "django_prometheus.db.backends.mysql"
    require_loads(engine)
    registry = importlib.import_module("prometheus_client").REGISTRY

    def executed() -> float:
        return registry.get_sample_value(
            "django_db_execute_total", {"alias": "prometheus_stock", "vendor": "mysql"}) or 0

    def three_queries() -> None:
        with connections["prometheus_stock"].cursor() as cursor:
            for _ in range(3):
                cursor.execute("SELECT 1")

    with temporary_alias("prometheus_stock", **entry(engine, pool={"pool_size": 2})):
        before = executed()
        request(three_queries)
        request(three_queries)
        counted = executed() - before
        assert mysqlpool.stats()["prometheus_stock"]["connects"] == 1
    with temporary_alias("prometheus_stock", **entry(engine)):
        before = executed()
        request(three_queries)
        stock_counted = executed() - before
    # Each of the six queries is counted; besides them, at most what stock
    # Django runs once per connection (its session setup, the server's
    # version): one connection for both requests here.
    assert 6 <= counted <= 6 + (stock_counted - 3), (counted, stock_counted)


def test_geodjango_schema_changes_and_spatial_queries_on_a_pooled_alias(fresh_pools):
    engine = GIS_ENGINE
    require_loads(engine)
    from django.contrib.gis.db import models as gis
    from django.contrib.gis.db.models.functions import Distance
    from django.contrib.gis.geos import Point, Polygon
    from django.test.utils import isolate_apps

    with temporary_alias("gis", **entry(engine, pool={"pool_size": 2})) as connection, \
            isolate_apps("tests.app"):
        class Place(gis.Model):
            name = gis.CharField(max_length=50)
            location = gis.PointField()  # a SPATIAL index: NOT NULL

            class Meta:
                app_label = "app"
                db_table = "stock_gis_place"

        # What a migration does, through the backend's own schema editor.
        with connection.schema_editor() as editor:
            editor.create_model(Place)
        try:
            area = gis.PolygonField(null=True, spatial_index=False)
            area.set_attributes_from_name("area")
            with connection.schema_editor() as editor:
                editor.add_field(Place, area)
            Place.add_to_class("area", area)
            square = Polygon(((0, 0), (0, 10), (10, 10), (10, 0), (0, 0)), srid=4326)

            def store() -> None:
                places = Place.objects.using("gis")
                places.create(name="inside", location=Point(5, 5, srid=4326), area=square)
                places.create(name="outside", location=Point(20, 20, srid=4326))

            def query() -> tuple:
                places = Place.objects.using("gis")
                within = [p.name for p in places.filter(location__within=square)]
                origin = Point(0, 0, srid=4326)
                nearest = places.annotate(d=Distance("location", origin)).order_by("d")
                covering = places.filter(area__contains=Point(1, 1, srid=4326)).count()
                return within, nearest[0].name, covering

            request(store)
            assert request(query) == (["inside"], "inside", 1)
            assert request(query) == (["inside"], "inside", 1)
            figures = mysqlpool.stats()["gis"]
            assert figures["connects"] == 1, figures
            assert figures["checkouts"] >= 3, figures
        finally:
            with connection.schema_editor() as editor:
                editor.delete_model(Place)


PYMYSQL_SITE = """
import pymysql
pymysql.install_as_MySQLdb()
import django
from django.conf import settings
settings.configure(INSTALLED_APPS=["mysqlpool"], DATABASES={"default": {
    "ENGINE": "django.db.backends.mysql", "HOST": %(host)r, "PORT": %(port)r,
    "USER": %(user)r, "PASSWORD": %(password)r, "NAME": "",
    "OPTIONS": {"pool": {"pool_size": 2}}}})
django.setup()
from django.db import connection
import mysqlpool
ids = []
for _ in range(2):
    with connection.cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        ids.append(cursor.fetchone()[0])
    connection.close()
print(connection.driver.name, ids[0] == ids[1], mysqlpool.stats()["default"]["connects"])
"""


@pytest.mark.skipif(importlib.util.find_spec("pymysql") is None, reason="PyMySQL is not installed")
def test_a_site_that_installs_pymysql_as_mysqldb_is_pooled_on_pymysql():
    """As a PyMySQL site starts, in a process of its own: install_as_MySQLdb()
    before Django, which then loads second copies of PyMySQL's submodules
    under MySQLdb's name (pymysql.constants loses COMMAND)."""
    server = django_settings.SERVER
    script = PYMYSQL_SITE % {"host": server.host, "port": str(server.port),
                             "user": server.user, "password": server.password}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["pymysql", "True", "1"], result.stdout
