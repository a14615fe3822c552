"""What each statement text may leave behind on a pooled connection
(mysqlpool.statements), without a server: one table, one expected class each."""

from __future__ import annotations

import pytest

from mysqlpool import statements
from mysqlpool.statements import CLEAN, SESSION, TRANSACTION, classify

# ORM texts as Django's MySQL backend writes them (see benchmarks/classify.py).
ORM_GET = (
    "SELECT `app_item`.`id`, `app_item`.`name`, `app_item`.`quantity`, "
    "`app_item`.`created`, `app_item`.`at` FROM `app_item` WHERE `app_item`.`id` = %s LIMIT 21"
)
ORM_FLAG = (
    "SELECT `app_flag`.`id`, `app_flag`.`name`, `app_flag`.`is_temporary`, "
    "`app_flag`.`get_lock_count`, `app_flag`.`next_value` FROM `app_flag` "
    "WHERE (`app_flag`.`get_lock_count` > %s AND `app_flag`.`is_temporary`)"
)
ORM_CONTAINS_F = (
    "SELECT `app_item`.`id` FROM `app_item` WHERE `app_item`.`name` LIKE BINARY "
    r"CONCAT('%%', REPLACE(REPLACE(REPLACE(`app_item`.`name`, '\\', '\\\\'), '%%', '\%%'),"
    r" '_', '\_'), '%%')"
)

