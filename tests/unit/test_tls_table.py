"""The TLS table without a server: OPTIONS in, each driver's connect arguments out.

PyMySQL and mysql-connector get an SSLContext built by tls.py; what it verifies
is read back from it. mysqlclient's column is given for both C libraries it may
be built on. On MariaDB Connector/C, TLS required with the chain verified is
the library's own VERIFY_CA (it refuses a server without TLS before the login,
and checks the host name too); only REQUIRED without verification reads the
server's greeting first (PROBE).
"""

from __future__ import annotations

import os
import ssl

import pytest
from django.core.exceptions import ImproperlyConfigured

from mysqlpool.drivers import tls, tls_arguments

CA = "/ca.pem"
CAPATH = "/cas"
_PATHS = ssl.get_default_verify_paths()
#: The system's CAs, as VERIFY_CA without a CA gives them to MariaDB Connector/C.
SYSTEM = {key: path for key, path, exists in (
    ("ca", _PATHS.cafile, os.path.isfile), ("capath", _PATHS.capath, os.path.isdir),
) if path and exists(path)}
PROBE = {"_tls_probe_greeting": True}

# options, libmariadb, libmysqlclient, (Python drivers: TLS required, verify chain, host)
TABLE = [
    ({}, {}, {}, None),
    ({"ssl_mode": "DISABLED"}, {"ssl_mode": "DISABLED"}, {"ssl_mode": "DISABLED"}, "off"),
    ({"ssl_mode": "disabled", "ssl": {"ca": CA}}, {"ssl_mode": "DISABLED"},
     {"ssl_mode": "DISABLED"}, "off"),
    ({"ssl": False}, {"ssl_mode": "DISABLED"}, {"ssl_mode": "DISABLED"}, "off"),
    ({"ssl_mode": "PREFERRED"}, {"ssl_mode": "PREFERRED"}, {"ssl_mode": "PREFERRED"},
     (False, False, False)),
    ({"ssl_mode": "PREFERRED", "ssl": {"ca": CA}}, {"ssl_mode": "PREFERRED", "ssl": {"ca": CA}},
     {"ssl_mode": "VERIFY_CA", "ssl": {"ca": CA}}, (False, True, False)),
    ({"ssl_mode": "REQUIRED"}, {"ssl_mode": "REQUIRED", **PROBE},
     {"ssl_mode": "REQUIRED"}, (True, False, False)),
    ({"ssl": True}, {"ssl_mode": "REQUIRED", **PROBE}, {"ssl_mode": "REQUIRED"},
     (True, False, False)),
    ({"ssl_mode": "REQUIRED", "ssl": {"ca": CA}},
     {"ssl_mode": "VERIFY_CA", "ssl": {"ca": CA}},
     {"ssl_mode": "VERIFY_CA", "ssl": {"ca": CA}}, (True, True, False)),
    # An ssl dict with a CA alone: the host name too, as with stock PyMySQL.
    ({"ssl": {"ca": CA}}, {"ssl_mode": "VERIFY_IDENTITY", "ssl": {"ca": CA}},
     {"ssl_mode": "VERIFY_IDENTITY", "ssl": {"ca": CA}}, (True, True, True)),
    ({"ssl": {"capath": CAPATH}}, {"ssl_mode": "VERIFY_IDENTITY", "ssl": {"capath": CAPATH}},
     {"ssl_mode": "VERIFY_IDENTITY", "ssl": {"capath": CAPATH}}, (True, True, True)),
    ({"ssl": {"ca": CA, "verify_mode": True}},
     {"ssl_mode": "VERIFY_IDENTITY", "ssl": {"ca": CA}},
     {"ssl_mode": "VERIFY_IDENTITY", "ssl": {"ca": CA}}, (True, True, True)),
    ({"ssl": {"ca": CA, "check_hostname": False}}, {"ssl_mode": "VERIFY_CA", "ssl": {"ca": CA}},
     {"ssl_mode": "VERIFY_CA", "ssl": {"ca": CA}}, (True, True, False)),
    ({"ssl": {"cipher": "AES128-SHA"}},
     {"ssl_mode": "REQUIRED", "ssl": {"cipher": "AES128-SHA"}, **PROBE},
     {"ssl_mode": "REQUIRED", "ssl": {"cipher": "AES128-SHA"}}, (True, False, False)),
    ({"ssl_mode": "VERIFY_CA"}, {"ssl_mode": "VERIFY_CA", "ssl": SYSTEM},
     {"ssl_mode": "VERIFY_CA"}, (True, True, False)),
    ({"ssl_mode": "VERIFY_CA", "ssl": {"ca": CA}},
     {"ssl_mode": "VERIFY_CA", "ssl": {"ca": CA}},
     {"ssl_mode": "VERIFY_CA", "ssl": {"ca": CA}}, (True, True, False)),
    ({"ssl_mode": "VERIFY_IDENTITY"}, {"ssl_mode": "VERIFY_IDENTITY"},
     {"ssl_mode": "VERIFY_IDENTITY"}, (True, True, True)),
    ({"ssl": {"ca": CA, "check_hostname": True}},
     {"ssl_mode": "VERIFY_IDENTITY", "ssl": {"ca": CA}},
     {"ssl_mode": "VERIFY_IDENTITY", "ssl": {"ca": CA}}, (True, True, True)),
    ({"ssl": {"verify_mode": True}}, {"ssl_mode": "VERIFY_CA", "ssl": SYSTEM},
     {"ssl_mode": "VERIFY_CA"}, (True, True, False)),
]


