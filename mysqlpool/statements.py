"""What a statement may leave behind on a pooled connection, read from its text.

A pooled connection outlives the request that used it, so anything the request
left in the session would reach the next one. Most statements leave nothing;
for the others the connection is rolled back, reset or replaced when it goes
back to the pool. Knowing this from the statement text costs no round trip.

The rules (a wrong guess must cost a reset or a reconnect, never another
user's state, so whatever is not known to be harmless is SESSION):

- The first keyword (after whitespace, comments and opening parentheses) sets
  the class. SELECT, INSERT, UPDATE, DELETE, REPLACE, WITH, VALUES, TABLE,
  SHOW, DESCRIBE, DESC, EXPLAIN, ANALYZE, OPTIMIZE, CHECKSUM, TRUNCATE, RENAME,
  ALTER, CREATE, DROP, SAVEPOINT, RELEASE SAVEPOINT and ROLLBACK [WORK] TO are
  neutral: CLEAN unless something below is found. START TRANSACTION, BEGIN
  [WORK], COMMIT and ROLLBACK (with WORK, AND [NO] CHAIN, READ ONLY, ...) are
  TRANSACTION. Anything else is SESSION: SET (SET STATEMENT too), USE, LOCK,
  UNLOCK, HANDLER, PREPARE, EXECUTE, DEALLOCATE, CALL, DO, XA (a ROLLBACK fails
  in an XA state), BEGIN NOT ATOMIC, COMMIT/ROLLBACK RELEASE, DROP DATABASE,
  and every keyword not listed here.
- Anywhere, outside string literals, quoted identifiers and comments:
  a user variable (``@x``, not ``@@system``), an executable comment
  (``/*! */``, ``/*M! */``: the server runs it; ``/*m! */`` too, to be safe)
  and a second statement (a ``;`` followed by more than whitespace and
  comments) are SESSION; so is an
  unterminated quote or comment once the tokenizer reads the text (the server
  rejects such a statement, so the fast path's CLEAN for one is safe too).
- In a neutral statement: a call of GET_LOCK, NEXTVAL or SETVAL,
  LAST_INSERT_ID with an argument, NEXT VALUE FOR, ``.NEXTVAL`` (Oracle mode),
  and TEMPORARY in CREATE or DROP are SESSION. A call is a name (bare or
  quoted: the server accepts ```GET_LOCK`(...)``) followed by ``(``, with
  whitespace or comments allowed in between.
- Empty text (or only comments) runs nothing: CLEAN. Text that is not str,
  or bytes that are not ASCII (the connection's character set decides where
  their characters end), is SESSION.

String literals are read both with and without backslash escapes when one
contains a backslash (``NO_BACKSLASH_ESCAPES`` is a session setting this
module cannot see), and the more cautious answer is kept.

Not seen: what a stored function called from a SELECT does, and what a plain
INSERT leaves in ``LAST_INSERT_ID()`` (the id it generated).
"""

from __future__ import annotations

import re

#: Leaves nothing behind in autocommit mode.
CLEAN = 0
#: May leave a transaction open: ROLLBACK before reuse.
TRANSACTION = 1
#: May change the session (variables, current database, locks, temporary
#: tables, XA state, ...): reset or replace the connection before reuse.
SESSION = 2

# The server's identifier characters: any non-ASCII character is one, so a
# no-break space is part of a name, not a separator.
_IDENT = "A-Za-z0-9_$\u0080-\U0010ffff"

# ----- fast path ---------------------------------------------------------------
#
# An ORM statement starts with a neutral keyword and contains none of the
# characters or words that the rules below look for. Then no tokenizer is
# needed: however the text splits into tokens, without ";", "@", "!" (every
# executable comment has one) and these words it holds no second statement,
# user variable, executable comment or session-changing call. CREATE, DROP,
# ROLLBACK and RELEASE depend on later words and always take the tokenizer.
# Plain substring checks: a regex for the words took twice as long.
_FAST_NEUTRAL = re.compile(
    r"[ \t\n\r\f\v(]*(?:SELECT|INSERT|UPDATE|DELETE|REPLACE|WITH|VALUES|TABLE|SHOW"
    r"|DESCRIBE|DESC|EXPLAIN|ANALYZE|OPTIMIZE|CHECKSUM|SAVEPOINT|TRUNCATE|RENAME|ALTER)"
    rf"(?![{_IDENT}])",
    re.IGNORECASE | re.ASCII,  # ASCII: the server reads no "\u017f" as an S
)
# Most ORM statements start so: a set lookup is cheaper than the regex.
_FAST_HEADS = frozenset({"SELECT ", "INSERT ", "UPDATE ", "DELETE "})

