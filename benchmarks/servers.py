"""The server the benchmark runs against, MySQL or MariaDB (a URL or a
throwaway mariadbd); the benchmark's database, table and account on it; and
the count of its connections while a phase runs. A PostgreSQL server, on
request, is benchmarks.postgres's (the same Server, and a sampler of its own)."""

from __future__ import annotations

import importlib
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

from benchmarks import cpus
from benchmarks.cases import (
    BENCH_DATABASE,
    BENCH_PASSWORD,
    BENCH_USER,
    DRIVER_MODULES,
    DRIVERS,
    ROWS,
    URL_VARIABLES,
)


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str
    password: str

    @classmethod
    def from_url(cls, url: str, option: str = "--url",
                 schemes: tuple[str, ...] = ("mysql", "mariadb"), port: int = 3306,
                 user: str = "root") -> Server:
        """The server of ``url`` (given as ``option``), with these defaults."""
        parts = urlparse(url)
        if parts.scheme not in schemes:
            raise SystemExit(f"{option} {url!r}: expected "
                             f"{schemes[0]}://user:password@host:port/")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or port,
            user=unquote(parts.username or user),
            password=unquote(parts.password or ""),
        )


def open_server(url: str | None, *, apart: bool = True) -> Server:
    """The server at ``url``; without one, a throwaway mariadbd for this run only
    (the test suite's, from the local binaries; stopped and removed at exit),
    on CPUs of its own and this process on another (``apart``, benchmarks.cpus)."""
    if url:
        return Server.from_url(url)
    from tests.server import ThrowawayServer

    throwaway = ThrowawayServer()
    throwaway.start()
    assert throwaway.process is not None  # started
    placed = cpus.keep_apart(throwaway.process.pid) if apart else None
    print(f"No --url, ${' or $'.join(URL_VARIABLES)}: started a throwaway mariadbd "
          f"on port {throwaway.port} ({cpus.describe(placed)})", flush=True)
    return Server("127.0.0.1", throwaway.port, "root", "")


def admin_connection(server: Server) -> Any:
    """A plain DB-API connection as the admin user, through any installed driver."""
    problems = []
    for name in DRIVERS:
        try:
            module = importlib.import_module(DRIVER_MODULES[name])
        except ImportError as exc:
            problems.append(f"{name}: {exc}")
            continue
        return module.connect(
            host=server.host, port=server.port, user=server.user,
            password=server.password, autocommit=True,
        )
    raise SystemExit("No MySQL driver is installed: " + "; ".join(problems))


def query(connection: Any, sql: str, params: Any = None) -> list[tuple]:
    cursor = connection.cursor()
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description else []
    finally:
        cursor.close()


def prepare_server(server: Server) -> str:
    """Create the benchmark's database, table, rows and user; return the server version."""
    connection = admin_connection(server)
    try:
        version = query(connection, "SELECT VERSION()")[0][0]
        query(connection, f"CREATE DATABASE IF NOT EXISTS `{BENCH_DATABASE}`")
        query(
            connection,
            f"CREATE TABLE IF NOT EXISTS `{BENCH_DATABASE}`.mysqlpool_bench_row ("
            " id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, quantity INT NOT NULL"
            ") ENGINE=InnoDB",
        )
        count = query(connection, f"SELECT COUNT(*) FROM `{BENCH_DATABASE}`.mysqlpool_bench_row")
        if count[0][0] != ROWS:
            query(connection, f"DELETE FROM `{BENCH_DATABASE}`.mysqlpool_bench_row")
            values = ", ".join(f"({i}, 'row {i}', {i % 97})" for i in range(1, ROWS + 1))
            query(
                connection,
                f"INSERT INTO `{BENCH_DATABASE}`.mysqlpool_bench_row (id, name, quantity) "
                f"VALUES {values}",
            )
        query(
            connection,
            f"CREATE USER IF NOT EXISTS '{BENCH_USER}'@'%' IDENTIFIED BY '{BENCH_PASSWORD}'",
        )
        query(connection, f"GRANT ALL PRIVILEGES ON `{BENCH_DATABASE}`.* TO '{BENCH_USER}'@'%'")
        return str(version)
    finally:
        connection.close()


def remove_user(server: Server) -> None:
    """Drop the benchmark's account: a fixed password must not outlive the run."""
    connection = admin_connection(server)
    try:
        query(connection, f"DROP USER IF EXISTS '{BENCH_USER}'@'%'")
    finally:
        connection.close()


class ConnectionSampler:
    """Counts the benchmark user's server connections while a phase runs."""

    def __init__(self, server: Server, interval: float = 0.01) -> None:
        self.server = server
        self.connection = self._connect()
        self.interval = interval
        self.peak: int | None = None
        self._active = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="connection-sampler", daemon=True)
        self._thread.start()

    def wait_until_idle(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while time.monotonic() < deadline:
                count = self._count()
                if count == 0:
                    return
                time.sleep(0.05)

    def begin(self) -> None:
        with self._lock:
            self.peak = self._count()
        self._active.set()

    def end(self) -> int | None:
        self._active.clear()
        with self._lock:
            count = self._count()
            if self.peak is not None and count is not None:
                self.peak = max(self.peak, count)
            return self.peak

    def close(self) -> None:
        self._stopped.set()
        self._active.set()
        self._thread.join()
        self.connection.close()

    def _connect(self) -> Any:
        return admin_connection(self.server)

    def _query_count(self) -> int:
        rows = query(self.connection,
                     "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = %s",
                     (BENCH_USER,))
        return int(rows[0][0])

    def _count(self) -> int | None:
        try:
            return self._query_count()
        except Exception as exc:  # noqa: BLE001 - reported, the benchmark goes on
            self.error = repr(exc)
            try:  # the server may have restarted: count again from the next sample
                self.connection.close()
            except Exception:  # noqa: BLE001
                pass
            try:
                self.connection = self._connect()
            except Exception:  # noqa: BLE001
                pass
            return None

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._active.wait()
            if self._stopped.is_set():
                return
            with self._lock:
                count = self._count()
                if count is not None and self._active.is_set():
                    self.peak = count if self.peak is None else max(self.peak, count)
            time.sleep(self.interval)