def driver_arguments(driver: str, options: dict, library: str = "libmariadb") -> dict:
    arguments = tls_arguments.connect_arguments(driver, {"host": "db", **options}, library)
    assert arguments.pop("host") == "db"  # other arguments pass through
    return arguments


def python_column(arguments: dict) -> tuple | str | None:
    """What a Python driver's arguments say: "off", None (its default), or
    (TLS required, chain verified, host name checked) read from the SSLContext."""
    if arguments == {"ssl_disabled": True}:
        return "off"
    if not arguments:
        return None
    context = arguments["_tls_context"]
    assert isinstance(context, ssl.SSLContext)
    return (arguments["_tls_required"], context.verify_mode == ssl.CERT_REQUIRED,
            context.check_hostname)


@pytest.mark.parametrize(("options", "libmariadb", "libmysqlclient", "python"), [
    pytest.param(*row, id=repr(row[0])) for row in TABLE
])
def test_options_to_connect_arguments(options, libmariadb, libmysqlclient, python, monkeypatch):
    # A CA file that does not exist is only read by the SSLContext: stand one in.
    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", lambda *a, **k: None)
    assert driver_arguments("mysqlclient", options) == libmariadb
    assert driver_arguments("mysqlclient", options, "libmysqlclient") == libmysqlclient
    for driver in ("pymysql", "mysql-connector"):
        assert python_column(driver_arguments(driver, options)) == python, driver


#: ssl dicts without ssl_mode, as stock Django passes them to PyMySQL, and what
#: mysqlpool's context verifies on every Python driver: (the chain, the host name).
STOCK_PYMYSQL_SSL: list[tuple[dict, tuple[bool, bool]]] = [
    ({"ca": CA}, (True, True)),
    ({"capath": CAPATH}, (True, True)),
    ({"ca": CA, "check_hostname": False}, (True, False)),
    ({"ca": CA, "check_hostname": True}, (True, True)),
    ({"ca": CA, "verify_mode": True}, (True, True)),
    ({"ca": CA, "cert": "/c.pem", "key": "/k.pem"}, (True, True)),
    ({"cert": "/c.pem", "key": "/k.pem"}, (False, False)),
    ({"cipher": "AES128-SHA"}, (False, False)),
    ({"verify_mode": True}, (True, False)),
    # PyMySQL ignores check_hostname without a CA; here it means VERIFY_IDENTITY.
    ({"check_hostname": True}, (True, True)),
]


