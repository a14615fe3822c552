"""What a statement may leave behind on a pooled connection.

A pooled connection outlives the request that used it, so anything the request
left in the session would reach the next one. Most statements leave nothing;
for the others the connection is reset when it goes back to the pool. Knowing
this from the statement text costs no round trip.
"""

from __future__ import annotations

import re

#: Leaves nothing behind in autocommit mode.
CLEAN = 0
#: May leave a transaction open: ROLLBACK before reuse.
TRANSACTION = 1
#: May change the session (variables, current database, locks, temporary
#: tables, ...): reset or replace the connection before reuse.
SESSION = 2

_NEUTRAL = re.compile(
    r"\s*(?:/\*[^!].*?\*/\s*)*"  # leading comments, but not /*! executable ones
    r"(?:SELECT|INSERT|UPDATE|DELETE|REPLACE|WITH|VALUES|TABLE|SHOW|DESCRIBE|DESC"
    r"|EXPLAIN|ANALYZE|OPTIMIZE|CHECKSUM|SAVEPOINT|RELEASE\s+SAVEPOINT"
    r"|ROLLBACK\s+(?:WORK\s+)?TO|CREATE|ALTER|DROP|TRUNCATE|RENAME)\b",
    re.IGNORECASE | re.DOTALL,
)
_TRANSACTIONAL = re.compile(
    r"\s*(?:/\*[^!].*?\*/\s*)*(?:START\s+TRANSACTION|BEGIN|COMMIT|ROLLBACK|XA)\b",
    re.IGNORECASE | re.DOTALL,
)
# In an otherwise neutral statement: user variables (reading @@system ones is
# harmless), named locks, temporary tables, or a second statement.
_SIDE_EFFECTS = re.compile(r"(?<!@)@(?!@)|;|get_lock|temporary", re.IGNORECASE)


def classify(sql: object) -> int:
    """CLEAN, TRANSACTION or SESSION for one statement's text."""
    if isinstance(sql, bytes):
        sql = sql.decode(errors="replace")
    if not isinstance(sql, str):
        return SESSION
    if _NEUTRAL.match(sql):
        return SESSION if _SIDE_EFFECTS.search(sql) else CLEAN
    if _TRANSACTIONAL.match(sql):
        return SESSION if ";" in sql else TRANSACTION
    return SESSION