TABLE: list[tuple[object, int]] = [
    # --- neutral statements that leave nothing --------------------------------
    ("SELECT 1", CLEAN),
    ("select 1", CLEAN),
    (ORM_GET, CLEAN),
    (ORM_FLAG, CLEAN),
    (ORM_CONTAINS_F, CLEAN),
    ("SELECT `app_item`.`id` FROM `app_item` WHERE `app_item`.`id` IN (%s, %s, %s)", CLEAN),
    ("SELECT `app_note`.`id`, `app_item`.`id` FROM `app_note` INNER JOIN `app_item` "
     "ON (`app_note`.`item_id` = `app_item`.`id`) WHERE `app_item`.`name` = %s", CLEAN),
    ("INSERT INTO `app_flag` (`name`, `is_temporary`, `get_lock_count`) VALUES (%s, %s, %s) "
     "RETURNING `app_flag`.`id`", CLEAN),
    ("UPDATE `app_flag` SET `get_lock_count` = (`app_flag`.`get_lock_count` + %s) "
     "WHERE `app_flag`.`id` = %s", CLEAN),
    ("DELETE FROM `app_item` WHERE `app_item`.`id` IN (%s, %s, %s)", CLEAN),
    ("REPLACE INTO t (a) VALUES (1)", CLEAN),
    ("(SELECT `a` FROM t) UNION (SELECT `a` FROM u)", CLEAN),
    ("WITH c AS (SELECT 1) SELECT * FROM c", CLEAN),
    ("VALUES (1), (2)", CLEAN),
    ("TABLE t", CLEAN),
    ("SELECT * FROM t WHERE id = 1 FOR UPDATE", CLEAN),
    ("SELECT\t`a`\nFROM t", CLEAN),
    ("SHOW TABLES", CLEAN),
    ("SHOW FULL COLUMNS FROM `app_item`", CLEAN),
    ("EXPLAIN SELECT 1", CLEAN),
    ("DESCRIBE t", CLEAN),
    ("ANALYZE TABLE t", CLEAN),
    ("TRUNCATE TABLE `app_item`", CLEAN),
    ("RENAME TABLE a TO b", CLEAN),
    ("CREATE TABLE `app_x` (`id` bigint, `is_temporary` bool, `temporary` int)", CLEAN),
    ("CREATE INDEX i ON t (a)", CLEAN),
    ("CREATE DATABASE x", CLEAN),
    ("ALTER TABLE t ADD COLUMN `get_lock_count` int", CLEAN),
    ("DROP TABLE `app_x`", CLEAN),
    ("SAVEPOINT `s1`", CLEAN),
    ("RELEASE SAVEPOINT `s1`", CLEAN),
    ("ROLLBACK TO SAVEPOINT `s1`", CLEAN),
    ("ROLLBACK WORK TO s1", CLEAN),
    # markers inside strings, identifiers and comments don't count
    ("SELECT 'a;b'", CLEAN),
    ("SELECT 'user@example.com'", CLEAN),
    ("SELECT 'temporary', 'get_lock(1)', 'NEXT VALUE FOR s', 'LAST_INSERT_ID(1)'", CLEAN),
    ("SELECT `temporary`, `@x`, `a;b` FROM t", CLEAN),
    ("SELECT `get_lock` FROM t", CLEAN),
    ("SELECT get_lock, get_lock_count, is_temporary FROM t", CLEAN),
    ("SELECT `a``;@` FROM t", CLEAN),
    ("SELECT 'it''s; @x'", CLEAN),
    ('SELECT "a"";@x"', CLEAN),
    ("SELECT 'a\\\\b'", CLEAN),
    ("SELECT x'4142', _utf8mb4'@', N'@x'", CLEAN),
    ("SELECT /* ; @x GET_LOCK( */ 1", CLEAN),
    ("SELECT 1 -- ; SET @x = 1", CLEAN),
    ("SELECT 1 # ; SET @x = 1", CLEAN),
    ("SELECT 1--1", CLEAN),
    ("SELECT /*+ MAX_EXECUTION_TIME(1000) */ 1", CLEAN),
    ("SELECT `next`, next_value FROM t", CLEAN),
    # system variables are read, not changed
    ("SELECT @@session.sql_mode", CLEAN),
    ("SELECT @@version, @@GLOBAL.max_connections, @@SESSION . tx_isolation", CLEAN),
    # reading these session values changes nothing
    ("SELECT LAST_INSERT_ID()", CLEAN),
    ("SELECT LAST_INSERT_ID( /* none */ )", CLEAN),
    ("SELECT LASTVAL(s), PREVIOUS VALUE FOR s", CLEAN),
    # comments first, trailing semicolons, nothing at all
    ("/* leading */ SELECT 1", CLEAN),
    ("-- leading\nSELECT 1", CLEAN),
    ("# leading\nSELECT 1", CLEAN),
    ("SELECT 1;", CLEAN),
    ("SELECT 1;  \n", CLEAN),
    ("SELECT 1; -- done", CLEAN),
    ("SELECT 1; /* done */", CLEAN),
    ("SELECT 1; # done", CLEAN),
    ("", CLEAN),
    ("   \n\t", CLEAN),
    ("/* only a comment */", CLEAN),
    ("-- only a comment", CLEAN),
    (";", CLEAN),
    (b"SELECT 1", CLEAN),
    (b"SELECT `is_temporary` FROM t", CLEAN),
    # --- transaction boundaries ------------------------------------------------
    ("START TRANSACTION", TRANSACTION),
    ("start transaction read only", TRANSACTION),
    ("START TRANSACTION WITH CONSISTENT SNAPSHOT", TRANSACTION),
    ("BEGIN", TRANSACTION),
    ("BEGIN WORK", TRANSACTION),
    ("/* c */ BEGIN;", TRANSACTION),
    ("COMMIT", TRANSACTION),
    ("COMMIT WORK AND CHAIN", TRANSACTION),
    ("ROLLBACK", TRANSACTION),
    ("ROLLBACK AND NO CHAIN", TRANSACTION),
    # --- the session changes ---------------------------------------------------
    ("/**/SET SESSION sql_mode=(/* */SELECT 'ANSI_QUOTES')", SESSION),
    ("SET autocommit=1", SESSION),
    ("SET NAMES utf8mb4", SESSION),
    ("SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE", SESSION),
    ("SET STATEMENT max_statement_time=1 FOR SELECT 1", SESSION),
    ("set @x = 1", SESSION),
    # user variables
    ("SELECT @x", SESSION),
    ("SELECT @x := 1", SESSION),
    ("SELECT 1 INTO @x", SESSION),
    ("SELECT `id` FROM t LIMIT 1 INTO @x", SESSION),
    ("SELECT @`x`, @'y'", SESSION),
    ("SELECT @@version, @y", SESSION),
    ("SELECT @@@x", SESSION),
    ("UPDATE t SET a = (@n := @n + 1)", SESSION),
    # session-changing functions
    ("SELECT GET_LOCK('a', 0)", SESSION),
    ("SELECT get_lock ('a', 0)", SESSION),
    ("SELECT `get_lock`('a', 0)", SESSION),
    ("SELECT GET_LOCK /* c */ ('a', 0)", SESSION),
    ("SELECT `is_temporary`, GET_LOCK('a', 0) FROM t", SESSION),
    ("SELECT LAST_INSERT_ID(42)", SESSION),
    ("SELECT LAST_INSERT_ID(%s)", SESSION),
    ("UPDATE t SET id = LAST_INSERT_ID(id + 1)", SESSION),
    ("INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)", SESSION),
    # MariaDB sequences
    ("SELECT NEXTVAL(s)", SESSION),
    ("SELECT nextval(`s`)", SESSION),
    ("SELECT NEXT VALUE FOR s", SESSION),
    ("SELECT next /* c */ value\nfor s", SESSION),
    ("INSERT INTO t (id) VALUES (NEXT VALUE FOR s)", SESSION),
    ("SELECT SETVAL(s, 100)", SESSION),
    ("SELECT s.nextval", SESSION),
    # temporary tables and the current database
    ("CREATE TEMPORARY TABLE t (a int)", SESSION),
    ("CREATE OR REPLACE TEMPORARY TABLE t (a int)", SESSION),
    ("create /* x */ temporary table t (a int)", SESSION),
    ("DROP TEMPORARY TABLE IF EXISTS t", SESSION),
    ("DROP DATABASE test", SESSION),
    ("DROP SCHEMA IF EXISTS x", SESSION),
    # XA: a ROLLBACK fails in an XA state; reset or replace the connection
    ("XA START 'x'", SESSION),
    ("XA BEGIN 'x'", SESSION),
    ("/* c */ xa start 'x'", SESSION),
    ("XA END 'x'", SESSION),
    ("XA PREPARE 'x'", SESSION),
    ("XA COMMIT 'x' ONE PHASE", SESSION),
    ("XA ROLLBACK 'x'", SESSION),
    ("XA RECOVER", SESSION),
    # more than a transaction boundary
    ("BEGIN NOT ATOMIC SELECT 1; END", SESSION),
    ("COMMIT RELEASE", SESSION),
    ("ROLLBACK NO RELEASE", SESSION),
    ("START SLAVE", SESSION),
    # a second statement
    ("SELECT 1; SELECT 2", SESSION),
    ("SELECT 1;;", SESSION),
    ("BEGIN; SET @x = 1", SESSION),
    ("SELECT 'a;b'; DELETE FROM t", SESSION),
    # executable comments: the server runs them
    ("SELECT 1 /*! , @x := 1 */", SESSION),
    ("SELECT 1; /*! SET @x = 1 */", SESSION),
    ("/*!40101 SET NAMES utf8 */", SESSION),
    ("/*! SELECT 1 */", SESSION),
    ("SELECT 1 /*M!100100 , 2 */", SESSION),
    ("SELECT 1 /*m!100100 , 2 */", SESSION),  # a plain comment to the server; cautious
    # statements that may change anything
    ("USE test", SESSION),
    ("LOCK TABLES t WRITE", SESSION),
    ("UNLOCK TABLES", SESSION),
    ("HANDLER t OPEN", SESSION),
    ("PREPARE s FROM 'SELECT 1'", SESSION),
    ("EXECUTE s", SESSION),
    ("DEALLOCATE PREPARE s", SESSION),
    ("CALL p()", SESSION),
    ("DO GET_LOCK('a', 0)", SESSION),
    ("DO 1", SESSION),
    ("FLUSH TABLES", SESSION),
    ("GRANT SELECT ON *.* TO 'u'@'%'", SESSION),
    ("FROBNICATE 1", SESSION),
    ("{CALL p()}", SESSION),
    ("\u00a0SELECT 1", SESSION),  # a no-break space is part of a name to the server
    # a quote or comment marker must not hide what follows it
    ("SELECT 'a\\'b;@x'", SESSION),  # with NO_BACKSLASH_ESCAPES: 'a\' then b;@x'
    ("SELECT 1 -- it's\n; SET @x = 1", SESSION),
    ("SELECT 1 #'\n, @x", SESSION),
    ("SELECT '--', @x", SESSION),
    ("SELECT '/*', @x, '*/'", SESSION),
    ("SELECT \"it's\", @x", SESSION),
    ("SELECT `it's`, @x", SESSION),
    ("SELECT 1 --x\n, @x", SESSION),
    ("SELECT 'unterminated @x", SESSION),
    ("SELECT 1 /* unterminated @x", SESSION),
    # not text the classifier can read
    (None, SESSION),
    (42, SESSION),
    (bytearray(b"SELECT 1"), SESSION),
    (b"SELECT '\xe9'", SESSION),  # where characters end depends on the connection
    (b"SELECT GET_LOCK('a', 0)", SESSION),
]