# ----- tokenizer ---------------------------------------------------------------

_HEAD = (
    r"(?P<space>[ \t\n\r\f\v]+)"
    r"|(?P<exec>/\*[Mm]?!)"
    # "--" starts a comment only before a space, a control character or the end.
    r"|(?P<comment>/\*.*?\*/|#[^\n]*|--(?![^\x00-\x20\x7f])[^\n]*)"
)
# Terminated literals only: an opening quote left over is "open" below.
_ESCAPED_STRINGS = (
    r"|(?P<string>'[^'\\]*(?:(?:\\.|'')[^'\\]*)*'"
    r'|"[^"\\]*(?:(?:\\.|"")[^"\\]*)*")'
)
_PLAIN_STRINGS = r"|(?P<string>'[^']*(?:''[^']*)*'" r'|"[^"]*(?:""[^"]*)*")'
_TAIL = (
    r"|(?P<quoted>`[^`]*(?:``[^`]*)*`)"
    r"|(?P<open>['\"`]|/\*)"
    rf"|(?P<word>[{_IDENT}]+)"
    r"|(?P<system>@@)"
    r"|(?P<other>.)"
)
_ESCAPED = re.compile(_HEAD + _ESCAPED_STRINGS + _TAIL, re.DOTALL)
_UNESCAPED = re.compile(_HEAD + _PLAIN_STRINGS + _TAIL, re.DOTALL)

_WORD, _NAME, _STRING, _PUNCT = "word", "name", "string", "punct"
_OPEN_PAREN = (_PUNCT, "(")
_CLOSE_PAREN = (_PUNCT, ")")

_NEUTRAL = frozenset({
    "select", "insert", "update", "delete", "replace", "with", "values", "table",
    "show", "describe", "desc", "explain", "analyze", "optimize", "checksum",
    "savepoint", "truncate", "rename", "alter", "create", "drop",
})
# What may follow START TRANSACTION, BEGIN, COMMIT and ROLLBACK without making
# them more than a transaction boundary. RELEASE (which ends the connection)
# and NOT (BEGIN NOT ATOMIC, a compound statement) are not among them.
_TRANSACTION_WORDS = frozenset({
    "work", "and", "no", "chain", "transaction", "read", "only", "write", "with",
    "consistent", "snapshot", ",",
})
_CALLS = frozenset({"get_lock", "nextval", "setval"})


class _Session(Exception):
    """Raised by the tokenizer as soon as the answer is SESSION."""


def _tokens(sql: str, pattern: re.Pattern[str]) -> tuple[list[tuple[str, str]], bool]:
    """The significant tokens of ``sql`` (lowered words, quoted names, strings
    without their text, punctuation), and whether a string held a backslash."""
    tokens: list[tuple[str, str]] = []
    backslash = False
    for match in pattern.finditer(sql):
        kind = match.lastgroup
        if kind == "space" or kind == "comment" or kind == "system":
            continue
        text = match.group()
        if kind == "word":
            tokens.append((_WORD, text.lower()))
        elif kind == "other":
            if text == "@":
                raise _Session  # a user variable
            tokens.append((_PUNCT, text))
        elif kind == "string":
            if "\\" in text:
                backslash = True
            if text[0] == '"':  # an identifier under ANSI_QUOTES
                tokens.append((_NAME, text[1:-1].replace('""', '"').lower()))
            else:
                tokens.append((_STRING, ""))
        elif kind == "quoted":
            tokens.append((_NAME, text[1:-1].replace("``", "`").lower()))
        else:  # exec, open: the server runs it, or we can't tell where it ends
            raise _Session
    return tokens, backslash