@pytest.mark.parametrize(("ssl_dict", "verified"), [
    pytest.param(*row, id=repr(row[0])) for row in STOCK_PYMYSQL_SSL
])
def test_an_ssl_dict_verifies_at_least_what_stock_pymysql_verifies(ssl_dict, verified,
                                                                   monkeypatch):
    """OPTIONS = {"ssl": {...}} with stock Django and PyMySQL: PyMySQL builds
    its context from the dict, and checks the host name whenever a CA is
    given. An app moving to mysqlpool keeps that, on every Python driver."""
    connections = pytest.importorskip("pymysql.connections")
    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", lambda *a, **k: None)
    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", lambda *a, **k: None)
    monkeypatch.setattr(ssl.SSLContext, "set_ciphers", lambda *a, **k: None)
    stock = connections.Connection._create_ssl_ctx(None, dict(ssl_dict))
    stock_chain, stock_host = stock.verify_mode == ssl.CERT_REQUIRED, stock.check_hostname
    chain, host = verified
    assert chain >= stock_chain and host >= stock_host  # never less than stock PyMySQL
    for driver in ("pymysql", "mysql-connector"):
        # TLS required (PyMySQL with an ssl dict refuses a server without it).
        assert python_column(driver_arguments(driver, {"ssl": ssl_dict})) == (
            True, chain, host), driver


@pytest.mark.parametrize(("driver", "library", "checked"), [
    ("mysqlclient", "libmariadb", True),
    ("mysqlclient", "libmysqlclient", False),
    ("pymysql", "libmariadb", False),
    ("mysql-connector", "libmariadb", False),
])
def test_which_drivers_check_the_host_name_with_the_chain(driver, library, checked):
    # Where it is checked, the table above gives the library's VERIFY_CA for
    # every option that verifies the chain with TLS required.
    assert tls_arguments.chain_check_includes_host_name(driver, library) is checked


MODES_SHOWN = "'DISABLED', 'PREFERRED', 'REQUIRED', 'VERIFY_CA', 'VERIFY_IDENTITY'"
KEYS_SHOWN = ("'ca', 'capath', 'cert', 'key', 'password', 'cipher', 'check_hostname', "
              "'verify_mode'")
KEYS_EXPLAINED = (
    "'ca': the path of a PEM file of CA certificates; "
    "'capath': the path of a directory of CA certificates; "
    "'cert': the path of the client certificate (PEM); "
    "'key': the path of the client certificate's private key (PEM); "
    "'password': the client key's password (PyMySQL and mysql-connector only); "
    "'cipher': an OpenSSL cipher list (TLS 1.2 and older); "
    "'check_hostname': True or False (True: as VERIFY_IDENTITY); "
    "'verify_mode': True or False (True: as VERIFY_CA)."
)

