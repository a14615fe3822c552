"""The pool arguments: mysqlpool's own, SQLAlchemy's, and the names of Django's
PostgreSQL pool (psycopg_pool), which mean the same here."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..redaction import shown

# mysqlpool's own arguments, taken out before the SQLAlchemy pool sees the rest.
OWN_DEFAULTS: dict[str, Any] = {
    # A connection idle for longer than this (seconds) is pinged at checkout;
    # one used more recently is only checked for a closed socket, which costs
    # no round trip. 0 pings on every checkout; None never pings.
    "ping_after_idle": 0.5,
    # The ping gives up after this long, even when the server stopped
    # answering without closing its socket.
    "ping_timeout": 5.0,
    # Log a warning, with the stack that checked it out, for a connection held
    # longer than this many seconds. None (the default) turns it off.
    "leak_warning_after": None,
    # Connections opened in the background and kept open.
    "min_size": 0,
    # Idle connections above min_size are closed after this many seconds.
    "max_idle": 600.0,
    # A connection's lifetime, each shortened by up to 10 % at random so that
    # connections opened together are not replaced together. An hour: long
    # enough to cost nothing, short enough that connections follow a failover
    # or a proxy's restart, and outlive no server or proxy timeout.
    "recycle": 3600.0,
    # Called for each new connection with the alias's settings; returns the
    # password (RDS IAM tokens, Vault). None: DATABASES' PASSWORD.
    "password_provider": None,
    # Several hosts in HOST (see pool/hosts.py), with libpq's names.
    "load_balance_hosts": "disable",
    "target_session_attrs": "any",
    # Seconds a host that failed to connect is skipped by new connections.
    "host_retry_after": 5.0,
    # Seconds a replica may lag behind its source and still be read from
    # (read-only, standby, prefer-standby targets). None: no bound.
    "max_replication_lag": None,
}

#: Names of Django's PostgreSQL pool, and mysqlpool's (SQLAlchemy's) names for the
#: same thing: one family or the other for each meaning, not both.
POSTGRES_NAMES: dict[str, tuple[str, ...]] = {
    "max_size": ("pool_size", "max_overflow"),
    "max_lifetime": ("recycle",),
}

#: Names people bring from create_engine(), older SQLAlchemy or other pools.
NOT_ARGUMENTS = {
    "use_threadlocal": "it was removed in SQLAlchemy 1.4; Django already keeps "
    "one connection per thread, so just remove it",
    "pool_recycle": "use 'recycle' (pool arguments drop create_engine's pool_ prefix)",
    "pool_timeout": "use 'timeout' (pool arguments drop create_engine's pool_ prefix)",
    "pool_pre_ping": "use 'pre_ping' (pool arguments drop create_engine's pool_ prefix)",
    "pool_use_lifo": "use 'use_lifo' (pool arguments drop create_engine's pool_ prefix)",
    "poolclass": "choose the class with MYSQLPOOL_BACKEND",
    "reset_on_return": "mysqlpool resets returned connections itself (a ROLLBACK "
    "only when a transaction may be open); remove it",
    "pool_reset_on_return": "mysqlpool resets returned connections itself; remove it",
    "creator": "mysqlpool opens connections from the DATABASES settings",
    "dialect": "mysqlpool sets the dialect of the chosen driver",
    "max_waiting": "mysqlpool serves waiting requests in arrival order until "
    "'timeout'; remove it",
}

#: What mysqlpool takes itself, whatever the pool class.
OWN_NAMES = set(OWN_DEFAULTS) | set(POSTGRES_NAMES)


def family_problems(source_name: str, source: Mapping[str, Any]) -> Iterator[str]:
    """Both names for one meaning given in one place."""
    for postgres, ours in POSTGRES_NAMES.items():
        mixed = [name for name in ours if name in source]
        if postgres in source and mixed:
            yield (
                f"{source_name} gives {postgres!r} = {shown(source[postgres])} (Django's "
                f"PostgreSQL pool's name) and {' and '.join(repr(n) for n in mixed)} "
                f"(SQLAlchemy's) for the same thing: keep one, either {postgres!r} or "
                f"{' and '.join(repr(n) for n in ours)}."
            )


def merged(sources: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The arguments of later sources over earlier ones. A later source that
    uses one family's name replaces what an earlier one gave in the other's
    (an alias's max_size overrides MYSQLPOOL_ARGUMENTS' pool_size)."""
    result: dict[str, Any] = {}
    for source in sources:
        for postgres, ours in POSTGRES_NAMES.items():
            if postgres in source:
                for name in ours:
                    result.pop(name, None)
            elif any(name in source for name in ours):
                result.pop(postgres, None)
        result.update(source)
    return result


def translated(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Django's PostgreSQL pool's names in mysqlpool's: ``max_size`` is the most
    connections per process, all of them kept until idle (``max_idle``)."""
    arguments = dict(arguments)
    if "max_size" in arguments:
        arguments["pool_size"] = arguments.pop("max_size")
        arguments["max_overflow"] = 0
    if "max_lifetime" in arguments:
        arguments["recycle"] = arguments.pop("max_lifetime")
    return arguments