def _judge(tokens: list[tuple[str, str]]) -> int:
    for index, token in enumerate(tokens):
        if token == (_PUNCT, ";"):
            if index + 1 < len(tokens):
                return SESSION  # a second statement
            del tokens[index:]
            break
    start = 0
    while start < len(tokens) and tokens[start] == _OPEN_PAREN:
        start += 1
    if not tokens:
        return CLEAN  # nothing runs
    if start == len(tokens) or tokens[start][0] != _WORD:
        return SESSION
    first = tokens[start][1]
    rest = tokens[start + 1:]
    words = [value for kind, value in rest if kind in (_WORD, _PUNCT)]
    if first in ("begin", "commit") or (first == "start" and words[:1] == ["transaction"]):
        return _transaction(rest, words)
    if first == "rollback":
        if words[:1] == ["to"] or words[:2] == ["work", "to"]:
            return _neutral(first, rest)
        return _transaction(rest, words)
    if first == "release":
        return _neutral(first, rest) if words[:1] == ["savepoint"] else SESSION
    if first in _NEUTRAL:
        return _neutral(first, rest)
    return SESSION


def _transaction(rest: list[tuple[str, str]], words: list[str]) -> int:
    if len(words) == len(rest) and all(word in _TRANSACTION_WORDS for word in words):
        return TRANSACTION
    return SESSION


def _neutral(first: str, rest: list[tuple[str, str]]) -> int:
    if first == "drop" and rest[:1] in ([(_WORD, "database")], [(_WORD, "schema")]):
        return SESSION  # dropping the current database leaves the session without one
    if first in ("create", "drop") and (_WORD, "temporary") in rest:
        return SESSION
    last = len(rest) - 1
    for index, (kind, value) in enumerate(rest):
        if kind != _WORD and kind != _NAME:
            continue
        if index < last and rest[index + 1] == _OPEN_PAREN:
            if value in _CALLS:
                return SESSION
            if value == "last_insert_id" and rest[index + 2:index + 3] != [_CLOSE_PAREN]:
                return SESSION  # with an argument it sets the session's value
        if value == "nextval" and index and rest[index - 1] == (_PUNCT, "."):
            return SESSION  # seq.NEXTVAL, Oracle mode
        if (kind == _WORD and value == "next"
                and rest[index + 1:index + 3] == [(_WORD, "value"), (_WORD, "for")]):
            return SESSION
    return CLEAN


def _scan(sql: str) -> int:
    """The class of ``sql`` from its tokens (the slow path)."""
    try:
        tokens, backslash = _tokens(sql, _ESCAPED)
        effect = _judge(tokens)
        if backslash and effect != SESSION:
            # With NO_BACKSLASH_ESCAPES a backslash ends no escape, and the
            # string may end earlier: read it that way too, keep the worse.
            effect = max(effect, _judge(_tokens(sql, _UNESCAPED)[0]))
    except _Session:
        return SESSION
    return effect


def _classify(sql: str) -> int:
    head = sql[:7]
    if (((head.upper() in _FAST_HEADS and head.isascii())
            or _FAST_NEUTRAL.match(sql) is not None)
            and ";" not in sql and "@" not in sql and "!" not in sql):
        lowered = sql.lower()  # "next" covers NEXTVAL and NEXT VALUE FOR
        if not ("get_lock" in lowered or "last_insert_id" in lowered
                or "next" in lowered or "setval" in lowered):
            return CLEAN
    return _scan(sql)


# The ORM sends the same statement texts again and again (values travel as
# parameters): remember the answers, up to a bound.
_known: dict[str, int] = {}
_KNOWN_LIMIT = 4096
_KNOWN_LONGEST = 4096  # characters: bulk INSERTs are not worth keeping

#: classify()'s answer for a text (a str) it has classified before, or None:
#: a lookup without a call, for the caller that runs once per statement.
known_effect = _known.get


def classify(sql: object) -> int:
    """CLEAN, TRANSACTION or SESSION for one statement's text (str or bytes)."""
    if isinstance(sql, bytes):
        if not sql.isascii():
            return SESSION
        sql = sql.decode("ascii")
    elif not isinstance(sql, str):
        return SESSION
    effect = _known.get(sql)
    if effect is None:
        effect = _classify(sql)
        if len(sql) <= _KNOWN_LONGEST:
            if len(_known) >= _KNOWN_LIMIT:
                _known.clear()
            _known[sql] = effect
    return effect
