"""What the pool knows of one physical connection, for as long as it is open.

One object per connection, kept in its SQLAlchemy record's ``info`` under one
key (the record lives exactly as long as the connection; SQLAlchemy clears
``info`` when the connection is replaced), with typed fields rather than
string keys.
"""

from __future__ import annotations

import math
from typing import Any

#: The key of the Slot in a connection record's info dict.
KEY = "mysqlpool"


class Slot:
    """One physical connection's lifetime, use and session state."""

    __slots__ = ("opened_at", "expires", "host", "last_used", "session_state", "poller",
                 "released", "expected", "failure")

    def __init__(self, opened_at: float, expires: float = math.inf,
                 host: str | None = None) -> None:
        #: When it was opened (time.time(), as SQLAlchemy's record.starttime):
        #: compared with the pool's failover time.
        self.opened_at = opened_at
        #: When (time.monotonic()) it must be replaced; inf: never.
        self.expires = expires
        #: The host it went to, with several in HOST (or a replica target).
        self.host = host
        #: When it was last returned (time.monotonic()); None: never used yet.
        self.last_used: float | None = None
        #: The session statements (isolation level, ...) it was set up with.
        self.session_state: tuple[str, ...] | None = None
        #: ((socket token, fd), poll object or None), cached per socket.
        self.poller: tuple[Any, Any] | None = None
        #: Its return was handled by mysqlpool (else the garbage collector
        #: or a dying thread dropped it); reset at each checkout.
        self.released = False
        #: Why it is being closed, when that is normal operation.
        self.expected: str | None = None
        #: What went wrong, when there is no exception to tell.
        self.failure: str | None = None


def slot_of(record: Any) -> Slot:
    """The Slot of a SQLAlchemy connection record (made when it connected)."""
    return record.info[KEY]