# Malformed texts the server rejects, so no answer is unsafe: the fast path
# says CLEAN without tokenizing, the tokenizer alone says SESSION.
MALFORMED = {"SELECT 'abc", "SELECT `abc"}


def _id(value: object) -> str:
    return repr(value)[:60]


@pytest.mark.parametrize(("sql", "expected"), TABLE, ids=[_id(sql) for sql, _ in TABLE])
def test_classify(sql: object, expected: int) -> None:
    statements._known.clear()
    assert classify(sql) == expected
    if isinstance(sql, str):
        assert classify(sql) == expected  # from the cache


@pytest.mark.parametrize(
    ("sql", "expected"),
    [(sql, expected) for sql, expected in TABLE if type(sql) is str],
    ids=[_id(sql) for sql, _ in TABLE if type(sql) is str],
)
def test_known_effect_is_classify_once_it_has_answered(sql: str, expected: int) -> None:
    # What a cursor asks first, for each statement, before calling classify().
    statements._known.clear()
    assert statements.known_effect(sql) is None
    classify(sql)
    if len(sql) <= statements._KNOWN_LONGEST:
        assert statements.known_effect(sql) == expected
    statements._known.clear()  # the same dict: the lookup follows it
    assert statements.known_effect(sql) is None


@pytest.mark.parametrize(
    ("sql", "expected"),
    [(sql, expected) for sql, expected in TABLE if isinstance(sql, str)],
    ids=[_id(sql) for sql, _ in TABLE if isinstance(sql, str)],
)
def test_the_tokenizer_alone_agrees(sql: str, expected: int) -> None:
    # The fast path must only ever skip work, never change an answer.
    assert statements._scan(sql) == expected


