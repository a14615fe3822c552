"""Several hosts in ``HOST``: which one each new connection goes to.

``HOST = "db1,db2:3307,[2001:db8::1]:3306"`` (an entry without a port uses
``PORT``), with libpq's meanings: ``load_balance_hosts`` "disable" (hosts in
order: a new connection goes to the first that answers) or "random";
``target_session_attrs`` (see targets.py: a host that is not the kind asked
for is skipped), checked once per new connection.
A host that failed to connect is skipped for ``host_retry_after`` seconds, so
that a dead node does not cost every new connection a connect timeout (when
every host is marked, they are all tried anyway).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured

Host = tuple[str, int]

LOAD_BALANCE = ("disable", "random")

#: What ``judge`` says of a connected host: why not to use it (None: use it),
#: and whether it may serve when no host suits (prefer-standby's primary).
Verdict = tuple[str | None, bool]


def parse_hosts(setting: str, value: Any, default_port: int | None) -> list[Host] | None:
    """The entries of a HOST with several hosts (or a port), or None for a
    single plain host or a socket path, which stay as they are."""
    if not isinstance(value, str) or not value or value.startswith("/"):
        return None
    entries = [entry.strip() for entry in value.split(",")]
    if len(entries) == 1 and ":" not in entries[0]:
        return None
    hosts = []
    for entry in entries:
        host, port = _split(entry)
        # isdecimal() alone would take "²" or "٣", which int() then refuses.
        if not host or (port is not None and not (port.isascii() and port.isdigit())):
            raise ImproperlyConfigured(
                f"{setting} = {value!r}: {entry!r} is not a host. Give hosts separated "
                "by commas, each 'host' or 'host:port' ('[IPv6]:port' for an IPv6 "
                "address), e.g. 'db1,db2:3307'.")
        hosts.append((host, int(port) if port is not None else (default_port or 3306)))
    return hosts


def _split(entry: str) -> tuple[str, str | None]:
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        if rest and not rest.startswith(":"):
            return "", None  # something after the bracket that is not a port
        return host, rest[1:] if rest else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, port
    return entry, None  # a bare IPv6 address, or a name


def label(host: Host) -> str:
    name, port = host
    return f"[{name}]:{port}" if ":" in name else f"{name}:{port}"


class NoHost(Exception):
    """No host took a connection (the last error is the cause)."""


class HostList:
    """The hosts of one pool, and which of them failed lately."""

    def __init__(self, hosts: list[Host], load_balance: str, target: str,
                 retry_after: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.hosts = hosts
        self.load_balance = load_balance
        self.target = target
        self.retry_after = retry_after
        # Seconds that only go forward; tests give a clock they move by hand.
        self._clock = clock
        self._down_until: dict[Host, float] = {}
        self._lock = threading.Lock()

    def order(self) -> list[Host]:
        """The hosts to try for one new connection, in order."""
        now = self._clock()
        with self._lock:
            up = [host for host in self.hosts if self._down_until.get(host, 0) <= now]
            down = sorted((host for host in self.hosts if host not in up),
                          key=lambda host: self._down_until[host])
        if self.load_balance == "random":
            random.shuffle(up)
        return up + down  # the skipped ones last, soonest back first

    def mark_down(self, host: Host) -> None:
        with self._lock:
            self._down_until[host] = self._clock() + self.retry_after

    def mark_up(self, host: Host) -> None:
        with self._lock:
            self._down_until.pop(host, None)

    def connect(self, open_one: Callable[[Host], Any],
                judge: Callable[[Any, Host], Verdict],
                host_problem: Callable[[Exception], bool] = lambda exc: True,
                ) -> tuple[Any, Host]:
        """A connection from the first suitable host, and that host.

        ``judge(connection, host)`` says why a connected host is not to be
        used (read-only, not ready, a replica lagging), or None, and whether
        it may serve anyway when no host suits; when it raises (a proxy with
        no server behind it, a timeout, a lost connection), the host is not
        usable either. ``host_problem(exc)`` says whether a failed connect is
        the host's fault: when not (the login was refused), it is raised at
        once and no host is marked down.
        """
        problems: list[tuple[Host, Exception]] = []
        fallback: tuple[Any, Host] | None = None
        for host in self.order():
            try:
                connection = open_one(host)
            except Exception as exc:  # noqa: BLE001 - the next host is tried
                if not host_problem(exc):
                    raise
                self.mark_down(host)
                problems.append((host, exc))
                continue
            problem: Exception
            may_fall_back = False
            try:
                reason, may_fall_back = (judge(connection, host) if self.target != "any"
                                         else (None, False))
            except Exception as exc:  # noqa: BLE001 - the next host is tried
                problem = exc
            else:
                if reason is None:
                    self.mark_up(host)
                    if fallback is not None:
                        _close(fallback[0])
                    return connection, host
                problem = NoHost(reason)
            problems.append((host, problem))
            if may_fall_back and fallback is None:
                fallback = (connection, host)  # kept open: it answers, and may serve
                continue
            _close(connection)
            self.mark_down(host)
        if fallback is not None:
            self.mark_up(fallback[1])
            return fallback
        summary = "; ".join(f"{label(host)}: {exc}" for host, exc in problems)
        raise NoHost(f"no host of {', '.join(label(h) for h in self.hosts)} took a "
                     f"connection ({summary})") from (problems[-1][1] if problems else None)


def _close(connection: Any) -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001 - closed either way
        pass


def connect_unpooled(driver: Any, alias: str, params: dict[str, Any]) -> Any:
    """A connection outside any pool (``OPTIONS["pool"] = False``, Django's
    connection without a database): the first host of HOST that answers."""
    hosts = parse_hosts(f"DATABASES[{alias!r}]['HOST']", params.get("host"),
                        params.get("port"))
    if hosts is None:
        return driver.connect(driver.connect_params(params))
    base = driver.connect_params({**params, "host": hosts[0][0], "port": hosts[0][1]})
    try:
        connection, _ = HostList(hosts, "disable", "any", 0).connect(
            lambda host: driver.connect({**base, "host": host[0], "port": host[1]}),
            lambda connection, host: (None, False))
    except NoHost as exc:
        raise driver.operational_error(2003, f"Database alias {alias!r}: {exc}") from (
            exc.__cause__)
    return connection