# options, the message after "DATABASES[...]['OPTIONS']": the setting, the bad
# value, and what is valid
BAD_OPTIONS: list[tuple[dict, str]] = [
    ({"ssl_mode": "REQUIRD"},
     f"['ssl_mode'] = 'REQUIRD' is not valid. Use one of {MODES_SHOWN} (any case), or "
     "leave it unset for the driver's default."),
    ({"ssl_mode": 3},
     f"['ssl_mode'] = 3 is not valid. Use one of {MODES_SHOWN} (any case), or leave it "
     "unset for the driver's default."),
    ({"ssl": "yes"},
     f"['ssl'] = 'yes' is not valid. Use a dict with any of the keys {KEYS_SHOWN}, or "
     "True (as ssl_mode REQUIRED) or False (as DISABLED)."),
    ({"ssl": {"crl": "/crl.pem"}},
     "['ssl'] = {'crl': '/crl.pem'} is not valid. 'crl' is not a key mysqlpool knows. "
     f"Valid keys: {KEYS_EXPLAINED}"),
    ({"ssl": {"ca": 5}},
     "['ssl']['ca'] = 5 is not valid. It must be the path of a PEM file of CA "
     "certificates, as a str."),
    ({"ssl": {"check_hostname": "yes"}},
     "['ssl']['check_hostname'] = 'yes' is not valid. It must be True or False (True: as "
     "VERIFY_IDENTITY)."),
    ({"ssl": {"ca": CA, "verify_mode": False}},
     "['ssl']['verify_mode'] = False is not valid. It contradicts the other TLS options: "
     "a CA given, ssl_mode VERIFY_CA or VERIFY_IDENTITY, or check_hostname=True all mean "
     "the certificate is verified. Remove verify_mode, or the CA and the verifying mode."),
    ({"ssl_mode": "VERIFY_IDENTITY", "ssl": {"check_hostname": False}},
     "['ssl']['check_hostname'] = False is not valid. ssl_mode VERIFY_IDENTITY checks the "
     "host name. Remove check_hostname, or use ssl_mode VERIFY_CA."),
    ({"ssl_mode": "PREFERRED", "ssl": {"check_hostname": True}},
     "['ssl']['check_hostname'] = True is not valid. Checking the host name needs an "
     "encrypted connection, but ssl_mode PREFERRED allows plain text. Use ssl_mode "
     "VERIFY_IDENTITY."),
]


@pytest.mark.parametrize(("options", "message"), [
    pytest.param(options, message, id=repr(options)) for options, message in BAD_OPTIONS
])
def test_bad_options_name_the_setting_the_value_and_what_is_valid(options, message):
    for driver in ("mysqlclient", "pymysql", "mysql-connector"):
        with pytest.raises(ImproperlyConfigured) as raised:
            tls_arguments.connect_arguments(driver, options)
        assert str(raised.value) == "DATABASES[...]['OPTIONS']" + message, driver
    # manage.py check names the alias.
    assert tls.problems(options, "DATABASES['x']['OPTIONS']") == [
        "DATABASES['x']['OPTIONS']" + message]


def test_a_key_password_is_refused_with_mysqlclient_and_never_shown(monkeypatch):
    options = {"ssl": {"cert": "/c.pem", "key": "/k.pem", "password": "Hunter-2-secret"}}
    with pytest.raises(ImproperlyConfigured) as raised:
        tls_arguments.connect_arguments("mysqlclient", options)
    assert str(raised.value) == (
        "DATABASES[...]['OPTIONS']['ssl']['password'] is not supported by mysqlclient (it "
        "cannot pass a key password to its C library). Use a key file without a password, "
        "or PyMySQL or mysql-connector.")
    # The Python drivers load it with the client key.
    loaded = []
    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain",
                        lambda self, *args: loaded.append(args))
    assert driver_arguments("pymysql", options)["_tls_required"] is True
    assert loaded == [("/c.pem", "/k.pem", "Hunter-2-secret")]


# options, the CA locations loaded (cafile, capath), whether the system's CAs are loaded
CA_LOADING: list[tuple[dict, list[tuple[str | None, str | None]], bool]] = [
    ({"ssl": {"ca": CA}}, [(CA, None)], False),
    ({"ssl": {"capath": CAPATH}}, [(None, CAPATH)], False),
    ({"ssl": {"ca": CA, "capath": CAPATH}}, [(CA, CAPATH)], False),
    ({"ssl_mode": "VERIFY_CA", "ssl": {"capath": CAPATH}}, [(None, CAPATH)], False),
    ({"ssl_mode": "VERIFY_CA"}, [], True),
    ({"ssl_mode": "VERIFY_IDENTITY"}, [], True),
    ({"ssl_mode": "REQUIRED"}, [], False),  # nothing verified, nothing loaded
]