@pytest.mark.parametrize("sql", sorted(MALFORMED))
def test_malformed_text_has_an_answer(sql: str) -> None:
    assert classify(sql) == CLEAN
    assert statements._scan(sql) == SESSION


# statement, whether classify reads it with the tokenizer: most ORM statements
# must not need it (the fast path only ever skips work, see above)
FAST_PATH: list[tuple[str, bool]] = [
    (ORM_GET, False),
    (ORM_CONTAINS_F, False),
    ("INSERT INTO `app_item` (`name`) VALUES (%s)", False),
    ("UPDATE `app_item` SET `name` = %s WHERE `app_item`.`id` = %s", False),
    ("DELETE FROM `app_item` WHERE `app_item`.`id` = %s", False),
    ("select 1", False),
    ("(SELECT 1) UNION (SELECT 2)", False),
    ("SHOW FULL COLUMNS FROM `app_item`", False),
    ("TRUNCATE TABLE `app_item`", False),
    # a word or character one of the rules looks for
    (ORM_FLAG, True),  # get_lock_count, next_value
    ("SELECT 1;", True),
    ("SELECT '@'", True),
    ("SELECT 1 /*! 2 */", True),
    ("SELECT LAST_INSERT_ID()", True),
    ("SELECT SETVAL(s, 1)", True),
    # a first keyword whose class depends on the words after it
    ("CREATE TABLE t (a int)", True),
    ("DROP TABLE t", True),
    ("ROLLBACK TO s1", True),
    ("RELEASE SAVEPOINT s1", True),
    ("BEGIN", True),
    ("\u017fELECT 1", True),  # not SELECT to the server
]


@pytest.mark.parametrize(("sql", "tokenized"), FAST_PATH, ids=[_id(sql) for sql, _ in FAST_PATH])
def test_which_statements_take_the_tokenizer(sql: str, tokenized: bool,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    statements._known.clear()
    scanned: list[str] = []
    scan = statements._scan

    def recording_scan(text: str) -> int:
        scanned.append(text)
        return scan(text)

    monkeypatch.setattr(statements, "_scan", recording_scan)
    classify(sql)
    assert scanned == ([sql] if tokenized else [])


def test_the_cache_is_bounded() -> None:
    statements._known.clear()
    for number in range(statements._KNOWN_LIMIT + 10):
        classify(f"SELECT {number}")
    assert 0 < len(statements._known) <= statements._KNOWN_LIMIT
    long_text = "SELECT " + ", ".join(["1"] * statements._KNOWN_LONGEST)
    assert classify(long_text) == CLEAN
    assert long_text not in statements._known
