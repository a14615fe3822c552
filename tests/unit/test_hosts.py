"""Several hosts in HOST (mysqlpool.hosts), without a server: the parser, the
labels, the order hosts are tried in, and the fallback from one host to the next.

Opening a connection is stood in for by plain callables, so what is tested is
the choice alone: which host is tried, which is marked down, which marked up.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from itertools import permutations
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from mysqlpool import hosts
from mysqlpool.hosts import Host, HostList, NoHost, connect_unpooled, label, parse_hosts

SETTING = "DATABASES['default']['HOST']"
DB1, DB2, DB3 = ("db1", 3306), ("db2", 3306), ("db3", 3306)


# ----- parse_hosts ---------------------------------------------------------------

# value, PORT, hosts (None: HOST stays as it is, one host or a socket)
PARSED: list[tuple[Any, int | None, list[Host] | None]] = [
    ("db1", None, None),
    ("db1", 3307, None),
    ("  db1  ", None, None),
    ("/var/run/mysqld/mysqld.sock", None, None),
    ("/tmp/a,b:1", None, None),  # a socket path may hold anything
    ("", None, None),
    (None, None, None),
    (3306, None, None),
    ("db1,db2:3307", None, [("db1", 3306), ("db2", 3307)]),
    ("db1,db2:3307", 3310, [("db1", 3310), ("db2", 3307)]),
    ("db1,db2", 3310, [("db1", 3310), ("db2", 3310)]),
    ("db1,db2", 0, [("db1", 3306), ("db2", 3306)]),
    ("db1:3307", None, [("db1", 3307)]),  # one host with a port
    ("db1:0", None, [("db1", 0)]),
    ("10.0.0.1:3307,10.0.0.2", None, [("10.0.0.1", 3307), ("10.0.0.2", 3306)]),
    ("[2001:db8::1]:3306", None, [("2001:db8::1", 3306)]),
    ("[2001:db8::1]:3307,db2", 3310, [("2001:db8::1", 3307), ("db2", 3310)]),
    ("[2001:db8::1]", 3310, [("2001:db8::1", 3310)]),
    ("2001:db8::1", None, [("2001:db8::1", 3306)]),  # bare IPv6: no port
    ("::1", 3310, [("::1", 3310)]),
    ("db1,::1", None, [("db1", 3306), ("::1", 3306)]),
    (" db1 , db2:3307 ,\t[::1]:3308\n", None,
     [("db1", 3306), ("db2", 3307), ("::1", 3308)]),
]


@pytest.mark.parametrize(("value", "port", "expected"), PARSED,
                         ids=[f"{value!r}-{port}" for value, port, _ in PARSED])
def test_parse_hosts(value: Any, port: int | None, expected: list[Host] | None) -> None:
    assert parse_hosts(SETTING, value, port) == expected


# value, the entry named as not a host
BAD: list[tuple[str, str]] = [
    ("db1,", ""),
    ("db1,,db2", ""),
    (",db1", ""),
    ("db1,:3307", ":3307"),
    ("db1:", "db1:"),
    ("db1,db2:x", "db2:x"),
    ("db1,db2:-1", "db2:-1"),
    ("db1,db2:33 07", "db2:33 07"),
    ("db1,[::1]:port", "[::1]:port"),
    ("db1,[]:3306", "[]:3306"),
    ("db1,db2:\u00b2", "db2:\u00b2"),  # a digit to str.isdigit(), not to int()
    ("db1,db2:\u0663", "db2:\u0663"),  # an Arabic-Indic three
    ("db1,[::1]x", "[::1]x"),  # something after the address that is no port
]


@pytest.mark.parametrize(("value", "entry"), BAD, ids=[value for value, _ in BAD])
def test_a_bad_entry_names_the_setting_the_value_and_what_is_valid(value: str,
                                                                   entry: str) -> None:
    with pytest.raises(ImproperlyConfigured) as raised:
        parse_hosts(SETTING, value, 3306)
    assert str(raised.value) == (
        f"{SETTING} = {value!r}: {entry!r} is not a host. Give hosts separated by "
        "commas, each 'host' or 'host:port' ('[IPv6]:port' for an IPv6 address), "
        "e.g. 'db1,db2:3307'.")


@pytest.mark.parametrize(("host", "expected"), [
    (("db1", 3306), "db1:3306"),
    (("10.0.0.1", 0), "10.0.0.1:0"),
    (("2001:db8::1", 3307), "[2001:db8::1]:3307"),
    (("::1", 3306), "[::1]:3306"),
])
def test_label(host: Host, expected: str) -> None:
    assert label(host) == expected
    # A label is what HOST says for that host: it reads back as the same host.
    assert parse_hosts(SETTING, f"{expected},other", None)[0] == host


# ----- HostList.order --------------------------------------------------------------


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def host_list(load_balance: str = "disable", target: str = "any",
              retry_after: float = 30.0, names: str = "db1 db2 db3",
              ) -> tuple[HostList, Clock]:
    clock = Clock()
    listed = [(name, 3306) for name in names.split()]
    return HostList(listed, load_balance, target, retry_after, clock=clock), clock


class Reversing:
    """Stands in for the random module: a "shuffle" the test can predict."""

    @staticmethod
    def shuffle(items: list[Host]) -> None:
        items.reverse()


# load_balance, hosts marked down (in this order, one second apart), order
ORDERS: list[tuple[str, list[Host], list[Host]]] = [
    ("disable", [], [DB1, DB2, DB3]),
    ("disable", [DB1], [DB2, DB3, DB1]),
    ("disable", [DB2], [DB1, DB3, DB2]),
    ("random", [], [DB3, DB2, DB1]),
    # only the hosts that are up are shuffled; the skipped ones stay last
    ("random", [DB3], [DB2, DB1, DB3]),
    ("random", [DB1, DB2], [DB3, DB1, DB2]),
]


@pytest.mark.parametrize(("load_balance", "down", "expected"), ORDERS)
def test_order(load_balance: str, down: list[Host], expected: list[Host],
               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hosts, "random", Reversing)
    listed, clock = host_list(load_balance)
    for host in down:
        listed.mark_down(host)
        clock.now += 1
    assert listed.order() == expected


def test_random_order_reaches_every_permutation(monkeypatch: pytest.MonkeyPatch) -> None:
    # A seeded generator, so that the test cannot fail by chance.
    monkeypatch.setattr(hosts, "random", random.Random(20240601))
    listed, _ = host_list("random")
    seen = {tuple(listed.order()) for _ in range(100)}
    assert seen == set(permutations([DB1, DB2, DB3]))
    assert listed.hosts == [DB1, DB2, DB3]  # the configured order is left alone


# seconds after db1 failed (host_retry_after 30), order
RETRY: list[tuple[float, list[Host]]] = [
    (0.0, [DB2, DB3, DB1]),
    (29.9, [DB2, DB3, DB1]),
    (30.0, [DB1, DB2, DB3]),  # tried again once host_retry_after has passed
    (31.0, [DB1, DB2, DB3]),
]


@pytest.mark.parametrize(("elapsed", "expected"), RETRY)
def test_a_failed_host_is_skipped_for_host_retry_after(elapsed: float,
                                                       expected: list[Host]) -> None:
    listed, clock = host_list(retry_after=30.0)
    clock.now = 100.0
    listed.mark_down(DB1)
    clock.now += elapsed
    assert listed.order() == expected


def test_a_host_marked_up_is_tried_again_at_once() -> None:
    listed, _ = host_list()
    listed.mark_down(DB1)
    listed.mark_up(DB1)
    assert listed.order() == [DB1, DB2, DB3]
    listed.mark_up(DB2)  # one that was never down
    assert listed.order() == [DB1, DB2, DB3]


@pytest.mark.parametrize("load_balance", ["disable", "random"])
def test_every_host_skipped_all_are_tried_soonest_back_first(
        load_balance: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hosts, "random", Reversing)
    listed, clock = host_list(load_balance, retry_after=30.0)
    for at, host in ((0.0, DB1), (5.0, DB2), (2.0, DB3)):
        clock.now = at
        listed.mark_down(host)
    clock.now = 10.0
    assert listed.order() == [DB1, DB3, DB2]  # back at 30, 32, 35


def test_with_no_retry_delay_a_failed_host_is_tried_again_at_once() -> None:
    listed, _ = host_list(retry_after=0.0)
    listed.mark_down(DB1)
    assert listed.order() == [DB1, DB2, DB3]


# ----- HostList.connect ------------------------------------------------------------


@dataclass
class Refuses:
    """Opening a connection to the host raises this."""

    error: Exception


@dataclass
class Says:
    """The host connects; ``judge`` gives this reason (None: suitable), and
    whether the host may serve when none suits."""

    reason: str | None
    fallback: bool = False


@dataclass
class CheckRaises:
    """The host connects; ``judge`` raises this."""

    error: Exception


@dataclass
class FakeConnection:
    host: Host
    check: Says | CheckRaises
    close_fails: bool = False
    closed: bool = False

    def close(self) -> None:
        self.closed = True
        if self.close_fails:
            raise OSError("the connection was already gone")


@dataclass
class Servers:
    """What each host does, and what the host list did to them."""

    behaviour: dict[Host, Refuses | Says | CheckRaises]
    close_fails: bool = False
    tried: list[Host] = field(default_factory=list)
    checked: list[Host] = field(default_factory=list)
    opened: list[FakeConnection] = field(default_factory=list)

    def open_one(self, host: Host) -> FakeConnection:
        self.tried.append(host)
        outcome = self.behaviour[host]
        if isinstance(outcome, Refuses):
            raise outcome.error
        connection = FakeConnection(host, outcome, self.close_fails)
        self.opened.append(connection)
        return connection

    def judge(self, connection: FakeConnection, host: Host) -> tuple[str | None, bool]:
        assert host == connection.host
        self.checked.append(connection.host)
        if isinstance(connection.check, CheckRaises):
            raise connection.check.error
        return connection.check.reason, connection.check.fallback

    @property
    def closed(self) -> list[Host]:
        return [connection.host for connection in self.opened if connection.closed]


def down_hosts(listed: HostList, clock: Clock) -> set[Host]:
    """The hosts skipped now (order() puts them last, after the rest)."""
    return {host for host, until in listed._down_until.items() if until > clock.now}


@dataclass(frozen=True)
class Case:
    name: str
    behaviour: dict[Host, Refuses | Says | CheckRaises]
    target: str = "read-write"
    close_fails: bool = False
    chosen: Host | None = DB1  # None: NoHost
    tried: tuple[Host, ...] = (DB1,)
    checked: tuple[Host, ...] = ()
    closed: tuple[Host, ...] = ()
    down: frozenset[Host] = frozenset()


OK = Says(None)
READ_ONLY = Says("read-only")
#: What prefer-standby makes of a primary: not a standby, but may serve.
PRIMARY = Says("not a standby", fallback=True)
LAGGING = Says("replication lag 75 s above max_replication_lag 2 s")

CASES: list[Case] = [
    Case("the first host suitable", {DB1: OK, DB2: OK, DB3: OK}, checked=(DB1,)),
    Case("a host that does not answer is marked down",
         {DB1: Refuses(OSError("refused")), DB2: OK, DB3: OK},
         chosen=DB2, tried=(DB1, DB2), checked=(DB2,), down=frozenset({DB1})),
    Case("a read-only host is closed and marked down",
         {DB1: READ_ONLY, DB2: OK, DB3: OK},
         chosen=DB2, tried=(DB1, DB2), checked=(DB1, DB2), closed=(DB1,),
         down=frozenset({DB1})),
    Case("a check that raises skips the host",
         {DB1: CheckRaises(TimeoutError("no answer")), DB2: OK, DB3: OK},
         chosen=DB2, tried=(DB1, DB2), checked=(DB1, DB2), closed=(DB1,),
         down=frozenset({DB1})),
    Case("a close that fails still moves on",
         {DB1: READ_ONLY, DB2: OK, DB3: OK}, close_fails=True,
         chosen=DB2, tried=(DB1, DB2), checked=(DB1, DB2), closed=(DB1,),
         down=frozenset({DB1})),
    Case("every kind of failure, then a suitable host",
         {DB1: Refuses(OSError("refused")), DB2: CheckRaises(OSError("lost")),
          DB3: OK},
         chosen=DB3, tried=(DB1, DB2, DB3), checked=(DB2, DB3), closed=(DB2,),
         down=frozenset({DB1, DB2})),
    Case("target any: a read-only host is taken unchecked",
         {DB1: READ_ONLY, DB2: OK, DB3: OK}, target="any"),
    Case("prefer-standby: the primary stays open while a standby is looked for",
         {DB1: PRIMARY, DB2: OK, DB3: OK}, target="prefer-standby",
         chosen=DB2, tried=(DB1, DB2), checked=(DB1, DB2), closed=(DB1,)),
    Case("prefer-standby: no standby answers, the primary serves",
         {DB1: PRIMARY, DB2: LAGGING, DB3: Refuses(OSError("refused"))},
         target="prefer-standby", chosen=DB1, tried=(DB1, DB2, DB3), checked=(DB1, DB2),
         closed=(DB2,), down=frozenset({DB2, DB3})),
    Case("prefer-standby: a second host that may serve is closed at once",
         {DB1: PRIMARY, DB2: PRIMARY, DB3: OK}, target="prefer-standby",
         chosen=DB3, tried=(DB1, DB2, DB3), checked=(DB1, DB2, DB3), closed=(DB1, DB2),
         down=frozenset({DB2})),
    Case("standby: a lagging replica and a primary are no standby",
         {DB1: Says("not a standby"), DB2: LAGGING, DB3: Says("not a standby")},
         target="standby", chosen=None, tried=(DB1, DB2, DB3), checked=(DB1, DB2, DB3),
         closed=(DB1, DB2, DB3), down=frozenset({DB1, DB2, DB3})),
    Case("no host suitable",
         {DB1: READ_ONLY, DB2: Refuses(OSError("refused")), DB3: READ_ONLY},
         chosen=None, tried=(DB1, DB2, DB3), checked=(DB1, DB3), closed=(DB1, DB3),
         down=frozenset({DB1, DB2, DB3})),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_connect(case: Case) -> None:
    listed, clock = host_list(target=case.target)
    servers = Servers(case.behaviour, close_fails=case.close_fails)
    if case.chosen is None:
        with pytest.raises(NoHost):
            listed.connect(servers.open_one, servers.judge)
    else:
        connection, host = listed.connect(servers.open_one, servers.judge)
        assert host == case.chosen
        assert any(connection is opened for opened in servers.opened)
        assert connection.host == case.chosen and not connection.closed
    assert tuple(servers.tried) == case.tried
    assert tuple(servers.checked) == case.checked
    assert tuple(servers.closed) == case.closed
    assert down_hosts(listed, clock) == case.down


def test_a_skipped_host_that_connects_is_marked_up() -> None:
    # Every host is skipped, so all are tried anyway: the one that connects is
    # not skipped by the next connection.
    listed, clock = host_list(names="db1 db2")
    listed.mark_down(DB1)
    clock.now = 1.0
    listed.mark_down(DB2)
    servers = Servers({DB1: Refuses(OSError("refused")), DB2: OK})
    assert listed.connect(servers.open_one, servers.judge)[1] == DB2
    assert down_hosts(listed, clock) == {DB1}
    assert listed.order() == [DB2, DB1]


def test_a_failure_that_is_not_the_hosts_is_raised_at_once() -> None:
    listed, clock = host_list()
    refused = PermissionError("Access denied for user 'app'")
    servers = Servers({DB1: Refuses(refused), DB2: OK, DB3: OK})

    def host_problem(exc: Exception) -> bool:
        return not isinstance(exc, PermissionError)

    with pytest.raises(PermissionError) as raised:
        listed.connect(servers.open_one, servers.judge, host_problem)
    assert raised.value is refused
    assert servers.tried == [DB1]
    assert down_hosts(listed, clock) == set()


def test_host_problem_is_asked_about_each_failure() -> None:
    listed, clock = host_list()
    asked: list[Exception] = []
    refused, login = OSError("refused"), PermissionError("Access denied")
    servers = Servers({DB1: Refuses(refused), DB2: Refuses(login), DB3: OK})

    def host_problem(exc: Exception) -> bool:
        asked.append(exc)
        return exc is refused

    with pytest.raises(PermissionError):
        listed.connect(servers.open_one, servers.judge, host_problem)
    assert asked == [refused, login]
    assert servers.tried == [DB1, DB2]
    assert down_hosts(listed, clock) == {DB1}  # only the host that did not answer


def test_no_host_lists_every_hosts_problem_and_chains_the_last() -> None:
    v6 = ("::1", 3307)
    listed = HostList([DB1, v6, DB2], "disable", "read-write", 30.0, clock=Clock())
    lost = ConnectionResetError("lost")
    servers = Servers({DB1: Refuses(OSError("refused")), v6: READ_ONLY,
                       DB2: CheckRaises(lost)})
    with pytest.raises(NoHost) as raised:
        listed.connect(servers.open_one, servers.judge)
    assert str(raised.value) == (
        "no host of db1:3306, [::1]:3307, db2:3306 took a connection "
        "(db1:3306: refused; [::1]:3307: read-only; db2:3306: lost)")
    assert raised.value.__cause__ is lost


def test_no_host_for_a_reason_chains_the_reason() -> None:
    listed, _ = host_list(target="read-write", names="db1")
    servers = Servers({DB1: READ_ONLY})
    with pytest.raises(NoHost) as raised:
        listed.connect(servers.open_one, servers.judge)
    cause = raised.value.__cause__
    assert isinstance(cause, NoHost) and str(cause) == "read-only"


def test_a_host_list_without_hosts_raises_no_host() -> None:
    # parse_hosts never gives an empty list; a caller that builds one still
    # gets NoHost, with no cause, rather than an IndexError.
    listed = HostList([], "disable", "any", 30.0, clock=Clock())
    servers = Servers({})
    with pytest.raises(NoHost) as raised:
        listed.connect(servers.open_one, servers.judge)
    assert raised.value.__cause__ is None
    assert servers.tried == []


def test_connect_tries_hosts_in_the_order_of_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hosts, "random", Reversing)
    listed, _ = host_list("random")
    servers = Servers({DB1: OK, DB2: OK, DB3: Refuses(OSError("refused"))})
    assert listed.connect(servers.open_one, servers.judge)[1] == DB2
    assert servers.tried == [DB3, DB2]


def test_by_default_every_connect_failure_is_the_hosts() -> None:
    listed, clock = host_list()
    servers = Servers({DB1: Refuses(PermissionError("Access denied")), DB2: OK, DB3: OK})
    assert listed.connect(servers.open_one, servers.judge)[1] == DB2
    assert down_hosts(listed, clock) == {DB1}


# ----- connect_unpooled --------------------------------------------------------------


class DriverError(Exception):
    pass


@dataclass
class FakeDriver:
    """A driver module's connect calls, with hosts that refuse."""

    refusing: set[str] = field(default_factory=set)
    prepared: list[dict[str, Any]] = field(default_factory=list)
    connected: list[dict[str, Any]] = field(default_factory=list)

    def connect_params(self, params: dict[str, Any]) -> dict[str, Any]:
        self.prepared.append(params)
        return {**params, "prepared": True}

    def connect(self, arguments: dict[str, Any]) -> dict[str, Any]:
        if arguments["host"] in self.refusing:
            raise OSError(f"{arguments['host']} refused")
        self.connected.append(arguments)
        return arguments

    def operational_error(self, code: int, message: str) -> Exception:
        return DriverError(code, message)


