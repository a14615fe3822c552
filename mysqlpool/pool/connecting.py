"""Opening one new connection for a pool: the password of the moment (see
credentials.py) and, with several hosts in HOST, which host (see hosts.py);
whether the host is one ``target_session_attrs`` takes (see targets.py)."""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any, cast

from .. import targets
from ..config import PoolConfig
from ..drivers import Driver
from ..hosts import Host, HostList, NoHost, Verdict, label, parse_hosts
from . import server_state
from .credentials import Credentials, without_secrets
from .replication import ReplicaWatch
from .stats import PoolStats

#: MySQL's "access denied": a password that was rotated between fetch and use.
ACCESS_DENIED = 1045
#: MySQL's "can't connect", for no host of several answering.
CANT_CONNECT = 2003
#: Galera's "WSREP has not yet prepared node for application use".
NODE_NOT_READY = 1047


class _Login:
    """The secret connect arguments of one new connection, whichever host it goes to."""

    __slots__ = ("secrets", "refreshed")

    def __init__(self, secrets: dict[str, Any]) -> None:
        self.secrets = secrets
        #: Whether they were asked for again after a refused login.
        self.refreshed = False


class Opener:
    """Opens one pool's connections."""

    def __init__(self, alias: str, driver: Driver, config: PoolConfig,
                 params: Mapping[str, Any], settings_dict: Mapping[str, Any],
                 stats: PoolStats) -> None:
        self.alias = alias
        self.driver = driver
        self.stats = stats
        self.credentials = Credentials(alias, config.password_provider, settings_dict, params)
        self._open = driver.creator(without_secrets(params))
        hosts = parse_hosts(f"DATABASES[{alias!r}]['HOST']", params.get("host"),
                            params.get("port"))
        self.target = config.target_session_attrs
        self.max_lag = config.max_replication_lag
        if hosts is None and self.target not in ("any", "read-write"):
            # One host, but a kind of server asked for (a replica alias with
            # one replica): checked as one host of a list. (read-write on one
            # host is not checked: it was always taken as it is.)
            host = params.get("host") or "127.0.0.1"
            if isinstance(host, str) and not host.startswith("/"):
                hosts = [(host, int(params.get("port") or 3306))]
        #: Several hosts in HOST: where each new connection goes (None: one host).
        # (parse_hosts gives None or a list that is never empty.)
        self.hosts = cast("HostList | None", hosts and HostList(
            hosts, config.load_balance_hosts, self.target, config.host_retry_after))
        self.replicas = ReplicaWatch(self.max_lag)
        self._replication = targets.needs_replica_status(self.target, self.max_lag)
        self._host_of: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def open(self) -> Any:
        """One new connection."""
        # The password is asked for once per connection, whatever the number
        # of hosts tried (a provider may be slow, rate-limited or billed).
        login = _Login(self.credentials.connect_arguments())
        if self.hosts is None:
            return self._login(login)
        try:
            connection, host = self.hosts.connect(
                lambda host: self._login(login, host=host[0], port=host[1]),
                self._judge, self._host_problem)
        except NoHost as exc:
            raise self.driver.operational_error(
                CANT_CONNECT, f"Database alias {self.alias!r}: {exc}") from exc.__cause__
        self._host_of[connection] = label(host)
        return connection

    def _login(self, login: _Login, **where: Any) -> Any:
        try:
            return self._open(**where, **login.secrets)
        except self.driver.dbapi.Error as exc:
            if not (self.credentials.rotating and not login.refreshed
                    and self.driver.error_code(exc) == ACCESS_DENIED):
                raise
        # The provider's password was rotated between being issued and used:
        # once more, with a fresh one (kept for any further host).
        self.stats.add("password_retries")
        login.secrets, login.refreshed = self.credentials.connect_arguments(), True
        return self._open(**where, **login.secrets)

    def _host_problem(self, exc: Exception) -> bool:
        """Whether a failed connect is the host's fault. A refused login is
        not: the host answers, and the same credentials go to every host."""
        return not (isinstance(exc, self.driver.dbapi.Error)
                    and self.driver.error_code(exc) == ACCESS_DENIED)

    def _judge(self, connection: Any, host: Host) -> Verdict:
        """Whether a new connection's host is one target_session_attrs takes."""
        state = self._describe(connection)
        name = label(host)
        behind = self.replicas.record(name, state)
        reason = targets.rejection(self.target, state, self.max_lag)
        if reason is not None and behind is not None:
            self.replicas.skipped(name)
        return reason, reason is not None and targets.is_fallback(
            self.target, state, self.max_lag)

    def _describe(self, connection: Any) -> targets.ServerState:
        try:
            return server_state.describe(self.driver, connection, self._replication)
        except self.driver.dbapi.Error as exc:
            if self.driver.error_code(exc) == NODE_NOT_READY:
                return targets.ServerState(not_writable="a Galera node that is not ready")
            raise

    def host_of(self, connection: Any) -> str | None:
        """The host a connection went to (None with one host)."""
        return self._host_of.get(connection)

    def measure(self, connection: Any) -> str | None:
        """Measure the lag of ``connection``'s replica now (housekeeping);
        returns why it is behind, or None. Raises the driver's error."""
        host = self._host_of.get(connection)
        if host is None:
            return None
        return self.replicas.record(
            host, server_state.describe(self.driver, connection, replication=True))

    def per_host(self, connections: list[Any]) -> dict[str, int] | None:
        """How many of ``connections`` each host holds (None with one host)."""
        if self.hosts is None:
            return None
        counts = {label(host): 0 for host in self.hosts.hosts}
        for connection in connections:
            host = self._host_of.get(connection)
            if host is not None:
                counts[host] = counts.get(host, 0) + 1
        return counts