@pytest.mark.parametrize(("options", "locations", "system"), [
    pytest.param(*row, id=repr(row[0])) for row in CA_LOADING
])
def test_the_python_drivers_context_verifies_against_the_cas_given(
        options, locations, system, monkeypatch):
    loaded: list[tuple[str | None, str | None]] = []
    system_loads: list[ssl.SSLContext] = []
    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations",
                        lambda self, cafile=None, capath=None: loaded.append((cafile, capath)))
    monkeypatch.setattr(ssl.SSLContext, "load_default_certs",
                        lambda self, *args: system_loads.append(self))
    context = driver_arguments("pymysql", options)["_tls_context"]
    assert loaded == locations
    assert system_loads == ([context] if system else [])


def test_the_python_drivers_context_drops_only_the_strict_x509_checks(monkeypatch):
    """MySQL servers' self-signed certificates fail Python 3.13's strict X.509
    checks, on by default there: the context turns them off, and keeps the rest."""
    client_flags = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).verify_flags

    new_context = ssl.SSLContext.__new__

    def strict_by_default(cls: type, *args: object, **kwargs: object) -> ssl.SSLContext:
        # Python 3.13's default, on every Python the tests run on.
        context = new_context(cls, *args, **kwargs)
        context.verify_flags |= ssl.VERIFY_X509_STRICT
        return context

    monkeypatch.setattr(ssl.SSLContext, "__new__", staticmethod(strict_by_default))
    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", lambda *a, **k: None)
    context = driver_arguments("pymysql", {"ssl": {"ca": CA}})["_tls_context"]
    assert context.protocol == ssl.PROTOCOL_TLS_CLIENT
    assert not context.verify_flags & ssl.VERIFY_X509_STRICT
    assert context.verify_flags == client_flags & ~ssl.VERIFY_X509_STRICT


# which system CA locations exist, and the ssl dict mysqlclient on MariaDB
# Connector/C gets for VERIFY_CA without a CA (None: no system CA store)
SYSTEM_CAS: list[tuple[bool | None, bool | None, dict[str, str] | None]] = [
    # True: exists, False: named but missing, None: not named
    (True, True, {"ca": "cafile", "capath": "capath"}),
    (True, False, {"ca": "cafile"}),
    (True, None, {"ca": "cafile"}),
    (False, True, {"capath": "capath"}),
    (None, True, {"capath": "capath"}),
    (False, False, None),
    (None, None, None),
]


@pytest.mark.parametrize(("cafile", "capath", "expected"), SYSTEM_CAS)
def test_verify_ca_without_a_ca_gives_mysqlclient_the_system_cas(
        cafile, capath, expected, tmp_path, monkeypatch):
    (tmp_path / "cafile").write_text("")
    (tmp_path / "capath").mkdir()
    named = {"cafile": cafile, "capath": capath}
    paths = {name: None if exists is None else str(tmp_path / (name if exists else "missing"))
             for name, exists in named.items()}
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: ssl.DefaultVerifyPaths(
        paths["cafile"], paths["capath"], "SSL_CERT_FILE", "", "SSL_CERT_DIR", ""))
    options = {"ssl_mode": "VERIFY_CA"}
    if expected is not None:
        ssl_dict = {key: str(tmp_path / name) for key, name in expected.items()}
        assert driver_arguments("mysqlclient", options) == {
            "ssl_mode": "VERIFY_CA", "ssl": ssl_dict}
        return
    with pytest.raises(ImproperlyConfigured) as raised:
        driver_arguments("mysqlclient", options)
    assert str(raised.value) == (
        "DATABASES[...]['OPTIONS']['ssl_mode'] = 'VERIFY_CA' without a CA, and no system CA "
        f"store was found (looked for {paths['cafile']!r} and {paths['capath']!r}). Give "
        "the server's CA as DATABASES[...]['OPTIONS']['ssl']['ca'].")
