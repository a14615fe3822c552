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
    ({"ssl": {"ca": CA}}, {"ssl_mode": "VERIFY_CA", "ssl": {"ca": CA}},
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


@pytest.mark.parametrize(("options", "setting", "shown"), [
    ({"ssl_mode": "REQUIRD"}, "['ssl_mode'] = 'REQUIRD'", "'VERIFY_IDENTITY'"),
    ({"ssl_mode": 3}, "['ssl_mode'] = 3", "'DISABLED'"),
    ({"ssl": "yes"}, "['ssl'] = 'yes'", "'capath'"),
    ({"ssl": {"crl": "/crl.pem"}}, "['ssl'] = {'crl': '/crl.pem'}", "'crl' is not a key"),
    ({"ssl": {"ca": 5}}, "['ssl']['ca'] = 5", "as a str"),
    ({"ssl": {"check_hostname": "yes"}}, "['ssl']['check_hostname'] = 'yes'", "True or False"),
    ({"ssl": {"ca": CA, "verify_mode": False}}, "['ssl']['verify_mode'] = False", "contradicts"),
    ({"ssl_mode": "VERIFY_IDENTITY", "ssl": {"check_hostname": False}},
     "['ssl']['check_hostname'] = False", "VERIFY_CA"),
])
def test_bad_options_name_the_setting_the_value_and_what_is_valid(options, setting, shown):
    for driver in ("mysqlclient", "pymysql", "mysql-connector"):
        with pytest.raises(ImproperlyConfigured) as raised:
            tls_arguments.connect_arguments(driver, options)
        message = str(raised.value)
        assert message.startswith("DATABASES[...]['OPTIONS']" + setting), message
        assert shown in message, message
    assert tls.problems(options, "DATABASES['x']['OPTIONS']")[0].startswith(
        "DATABASES['x']['OPTIONS']" + setting)


def test_a_key_password_is_refused_with_mysqlclient_and_never_shown(monkeypatch):
    options = {"ssl": {"cert": "/c.pem", "key": "/k.pem", "password": "Hunter-2-secret"}}
    with pytest.raises(ImproperlyConfigured) as raised:
        tls_arguments.connect_arguments("mysqlclient", options)
    assert "['ssl']['password'] is not supported by mysqlclient" in str(raised.value)
    assert "Hunter-2-secret" not in str(raised.value)
    # The Python drivers load it with the client key.
    loaded = []
    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain",
                        lambda self, *args: loaded.append(args))
    assert driver_arguments("pymysql", options)["_tls_required"] is True
    assert loaded == [("/c.pem", "/k.pem", "Hunter-2-secret")]