# HOST, hosts that refuse, the host and port connect_params is given, the host
# and port connected to
UNPOOLED: list[tuple[str, set[str], Host, Host]] = [
    ("db1", set(), ("db1", 3310), ("db1", 3310)),
    ("/var/run/mysqld/mysqld.sock", set(), ("/var/run/mysqld/mysqld.sock", 3310),
     ("/var/run/mysqld/mysqld.sock", 3310)),
    ("db1,db2:3307", set(), ("db1", 3310), ("db1", 3310)),
    ("db1:3307,db2:3308", set(), ("db1", 3307), ("db1", 3307)),
    ("db1:3307,db2:3308", {"db1"}, ("db1", 3307), ("db2", 3308)),
]


@pytest.mark.parametrize(("host", "refusing", "prepared", "expected"), UNPOOLED)
def test_connect_unpooled(host: str, refusing: set[str], prepared: Host,
                          expected: Host) -> None:
    driver = FakeDriver(refusing)
    connection = connect_unpooled(driver, "default",
                                  {"host": host, "port": 3310, "user": "app"})
    # The driver prepares its arguments once, for one host (never for the
    # list in HOST); each host tried replaces only the host and the port.
    assert driver.prepared == [{"host": prepared[0], "port": prepared[1], "user": "app"}]
    assert driver.connected == [connection]
    assert connection == {"host": expected[0], "port": expected[1], "user": "app",
                          "prepared": True}


def test_connect_unpooled_names_the_aliases_host_setting_when_it_is_bad() -> None:
    with pytest.raises(ImproperlyConfigured) as raised:
        connect_unpooled(FakeDriver(), "replica", {"host": "db1,db2:x", "port": None})
    assert str(raised.value).startswith(
        "DATABASES['replica']['HOST'] = 'db1,db2:x': 'db2:x' is not a host.")


def test_connect_unpooled_with_no_host_answering_raises_the_drivers_error() -> None:
    driver = FakeDriver({"db1", "db2"})
    with pytest.raises(DriverError) as raised:
        connect_unpooled(driver, "replica", {"host": "db1,db2:3307", "port": None})
    code, message = raised.value.args
    assert code == 2003
    assert message == ("Database alias 'replica': no host of db1:3306, db2:3307 took a "
                       "connection (db1:3306: db1 refused; db2:3307: db2 refused)")
    cause = raised.value.__cause__
    assert isinstance(cause, OSError) and str(cause) == "db2 refused"

