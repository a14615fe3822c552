"""A throwaway three-node Galera cluster (and HAProxy in front of it) on loopback.

Each node is a private mariadbd (tests/server.py) with wsrep on; the first
starts the cluster, the others join it with an rsync state transfer. The
tests kill, freeze, restart and reconfigure nodes; everything is stopped, by
process id, at the end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tests.conftest import wait_for
from tests.server import ServerAddress, ThrowawayServer
from tests.support.admin import admin_queries
from tests.support.net import free_port


class Node:
    """One Galera node: a throwaway mariadbd with wsrep on."""

    def __init__(self, number: int, cluster_address: str, gcomm_port: int,
                 name: str, provider: str) -> None:
        self.number = number
        self.gcomm_port = gcomm_port
        ist_port, sst_port = free_port(), free_port()
        self.wsrep_args = (
            "--wsrep-on=ON", f"--wsrep-provider={provider}",
            f"--wsrep-cluster-name={name}",
            f"--wsrep-cluster-address={cluster_address}",
            f"--wsrep-node-address=127.0.0.1:{gcomm_port}",
            f"--wsrep-node-name=node{number}",
            "--wsrep-provider-options="
            f"gmcast.listen_addr=tcp://127.0.0.1:{gcomm_port};"
            f"ist.recv_addr=127.0.0.1:{ist_port};"
            "evs.inactive_timeout=PT3S;evs.suspect_timeout=PT1.5S;"
            "evs.keepalive_period=PT0.5S;evs.install_timeout=PT3S",
            "--wsrep-sst-method=rsync",
            f"--wsrep-sst-receive-address=127.0.0.1:{sst_port}",
            "--binlog-format=ROW", "--innodb-autoinc-lock-mode=2",
            "--default-storage-engine=InnoDB",
        )
        self.server = ThrowawayServer(extra_args=self.wsrep_args)
        # A connection of its own for each query: nodes are killed and restarted.
        self.admin = admin_queries(dataclasses.replace(self.server.address, database="mysql"),
                                   per_query=True, connect_timeout=5)

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def address(self) -> ServerAddress:
        return self.server.address

    @property
    def pid(self) -> int | None:
        process = self.server.process
        return process.pid if process is not None and process.poll() is None else None

    def start(self, *, new_cluster: bool = False, timeout: float = 120) -> None:
        extra = ("--wsrep-new-cluster",) if new_cluster else ()
        self.server.extra_args = self.wsrep_args + extra
        if os.geteuid() == 0:
            # A joiner's rsync daemon writes the state transfer as "nobody"
            # when the tests run as root: give it this throwaway directory
            # (again at each start: the server made files of its own meanwhile).
            subprocess.run(["chown", "-R", "nobody:nogroup", str(self.server.directory)],
                           check=True)
            subprocess.run(["chmod", "-R", "a+rwX", str(self.server.directory)], check=True)
        self.server.start(timeout=timeout)

    def kill(self) -> None:
        """kill -9: no shutdown, sockets reset by the kernel."""
        process = self.server.process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(30)
        self.server.process = None

    def query(self, sql: str, params: Any = None) -> list[tuple]:
        """As the admin user."""
        return self.admin.query(sql, params)

    def status(self, name: str) -> str | None:
        try:
            rows = self.query("SHOW STATUS LIKE %s", (name,))
        except Exception:  # noqa: BLE001 - not answering yet
            return None
        return rows[0][1] if rows else None

    def synced(self, size: int) -> bool:
        return (self.status("wsrep_ready") == "ON"
                and self.status("wsrep_local_state_comment") == "Synced"
                and self.status("wsrep_cluster_size") == str(size))

    def destroy(self) -> None:
        self.server.destroy()


class GaleraCluster:
    """Three nodes forming one cluster; ``provider`` is the path of Galera's
    library (libgalera_smm.so)."""

    def __init__(self, provider: str, size: int = 3) -> None:
        self.name = f"mysqlpool_test_{free_port()}"
        gcomm_ports = [free_port() for _ in range(size)]
        address = "gcomm://" + ",".join(f"127.0.0.1:{port}" for port in gcomm_ports)
        self.nodes = [Node(number + 1, address, port, self.name, provider)
                      for number, port in enumerate(gcomm_ports)]

    def start(self, timeout: float = 180) -> None:
        first, *others = self.nodes
        first.start(new_cluster=True)
        wait_for(lambda: first.synced(1), timeout, "the first node did not come up")
        for node in others:
            node.start(timeout=timeout)
        wait_for(lambda: all(node.synced(len(self.nodes)) for node in self.nodes),
                   timeout, "the cluster did not form")

    def hosts(self) -> str:
        """A HOST setting naming every node, in order."""
        return ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)

    def wait_synced(self, nodes: list[Node], size: int, timeout: float = 120) -> None:
        wait_for(lambda: all(node.synced(size) for node in nodes), timeout,
                   f"nodes {[n.number for n in nodes]} not synced in a cluster of {size}")

    def destroy(self) -> None:
        for node in reversed(self.nodes):
            with contextlib.suppress(Exception):
                node.destroy()


class HAProxy:
    """HAProxy (the program at ``binary``) balancing a cluster's nodes, with a
    fast health check."""

    def __init__(self, nodes: list[Node], binary: str) -> None:
        self.binary = binary
        self.directory = Path(tempfile.mkdtemp(prefix="mysqlpool-haproxy-"))
        self.port = free_port()
        self.nodes = nodes
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 15) -> None:
        servers = "\n".join(
            f"    server node{node.number} 127.0.0.1:{node.port} check inter 200ms "
            "fall 1 rise 2 on-marked-down shutdown-sessions"
            for node in self.nodes)
        config = self.directory / "haproxy.cfg"
        config.write_text(
            "global\n    maxconn 4000\n"
            "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1h\n"
            "    timeout server 1h\n    retries 3\n    option redispatch\n"
            f"listen galera\n    bind 127.0.0.1:{self.port}\n    balance roundrobin\n"
            f"{servers}\n"
        )
        self.process = subprocess.Popen([self.binary, "-f", str(config), "-db"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        process = self.process

        def listening() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"haproxy exited: {process.stderr.read()!r}")
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", self.port), timeout=1):
                return True
            return False

        wait_for(listening, timeout, "haproxy did not start listening", interval=0.05)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)
