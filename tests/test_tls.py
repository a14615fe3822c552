"""TLS through the pool means what mysqlclient's OPTIONS say, with every driver
(the rules: mysqlpool/drivers/tls.py). What goes over the wire before the
login: test_tls_wire.py.

Run against a private server with TLS and its own CA (tests/server.py) and
against the test server, which has none. Each pooled check opens two
connections at once, so the pool makes more than one physical connection: the
SSLContext, built once per pool and then shared, must give the second one the
same TLS as the first.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import Error, OperationalError, connections

import mysqlpool
from mysqlpool.backends.mysqlpool.base import DatabaseWrapper
from mysqlpool.drivers import get_driver
from tests.aliases import temporary_alias
from tests.server import ServerAddress, ThrowawayServer
from tests.support.admin import AdminQueries, admin_queries
from tests.support.threads import run_threads

CIPHER = "SHOW SESSION STATUS LIKE 'Ssl_cipher'"


pytestmark = pytest.mark.usefixtures("database_access")


def server_admin(address: ServerAddress) -> AdminQueries:
    """``address``'s admin user, on a connection of its own for each query
    (without a database: a throwaway server has none yet)."""
    return admin_queries(address, per_query=True, use_database=False)


@pytest.fixture(scope="module")
def foreign_ca(tls_server, tmp_path_factory) -> str:
    """A CA that did not sign the server's certificate."""
    directory = tmp_path_factory.mktemp("foreign-ca")
    subprocess.run(
        [shutil.which("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-days", "1", "-subj", "/CN=mysqlpool-foreign-ca", "-keyout", directory / "key.pem",
         "-out", directory / "ca.pem"],
        check=True, capture_output=True,
    )
    return str(directory / "ca.pem")


#: A name the server's certificate is made for, which is not the host connected to.
OTHER_NAME = "mysqlpool-elsewhere.invalid"


@contextlib.contextmanager
def certificate_for(server: ThrowawayServer, name: str):
    """The server presents a certificate for ``name`` (from its own CA) meanwhile."""

    def flush_ssl() -> None:
        server_admin(server.address).query("FLUSH SSL")  # MariaDB reloads its certificate files

    server.issue_server_certificate(name)
    flush_ssl()
    try:
        yield
    finally:
        server.issue_server_certificate("127.0.0.1")
        flush_ssl()


def driver():
    return get_driver(settings.MYSQLPOOL_DRIVER)


def pooled_ciphers(address: ServerAddress, options: dict, count: int = 2,
                   database: str = "mysql") -> list[str]:
    """Ssl_cipher of ``count`` connections held at once from one new pool."""
    alias = f"tls_{uuid.uuid4().hex[:8]}"
    settings_dict = {
        **connections["default"].settings_dict,
        **address.django(NAME=database),
        "OPTIONS": {**options, "pool": {"pool_size": count, "max_overflow": 0, "timeout": 10}},
    }
    wrappers = [DatabaseWrapper(settings_dict, alias) for _ in range(count)]
    try:
        ciphers = []
        for wrapper in wrappers:
            with wrapper.cursor() as cursor:
                cursor.execute(CIPHER)
                ciphers.append(cursor.fetchone()[1])
        return ciphers
    finally:
        for wrapper in wrappers:
            wrapper.close()
        mysqlpool.close_pool(alias)


def bare_driver_cipher(address: ServerAddress) -> str:
    """Ssl_cipher of the driver's own connect(), no mysqlpool involved."""
    connection = driver().dbapi.connect(
        host=address.host, port=address.port, user=address.user, password=address.password,
    )
    try:
        cursor = connection.cursor()
        cursor.execute(CIPHER)
        cipher = cursor.fetchone()[1]
        cursor.close()
    finally:
        connection.close()
    return cipher


def test_default_mode_uses_tls_exactly_when_the_driver_does(tls_server):
    expected = bool(bare_driver_cipher(tls_server.address))
    assert [bool(c) for c in pooled_ciphers(tls_server.address, {})] == [expected, expected]


def test_default_mode_still_connects_to_a_server_without_tls(plain_server):
    assert pooled_ciphers(plain_server, {}) == ["", ""]


@pytest.mark.skipif(
    (settings.MYSQLPOOL_DRIVER or get_driver(None).name) != "pymysql",
    reason="PyMySQL's default is TLS whenever the server offers it",
)
def test_pymysql_preferred_tls_with_one_ssl_context_per_pool(tls_server, plain_server,
                                                            monkeypatch):
    import ssl

    built = []
    create_default_context = ssl.create_default_context

    def counting(*args, **kwargs):
        built.append(args)
        return create_default_context(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting)
    ciphers = pooled_ciphers(tls_server.address, {}, count=3)
    assert all(ciphers), ciphers  # TLS on every connection, when the server offers it
    assert len(built) == 1  # one context for the pool's three connections
    assert pooled_ciphers(plain_server, {}) == ["", ""]  # plain when it does not


@pytest.mark.parametrize("options", [
    {"ssl_mode": "REQUIRED"},
    {"ssl_mode": "VERIFY_CA", "ssl": "CA"},
], ids=["REQUIRED", "VERIFY_CA"])
def test_required_tls_is_used_on_every_pooled_connection(tls_server, options):
    """Four threads, three requests each, through an alias of DATABASES:
    their first requests, held at once, make the pool open four connections
    (two past pool_size). Every request runs over TLS."""
    if options.get("ssl") == "CA":
        options = {**options, "ssl": {"ca": str(tls_server.directory / "ca.pem")}}
    entry = tls_server.address.django(NAME="mysql")
    all_connected = threading.Barrier(4, timeout=30)
    seen: list[tuple[int, str]] = []

    def check() -> None:
        for request in range(3):
            with connections["tls"].cursor() as cursor:
                cursor.execute("SELECT CONNECTION_ID()")
                (connection_id,) = cursor.fetchone()
                cursor.execute(CIPHER)
                seen.append((connection_id, cursor.fetchone()[1]))
            if request == 0:
                all_connected.wait()
            connections["tls"].close()

    pool = {"pool_size": 2, "max_overflow": 2, "timeout": 30}
    with temporary_alias("tls", **entry, OPTIONS={**options, "pool": pool}):
        run_threads([check] * 4)
    assert len(seen) == 12
    assert len({connection_id for connection_id, _ in seen}) >= 4
    assert all(cipher for _, cipher in seen), seen


def test_required_against_a_server_without_tls_fails_clearly(plain_server):
    with pytest.raises(OperationalError) as failure:
        pooled_ciphers(plain_server, {"ssl_mode": "REQUIRED"})
    message = str(failure.value)
    assert "2026" in message and ("TLS" in message or "SSL" in message), message


def test_ssl_true_means_required(plain_server):
    with pytest.raises(OperationalError):
        pooled_ciphers(plain_server, {"ssl": True})


def test_disabled_never_uses_tls(tls_server):
    assert pooled_ciphers(tls_server.address, {"ssl_mode": "DISABLED"}) == ["", ""]


@pytest.mark.parametrize("ca", ["system", "foreign"])
def test_verify_ca_rejects_a_certificate_it_cannot_verify(tls_server, foreign_ca, ca):
    # No CA given: the system's CAs do not know the test server's own CA. Or
    # a CA given that did not sign the server's certificate.
    options = {"ssl_mode": "VERIFY_CA"}
    if ca == "foreign":
        options["ssl"] = {"ca": foreign_ca}
    with pytest.raises(OperationalError) as failure:
        pooled_ciphers(tls_server.address, options)
    assert "certificate" in str(failure.value).lower(), str(failure.value)


def test_an_unknown_ssl_mode_is_refused():
    with pytest.raises(ImproperlyConfigured, match=r"\['ssl_mode'\] = 'REQUIRD'"):
        driver().connect_params({"ssl_mode": "REQUIRD"})


# ----- the same options verify the same way on every driver --------------------------


def refused(address: ServerAddress, options: dict, database: str = "mysql") -> str:
    """The error a pool with ``options`` gets from the server, as text."""
    with pytest.raises(Error) as failure:
        pooled_ciphers(address, options, database=database)
    return str(failure.value)


@pytest.mark.parametrize("mode", [None, "PREFERRED", "REQUIRED"])
def test_a_ca_given_means_the_chain_is_verified(tls_server, foreign_ca, mode):
    # mysql-connector used to load a CA given and verify nothing with it.
    right = {"ssl": {"ca": str(tls_server.directory / "ca.pem")}}
    wrong = {"ssl": {"ca": foreign_ca}}
    if mode:
        right["ssl_mode"] = wrong["ssl_mode"] = mode
    ciphers = pooled_ciphers(tls_server.address, right)
    assert all(ciphers), ciphers  # encrypted, on both connections
    message = refused(tls_server.address, wrong).lower()
    assert "certificate" in message, message


@pytest.mark.parametrize("options", [
    {"ssl_mode": "VERIFY_CA"},
    {"ssl_mode": "REQUIRED"},
    {"ssl": {"check_hostname": False}},
], ids=["VERIFY_CA", "REQUIRED", "no-check_hostname"])
def test_the_host_name_is_checked_only_when_asked_for(tls_server, options):
    # The server's certificate is for another name than 127.0.0.1, from the right
    # CA: the chain verifies, the host name does not match. mysqlclient on
    # MariaDB Connector/C checks it whenever it verifies the chain with TLS
    # required: its VERIFY_CA, the only mode in which it refuses a server
    # without TLS before the login, checks the name too (as with stock Django);
    # the error says so.
    ca = {"ca": str(tls_server.directory / "ca.pem")}
    chain_only = {**options, "ssl": {**ca, **options.get("ssl", {})}}
    options = {key: value for key, value in options.items() if key != "ssl"}
    with certificate_for(tls_server, OTHER_NAME):
        if driver().verify_ca_checks_host_name():
            message = refused(tls_server.address, chain_only)
            assert "does not name the host" in message, message
            assert "DATABASES[...]['HOST'] = '127.0.0.1'" in message, message
            assert "'VERIFY_CA'" in message and "PyMySQL or mysql-connector" in message
        else:
            ciphers = pooled_ciphers(tls_server.address, chain_only)
            assert all(ciphers), ciphers
        for strict in ({"ssl_mode": "VERIFY_IDENTITY", "ssl": ca},
                       {**options, "ssl": {**ca, "check_hostname": True}}):
            message = refused(tls_server.address, strict).lower()
            assert "certificate" in message or "hostname" in message, message
    # The same options with a certificate for the host connected to.
    assert all(pooled_ciphers(tls_server.address, {"ssl_mode": "VERIFY_IDENTITY", "ssl": ca}))


def test_an_ssl_dict_with_a_ca_checks_the_host_name_as_stock_pymysql_does(tls_server):
    """OPTIONS = {"ssl": {"ca": ...}}, Django's documented TLS setting: stock
    Django with PyMySQL checks the host name then (PyMySQL's check_hostname
    is True by default when a CA is given). An app moving to mysqlpool keeps
    that check, on every driver; ``"check_hostname": False`` drops it."""
    address = tls_server.address
    ca = {"ca": str(tls_server.directory / "ca.pem")}
    with certificate_for(tls_server, OTHER_NAME):
        if driver().name == "pymysql":
            # As stock Django calls PyMySQL: OPTIONS as connect arguments.
            with pytest.raises(driver().dbapi.OperationalError) as stock:
                driver().dbapi.connect(host=address.host, port=address.port,
                                       user=address.user, password=address.password,
                                       ssl=dict(ca))
            assert "mismatch" in str(stock.value), str(stock.value)
        message = refused(address, {"ssl": ca})
        assert "mismatch" in message or "does not name the host" in message, message
        if not driver().verify_ca_checks_host_name():
            assert all(pooled_ciphers(address, {"ssl": {**ca, "check_hostname": False}}))
    assert all(pooled_ciphers(address, {"ssl": ca}))  # a certificate for 127.0.0.1


# ----- client certificates ---------------------------------------------------------

#: The common name of the client certificate the users below require.
CLIENT_NAME = "mysqlpool-client"
#: The database the certificate users may use.
CERTIFICATE_DATABASE = "client_certificates"


def issue_client_certificate(server: ThrowawayServer, name: str, directory) -> dict[str, str]:
    """A client certificate and its key for ``/CN=name``, from the server's own CA:
    the ``cert`` and ``key`` entries of ``OPTIONS["ssl"]``."""
    key, request, certificate = (directory / f"{name}-{part}.pem"
                                 for part in ("key", "request", "cert"))
    openssl = shutil.which("openssl")
    subprocess.run([openssl, "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                    "-keyout", key, "-out", request], check=True, capture_output=True)
    subprocess.run([openssl, "x509", "-req", "-in", request, "-days", "1",
                    "-CA", server.directory / "ca.pem", "-CAkey", server.directory / "ca-key.pem",
                    "-CAcreateserial", "-out", certificate], check=True, capture_output=True)
    return {"cert": str(certificate), "key": str(key)}


@pytest.fixture(scope="module")
def client_certificates(tls_server, tmp_path_factory) -> dict[str, dict[str, str]]:
    """Client certificates from the server's CA: the one the users require, and
    one for another name."""
    directory = tmp_path_factory.mktemp("client-certificates")
    return {name: issue_client_certificate(tls_server, name, directory)
            for name in (CLIENT_NAME, "mysqlpool-someone-else")}


def admin_query(server: ThrowawayServer, sql: str) -> None:
    server_admin(server.address).query(sql)


@contextlib.contextmanager
def certificate_user(server: ThrowawayServer, require: str) -> Iterator[ServerAddress]:
    """A user created ``REQUIRE <require>`` on ``server`` meanwhile; its address."""
    user = f"cert_{uuid.uuid4().hex[:8]}"
    password = f"Cert-{uuid.uuid4().hex}"
    admin_query(server, f"CREATE DATABASE IF NOT EXISTS {CERTIFICATE_DATABASE}")
    admin_query(server, f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}' REQUIRE {require}")
    admin_query(server, f"GRANT ALL ON {CERTIFICATE_DATABASE}.* TO '{user}'@'%'")
    try:
        yield dataclasses.replace(server.address, user=user, password=password,
                                  database=CERTIFICATE_DATABASE)
    finally:
        admin_query(server, f"DROP USER '{user}'@'%'")


@pytest.mark.parametrize(("require", "refused_certificates"), [
    ("X509", [None]),
    (f"SUBJECT '/CN={CLIENT_NAME}'", [None, "mysqlpool-someone-else"]),
], ids=["REQUIRE-X509", "REQUIRE-SUBJECT"])
def test_a_client_certificate_logs_in_a_user_that_requires_one(
        tls_server, client_certificates, require, refused_certificates):
    """OPTIONS["ssl"] = {"ca", "cert", "key"}: each pooled connection presents
    the certificate, and a user created REQUIRE X509 (or REQUIRE SUBJECT) logs
    in; without it, or with another subject, the login is refused."""
    ca = {"ca": str(tls_server.directory / "ca.pem")}
    with certificate_user(tls_server, require) as address:
        ciphers = pooled_ciphers(address, {"ssl": {**ca, **client_certificates[CLIENT_NAME]}},
                                 database=address.database)
        assert all(ciphers), ciphers  # both connections, over TLS
        for name in refused_certificates:
            options = {"ssl": {**ca, **(client_certificates[name] if name else {})}}
            message = refused(address, options, database=address.database)
            assert "1045" in message and "Access denied" in message, (name, message)
