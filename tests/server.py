"""The MySQL/MariaDB server the tests talk to.

``MYSQLPOOL_TEST_URL`` (``mysql://user:password@host:port/database``) names an
existing server. Without it, a throwaway ``mariadbd`` is started from the local
binary. Fault tests always start their own :class:`ThrowawayServer`, which they
stop, restart and reconfigure.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from tests.support.net import free_port
from tests.support.waiting import wait_for

URL_VARIABLE = "MYSQLPOOL_TEST_URL"


@dataclass(frozen=True)
class ServerAddress:
    host: str
    port: int
    user: str
    password: str
    database: str

    @classmethod
    def from_url(cls, url: str) -> ServerAddress:
        parts = urlparse(url)
        if parts.scheme not in ("mysql", "mariadb"):
            raise ValueError(f"{URL_VARIABLE} = {url!r}: expected mysql://user:password@host:port/db")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            database=(parts.path or "/").lstrip("/") or "test",
        )

    def django(self, **overrides) -> dict:
        """A DATABASES entry for this server."""
        return {
            "HOST": self.host,
            "PORT": str(self.port),
            "USER": self.user,
            "PASSWORD": self.password,
            "NAME": self.database,
            **overrides,
        }


def server_binary() -> str | None:
    for name in ("mariadbd", "mysqld"):
        for directory in (None, "/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin"):
            path = shutil.which(name, path=directory)
            if path:
                return path
    return None


class ThrowawayServer:
    """A private mariadbd in a temporary directory: start, stop, restart."""

    def __init__(self, *, tls: bool = False, extra_args: tuple[str, ...] = (),
                 secure_file_priv: bool = False) -> None:
        binary = server_binary()
        if binary is None:
            raise RuntimeError(
                f"No mariadbd/mysqld binary found; install MariaDB or set {URL_VARIABLE}"
            )
        self.binary = binary
        self.directory = Path(tempfile.mkdtemp(prefix="mysqlpool-server-"))
        self.datadir = self.directory / "data"
        self.socket = self.directory / "mysqld.sock"
        self.port = free_port()
        self.tls = tls
        self.extra_args = extra_args
        if secure_file_priv:
            # SELECT ... INTO OUTFILE and LOAD DATA only in this directory.
            files = self.directory / "files"
            files.mkdir()
            self.extra_args += (f"--secure-file-priv={files}",)
        self.process: subprocess.Popen | None = None
        self._owner_pid = os.getpid()
        self._initialize()
        atexit.register(self.destroy)

    @property
    def address(self) -> ServerAddress:
        return ServerAddress("127.0.0.1", self.port, "root", "", "test")

    def _initialize(self) -> None:
        self.datadir.mkdir()
        install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
        args = [
            install, "--no-defaults", f"--datadir={self.datadir}",
            "--auth-root-authentication-method=normal", "--skip-test-db",
            # A server deletes every #sql* file in its tmpdir when it starts: with
            # the default (/tmp) that pulls the temporary tables from under any
            # other server on the machine, which then crashes.
            f"--tmpdir={self.directory}",
        ]
        if os.geteuid() == 0:
            args.append("--user=root")
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if self.tls:
            self._make_certificates()

    def _make_certificates(self) -> None:
        d = self.directory
        self._openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=mysqlpool-test-ca", "-keyout", d / "ca-key.pem", "-out", d / "ca.pem",
        )
        self.issue_server_certificate("127.0.0.1")

    def issue_server_certificate(self, name: str) -> None:
        """Give the server a certificate for ``name`` (an IP address or a host
        name, as subject and subjectAltName) from its CA. A running server
        loads it on ``FLUSH SSL``."""
        d = self.directory
        san = f"IP:{name}" if name.replace(".", "").isdigit() else f"DNS:{name}"
        (d / "server-ext.cnf").write_text(f"subjectAltName={san}\n")
        self._openssl(
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
            "-keyout", d / "server-key.pem", "-out", d / "server.csr",
        )
        self._openssl(
            "x509", "-req", "-in", d / "server.csr", "-days", "2", "-CA", d / "ca.pem",
            "-CAkey", d / "ca-key.pem", "-CAcreateserial", "-extfile", d / "server-ext.cnf",
            "-out", d / "server-cert.pem",
        )

    @staticmethod
    def _openssl(*args) -> None:
        openssl = shutil.which("openssl")
        if openssl is None:
            raise RuntimeError("openssl is needed to make certificates for the TLS server")
        subprocess.run([openssl, *args], check=True, capture_output=True)

    def start(self, timeout: float = 30) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        args = [
            self.binary, "--no-defaults", f"--datadir={self.datadir}",
            f"--socket={self.socket}", f"--port={self.port}", "--bind-address=127.0.0.1",
            f"--pid-file={self.directory / 'mysqld.pid'}",
            f"--log-error={self.directory / 'error.log'}",
            f"--tmpdir={self.directory}",  # see _initialize()
            "--skip-log-bin", "--innodb-buffer-pool-size=32M", "--max-connections=500",
            "--innodb-flush-log-at-trx-commit=2", "--skip-name-resolve",
            *self.extra_args,
        ]
        if os.geteuid() == 0:
            args.append("--user=root")
        if self.tls:
            d = self.directory
            args += [f"--ssl-ca={d / 'ca.pem'}", f"--ssl-cert={d / 'server-cert.pem'}",
                     f"--ssl-key={d / 'server-key.pem'}"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        process = self.process

        def greets() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"mariadbd exited at start:\n{self.error_log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    return bool(sock.recv(4))  # the server's greeting: it accepts connections
            except OSError:
                return False

        try:
            wait_for(greets, timeout, "mariadbd did not greet", interval=0.05)
        except AssertionError:
            raise RuntimeError(
                f"mariadbd did not start within {timeout} s:\n{self.error_log()}") from None

    def stop(self, timeout: float = 30) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def error_log(self) -> str:
        """The log's error lines, then its end: a failed start's cause is often
        far above the shutdown lines that end the log (a Galera joiner's state
        transfer logs a page of them)."""
        try:
            text = (self.directory / "error.log").read_text()
        except OSError:
            return ""
        errors = [line for line in text.splitlines() if "[ERROR]" in line]
        head = "errors:\n" + "\n".join(line[:500] for line in errors[:10]) + "\nlog end:\n"
        return (head if errors else "") + text[-4000:]

    def destroy(self) -> None:
        if os.getpid() != self._owner_pid:
            return  # a forked child exiting must not take the server down
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


_session_server: ThrowawayServer | None = None


def session_server() -> ServerAddress:
    """The server for the whole test session: the URL's, or a throwaway one."""
    global _session_server
    url = os.environ.get(URL_VARIABLE)
    if url:
        return ServerAddress.from_url(url)
    if _session_server is None:
        _session_server = ThrowawayServer()
        _session_server.start()
        # Child processes (Django's parallel runner, fork tests) share it.
        os.environ[URL_VARIABLE] = (
            f"mysql://root@127.0.0.1:{_session_server.port}/test"
        )
    return _session_server.address
