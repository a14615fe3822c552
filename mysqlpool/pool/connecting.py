"""Opening one new connection for a pool: the password of the moment (see
credentials.py) and, with several hosts in HOST, which host (see hosts.py)."""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

from ..config import PoolConfig
from ..drivers import Driver
from ..hosts import HostList, NoHost, label, parse_hosts
from . import server_state
from .credentials import Credentials, without_secrets
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
        #: Several hosts in HOST: where each new connection goes (None: one host).
        self.hosts = hosts and HostList(hosts, config.load_balance_hosts,
                                        config.target_session_attrs, config.host_retry_after)
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
                self._unsuitable, self._host_problem)
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

    def _unsuitable(self, connection: Any) -> str | None:
        """Why a new connection's host cannot take writes (target_session_attrs)."""
        try:
            return server_state.not_writable(self.driver, connection)
        except self.driver.dbapi.Error as exc:
            if self.driver.error_code(exc) == NODE_NOT_READY:
                return "a Galera node that is not ready"
            raise

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
