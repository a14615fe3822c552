"""Where TLS is required, no driver sends the credentials (the user name and
the password's scramble) in clear text, whatever the server behind the address
does: a relay in front of the servers (tests/wire.py) records what each client
sends after the greeting.
"""

from __future__ import annotations

import pytest
from django.db import OperationalError

from mysqlpool.drivers.base import TLS_UNAVAILABLE
from tests.server import ServerAddress
from tests.test_tls import pooled_ciphers
from tests.wire import RecordingRelay

pytestmark = pytest.mark.usefixtures("database_access")


@pytest.mark.parametrize("options", [
    {"ssl_mode": "REQUIRED"},
    {"ssl_mode": "VERIFY_CA"},
    {"ssl_mode": "VERIFY_IDENTITY"},
    {"ssl": {"cipher": "ECDHE-RSA-AES256-GCM-SHA384"}},
    {"ssl": True},
], ids=["REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY", "ssl-dict", "ssl-True"])
def test_required_tls_is_refused_before_the_credentials_are_sent(plain_server, options):
    # A relay in front of the server without TLS sees what each client sends
    # after the greeting. mysqlclient (MariaDB Connector/C) and mysql-connector
    # used to send their handshake response -- the user name and the password's
    # scramble -- in clear text, and mysqlpool refused the connection only after
    # the login.
    relay = RecordingRelay(plain_server.host, plain_server.port)
    try:
        address = ServerAddress("127.0.0.1", relay.port, plain_server.user,
                                plain_server.password, plain_server.database)
        with pytest.raises(OperationalError) as failure:
            pooled_ciphers(address, options)
        replies = relay.settled()
    finally:
        relay.close()
    assert failure.value.args[0] == 2026 or "2026" in str(failure.value)
    assert TLS_UNAVAILABLE in str(failure.value)
    assert replies, "no client reached the relay"
    for reply in replies:
        assert not reply.server_offered_tls
        assert reply.clear_text_user is None, f"credentials sent in clear text: {reply}"


@pytest.mark.parametrize("options", [
    {"ssl_mode": "VERIFY_CA"},
    {"ssl_mode": "REQUIRED"},
], ids=["VERIFY_CA", "REQUIRED-with-a-CA"])
def test_verified_tls_is_refused_before_the_credentials_by_the_connection_that_logs_in(
        tls_server, plain_server, options):
    # The address answers its first connection with TLS (the TLS server) and
    # every later one without (the server without TLS). mysqlclient on MariaDB
    # Connector/C used to look at the greeting on a connection of its own first,
    # then log in on the next one in clear text: what is checked must be the
    # connection that carries the credentials.
    relay = RecordingRelay(plain_server.host, plain_server.port,
                           first_targets=[(tls_server.address.host, tls_server.address.port)])
    try:
        address = ServerAddress("127.0.0.1", relay.port, plain_server.user,
                                plain_server.password, plain_server.database)
        ca = {"ca": str(tls_server.directory / "ca.pem")}
        with pytest.raises(OperationalError) as failure:
            pooled_ciphers(address, {**options, "ssl": ca})
        replies = relay.settled()
    finally:
        relay.close()
    for reply in replies:
        assert reply.clear_text_user is None, f"credentials sent in clear text: {reply}"
    assert failure.value.args[0] == 2026 or "2026" in str(failure.value), failure.value
    assert TLS_UNAVAILABLE in str(failure.value)
    assert any(not reply.server_offered_tls for reply in replies), (
        "no connection reached the server without TLS")
