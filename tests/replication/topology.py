"""A MariaDB primary and two replicas on loopback, started by the tests in
throwaway directories: GTID replication, semi-synchronous
(``rpl_semi_sync_master_wait_point = AFTER_SYNC``: a commit is acknowledged
to the client only once a replica has the transaction), replicas read-only.
What an operator would do to it: delay a replica, kill the primary, promote
the most advanced replica once it applied its relay log, repoint the other.
"""

from __future__ import annotations

import contextlib
import signal
import time
from typing import Any

from tests.server import ThrowawayServer
from tests.support.admin import AdminQueries, admin_queries
from tests.support.waiting import wait_for
from tests.users import User

DATABASE = "replication"
#: The application's user: its database, and SLAVE MONITOR to read the lag.
APP = User("replica_app", "replica-App-Secret-51c3")
REPLICATION = User("replicator", "replicator-Secret-93fd")

_COMMON = (
    "--log-bin=mysql-bin", "--log-slave-updates", "--binlog-format=ROW",
    # The source side is switched on once the replicas are connected (see
    # Topology.start): a primary alone would hold each commit for the timeout.
    "--rpl-semi-sync-slave-enabled=ON",
    "--rpl-semi-sync-master-wait-point=AFTER_SYNC",
    # Long enough never to fall back to asynchronous replication under a
    # loaded CI machine (which would let an acknowledged write be lost).
    "--rpl-semi-sync-master-timeout=30000",
    "--relay-log=relay-bin",
)


class Server:
    """One node: its throwaway mariadbd and an admin account on it."""

    def __init__(self, name: str, server_id: int, replica: bool) -> None:
        self.name = name
        args = (*_COMMON, f"--server-id={server_id}")
        if replica:
            args += ("--read-only",)  # also after a restart
        self.server = ThrowawayServer(extra_args=args)
        self.admin: AdminQueries = admin_queries(self.server.address, per_query=True,
                                                 use_database=False)

    @property
    def port(self) -> int:
        return self.server.port

    def query(self, sql: str, params: Any = None) -> list[tuple]:
        return self.admin.query(sql, params)

    def status(self) -> dict[str, Any]:
        """SHOW SLAVE STATUS as a dict (empty for a server that replicates from none)."""
        from tests.users import admin_connection

        connection = admin_connection(self.server.address, use_database=False,
                                      autocommit=True)
        try:
            cursor = connection.cursor()
            cursor.execute("SHOW SLAVE STATUS")
            row = cursor.fetchone()
            names = [column[0] for column in cursor.description or ()]
        finally:
            connection.close()
        return dict(zip(names, row, strict=True)) if row else {}

    def kill(self) -> None:
        """SIGKILL, as a crash: nothing is flushed or said to the replicas."""
        process, self.server.process = self.server.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(30)


class Topology:
    """``primary``, ``replica1``, ``replica2``; ``servers`` in that order."""

    def __init__(self) -> None:
        self.primary = Server("primary", 1, replica=False)
        self.replica1 = Server("replica1", 2, replica=True)
        self.replica2 = Server("replica2", 3, replica=True)
        self.servers = [self.primary, self.replica1, self.replica2]

    def start(self) -> None:
        for server in self.servers:
            server.server.start()
        primary = self.primary
        primary.query(f"CREATE USER '{REPLICATION.user}'@'%%' IDENTIFIED BY %s",
                      (REPLICATION.password,))
        primary.query(f"GRANT REPLICATION SLAVE ON *.* TO '{REPLICATION.user}'@'%%'", ())
        primary.query(f"CREATE DATABASE {DATABASE}")
        primary.query(f"CREATE USER '{APP.user}'@'%%' IDENTIFIED BY %s", (APP.password,))
        primary.query(f"GRANT ALL PRIVILEGES ON {DATABASE}.* TO '{APP.user}'@'%%'", ())
        primary.query(f"GRANT SLAVE MONITOR ON *.* TO '{APP.user}'@'%%'", ())
        primary.query(
            f"CREATE TABLE {DATABASE}.app_item ("
            " id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL,"
            " quantity INT NOT NULL, created DATETIME(6) NOT NULL, at TIME(6) NULL"
            ") ENGINE=InnoDB")
        for replica in (self.replica1, self.replica2):
            self.replicate(replica, self.primary)
        self.wait_caught_up()
        self.semi_synchronous(self.primary)

    def semi_synchronous(self, source: Server) -> None:
        """``source`` acknowledges a commit once a replica has it (AFTER_SYNC)."""
        source.query("SET GLOBAL rpl_semi_sync_master_enabled = ON")

    def replicate(self, replica: Server, source: Server, delay: int = 0) -> None:
        """Make ``replica`` replicate from ``source`` (GTID, from where it is)."""
        with contextlib.suppress(Exception):
            replica.query("STOP SLAVE")
        replica.query(
            "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = %s, "
            "MASTER_USER = %s, MASTER_PASSWORD = %s, MASTER_USE_GTID = slave_pos, "
            "MASTER_CONNECT_RETRY = 1, MASTER_DELAY = %s",
            (source.port, REPLICATION.user, REPLICATION.password, delay))
        replica.query("START SLAVE")

    def delay(self, replica: Server, seconds: int) -> None:
        """Apply what ``replica`` receives ``seconds`` late (MASTER_DELAY)."""
        replica.query("STOP SLAVE")
        replica.query("CHANGE MASTER TO MASTER_DELAY = %s", (seconds,))
        replica.query("START SLAVE")

    def lag(self, replica: Server) -> int | None:
        value = replica.status().get("Seconds_Behind_Master")
        return None if value is None else int(value)

    def wait_caught_up(self, timeout: float = 60) -> None:
        """Every running replica has applied everything the primary has."""
        position = self.primary.query("SELECT @@gtid_binlog_pos")[0][0]
        for replica in (self.replica1, self.replica2):
            if replica.server.process is None:
                continue
            done = replica.query("SELECT MASTER_GTID_WAIT(%s, %s)", (position, timeout))
            assert done[0][0] == 0, f"{replica.name} did not reach {position}"

    def most_advanced(self, replicas: list[Server]) -> Server:
        """The replica that received the most of the dead primary's binlog
        (Gtid_IO_Pos: one domain, one server, so the sequence number tells)."""
        def received(replica: Server) -> int:
            position = replica.status().get("Gtid_IO_Pos") or "0-0-0"
            return max(int(part.split("-")[-1]) for part in position.split(","))

        return max(replicas, key=received)

    def promote(self, replica: Server, timeout: float = 30) -> float:
        """What an operator does once the primary is gone: wait until
        ``replica`` applied all it received, stop replicating, take writes.
        Returns when (time.monotonic()) it took writes."""
        def applied_all() -> bool:
            status = replica.status()
            received = status.get("Gtid_IO_Pos") or ""
            return received == replica.query("SELECT @@gtid_slave_pos")[0][0]

        wait_for(applied_all, timeout, f"{replica.name} did not apply its relay log")
        replica.query("STOP SLAVE")
        replica.query("RESET SLAVE ALL")
        replica.query("SET GLOBAL read_only = 0")
        self.semi_synchronous(replica)
        promoted_at = time.monotonic()
        return promoted_at

    def destroy(self) -> None:
        for server in self.servers:
            with contextlib.suppress(Exception):
                server.admin.close()
            server.server.destroy()
