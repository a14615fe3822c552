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
# harmless), named locks, temporary tables, or a second statement. Tested with
# plain substring checks first: one regex with all of these under IGNORECASE
# took ~10 us on a typical ORM query, more than the rest of a checkout.
_USER_VARIABLE = re.compile(r"(?<!@)@(?!@)")

# The ORM sends the same statement texts again and again (values travel as
# parameters): remember the answers, up to a bound.
_known: dict[str, int] = {}
_KNOWN_LIMIT = 4096
_KNOWN_LONGEST = 4096  # characters: bulk INSERTs are not worth keeping


def _side_effects(sql: str) -> bool:
    if ";" in sql or ("@" in sql and _USER_VARIABLE.search(sql)):
        return True
    lowered = sql.lower()
    return "get_lock" in lowered or "temporary" in lowered


def classify(sql: object) -> int:
    """CLEAN, TRANSACTION or SESSION for one statement's text."""
    if isinstance(sql, bytes):
        sql = sql.decode(errors="replace")
    if not isinstance(sql, str):
        return SESSION
    effect = _known.get(sql)
    if effect is None:
        if _NEUTRAL.match(sql):
            effect = SESSION if _side_effects(sql) else CLEAN
        elif _TRANSACTIONAL.match(sql):
            effect = SESSION if ";" in sql else TRANSACTION
        else:
            effect = SESSION
        if len(sql) <= _KNOWN_LONGEST:
            if len(_known) >= _KNOWN_LIMIT:
                _known.clear()
            _known[sql] = effect
    return effect
