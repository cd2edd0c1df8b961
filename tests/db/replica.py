"""A PostgreSQL streaming replica of the test server, made on this machine for a test.

``start_replica`` takes a base backup of the primary (``pg_basebackup -R -X stream``) into a
directory of its own, starts it with ``pg_ctl`` on a free port as a hot standby, and waits for
it to accept connections; ``Cluster.stop`` stops it and deletes the directory. Whatever stands
in the way (not PostgreSQL, missing binaries, no replication rule in ``pg_hba.conf``) is a
``Missing`` with the exact reason, for the test to skip on. A server too big to copy quickly
(``TooBig``: a benchmark's millions of cases live there too) is replaced by a small primary of
the test's own (``start_primary``: ``initdb``, then the same binaries and settings).
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

PG_BIN = Path(os.environ.get("CIVGRID_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
# A base backup copies every database of the server: beyond this, too slow for a test.
MAX_CLUSTER_BYTES = 2 * 1024**3
# Settings a hot standby must have at least as high as its primary's (it refuses to start).
MATCHED = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)
# What ``prepare_primary`` adds to pg_hba.conf when the server has no replication rule at all,
# and only when it already trusts every connection from 127.0.0.1: no access it lacked.
HBA_LINE = "host replication all 127.0.0.1/32 trust"
HBA_NOTE = "# civgrid tests (tests/db/replica.py): streaming replicas on this machine"


class Missing(Exception):
    """Something this machine lacks for a replica; the message says what and how to fix it."""


class TooBig(Missing):
    """The primary holds more than a test may copy."""


@dataclass
class Cluster:
    """A running server of the test's own (a hot standby, or a small primary): its port and its
    directory (data, socket, log)."""

    port: int
    home: Path
    run_as: list[str]
    argv: str = ""  # its settings, as pg_ctl -o passes them

    @property
    def data(self) -> Path:
        return self.home / "data"

    def url(self, primary_url: str) -> str:
        """``primary_url`` (any database, any role) pointed at this server."""
        url = make_url(primary_url).set(host="127.0.0.1", port=self.port)
        return url.render_as_string(hide_password=False)

    def pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [*self.run_as, str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)

    def log(self) -> str:
        path = self.home / "server.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def start(self) -> None:
        """Start the server (again), waiting until it accepts connections."""
        log = str(self.home / "server.log")
        done = self.pg_ctl("-l", log, "-o", self.argv, "-w", "-t", "60", "start")
        if done.returncode != 0:
            raise RuntimeError(f"the server did not start: {done.stderr.strip()}\n{self.log()}")

    def stop(self) -> None:
        """Stop the server (at once: it holds nothing worth a clean shutdown) and delete it.

        The deletion (a copy of the whole server: seconds on a busy disk) goes on in the
        background, in a process of its own that outlives the tests if need be.
        """
        if (self.data / "postmaster.pid").exists():
            self.pg_ctl("-m", "immediate", "-w", "stop")
        subprocess.Popen(  # noqa: S603  (our own directory)
            ["rm", "-rf", "--", str(self.home)],  # noqa: S607
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as() -> list[str]:
    """How to run PostgreSQL's programs: as ``postgres`` when we are root (it refuses root)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser") is None:
        raise Missing("running as root, and runuser (util-linux) is missing to run as postgres")
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise Missing("running as root, and there is no postgres user to run a server") from None
    return ["runuser", "-u", "postgres", "--"]


def _check_tools() -> None:
    for tool in ("pg_basebackup", "pg_ctl", "postgres"):
        if not (PG_BIN / tool).exists():
            raise Missing(f"{PG_BIN / tool} is missing (set CIVGRID_TEST_PG_BIN)")


def _replication_trusted(conn: Connection) -> bool | None:
    """Whether 127.0.0.1 may open replication connections without a password.

    None: no rule names replication for 127.0.0.1 at all. PostgreSQL takes the first rule
    that matches; ``all`` as the database never matches a replication connection.
    """
    rows = conn.execute(
        text(
            "SELECT database, user_name, address, netmask, auth_method FROM pg_hba_file_rules "
            "WHERE type = 'host' AND error IS NULL ORDER BY line_number"
        )
    ).all()
    here = ipaddress.ip_address("127.0.0.1")
    for database, users, address, netmask, method in rows:
        if "replication" not in database or not ({"all", "postgres"} & set(users)):
            continue
        if address in ("all", "samehost") or _covers(address, netmask, here):
            return bool(method == "trust")
    return None


def _covers(address: str | None, netmask: str | None, ip: ipaddress.IPv4Address) -> bool:
    if not address or not netmask or address in ("samenet",):
        return False
    try:
        return ip in ipaddress.ip_network(f"{address}/{netmask}", strict=False)
    except ValueError:  # a host name
        return False


def _local_trusted(conn: Connection) -> bool:
    """Whether the server already trusts every ordinary connection from 127.0.0.1."""
    return bool(
        conn.scalar(
            text(
                "SELECT EXISTS (SELECT 1 FROM pg_hba_file_rules WHERE type = 'host' "
                "AND database = '{all}' AND user_name = '{all}' AND address = '127.0.0.1' "
                "AND netmask = '255.255.255.255' AND auth_method = 'trust' AND error IS NULL)"
            )
        )
    )


def prepare_primary(server_url: str) -> dict[str, str]:
    """Check the primary can feed a replica; the settings the replica must match.

    If the server has no replication rule for 127.0.0.1 but trusts all of 127.0.0.1's other
    connections, ``HBA_LINE`` is appended to its pg_hba.conf and the configuration reloaded
    (idempotent; it grants nothing that was not already open from this machine).
    """
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            settings = {
                name: str(conn.scalar(text(f"SHOW {name}")))
                for name in (*MATCHED, "wal_level", "hba_file")
            }
            if settings["wal_level"] not in ("replica", "logical"):
                raise Missing(f"the primary's wal_level is {settings['wal_level']}; set replica")
            if int(settings["max_wal_senders"]) < 1:
                raise Missing("the primary's max_wal_senders is 0; a replica needs at least 1")
            size = int(conn.scalar(text("SELECT sum(pg_database_size(oid)) FROM pg_database")))
            if size > MAX_CLUSTER_BYTES:
                raise TooBig(
                    f"the primary holds {size / 1024**3:.1f} GB; a base backup of more than "
                    f"{MAX_CLUSTER_BYTES / 1024**3:.0f} GB takes too long for a test"
                )
            trusted = _replication_trusted(conn)
            if trusted is None and _local_trusted(conn):
                _add_replication_rule(conn, Path(settings["hba_file"]))
                trusted = _replication_trusted(conn)
            if not trusted:
                raise Missing(
                    f"{settings['hba_file']} does not trust replication connections from "
                    f"127.0.0.1: add `{HBA_LINE}` before any other replication rule for it, "
                    "then SELECT pg_reload_conf()"
                )
    finally:
        engine.dispose()
    return {name: settings[name] for name in MATCHED}


def _add_replication_rule(conn: Connection, hba: Path) -> None:
    if not os.access(hba, os.W_OK):
        raise Missing(
            f"{hba} has no replication rule for 127.0.0.1 and is not writable here: add "
            f"`{HBA_LINE}`, then SELECT pg_reload_conf()"
        )
    with hba.open("a") as f:
        f.write(f"\n{HBA_NOTE}\n{HBA_LINE}\n")
    conn.execute(text("SELECT pg_reload_conf()"))


def _home(run_as: list[str]) -> Path:
    home = Path(tempfile.mkdtemp(prefix="civgrid-replica-"))
    if run_as:
        shutil.chown(home, "postgres", "postgres")
    return home


def start_primary() -> Cluster:
    """A small primary of the test's own (``initdb``, trust from 127.0.0.1, replication too)."""
    _check_tools()
    run_as = _run_as()
    primary = Cluster(_free_port(), _home(run_as), run_as)
    try:
        cmd = [*run_as, str(PG_BIN / "initdb"), "-D", str(primary.data), "-U", "postgres"]
        cmd += ["--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()}")
        options = {
            "port": primary.port,
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": primary.home,
            "wal_level": "replica",
            "shared_buffers": "32MB",
            "fsync": "off",  # a throwaway server
        }
        primary.argv = " ".join(f"-c {name}={value}" for name, value in options.items())
        primary.start()
    except BaseException:
        primary.stop()
        raise
    return primary


def start_replica(server_url: str) -> Cluster:
    """A hot standby of the server at ``server_url`` (a superuser's URL), running and caught up
    with its base backup; raises ``Missing`` when this machine cannot make one."""
    _check_tools()
    run_as = _run_as()
    matched = prepare_primary(server_url)
    primary = make_url(server_url)
    replica = Cluster(_free_port(), _home(run_as), run_as)
    try:
        _base_backup(replica, primary.host or "127.0.0.1", primary.port or 5432, primary.username)
        _start(replica, matched)
    except BaseException:
        replica.stop()
        raise
    return replica


def _base_backup(replica: Cluster, host: str, port: int, user: str | None) -> None:
    cmd = [
        *replica.run_as,
        str(PG_BIN / "pg_basebackup"),
        *("-h", host, "-p", str(port), "-U", user or "postgres"),
        *("-D", str(replica.data), "-R", "-X", "stream", "-c", "fast", "-w"),
        # a throwaway copy: no fsync of every file, no manifest
        *("--no-sync", "--no-manifest"),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"pg_basebackup failed: {done.stderr.strip()}")


def _start(replica: Cluster, matched: dict[str, str]) -> None:
    # Debian keeps postgresql.conf and pg_hba.conf outside the data directory: the replica gets
    # its own. Settings on the command line win over postgresql.auto.conf, which the backup
    # copied from the primary (and where -R wrote primary_conninfo).
    (replica.home / "postgresql.conf").write_text("# settings: pg_ctl -o (tests/db/replica.py)\n")
    (replica.home / "pg_hba.conf").write_text("host all all 127.0.0.1/32 trust\n")
    (replica.home / "pg_ident.conf").write_text("")
    options = {
        "config_file": replica.home / "postgresql.conf",
        "hba_file": replica.home / "pg_hba.conf",
        "ident_file": replica.home / "pg_ident.conf",
        "port": replica.port,
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": replica.home,
        "hot_standby": "on",
        "shared_buffers": "32MB",
        "fsync": "off",  # a throwaway copy
        "ssl": "off",
        "logging_collector": "off",
        **matched,
    }
    if replica.run_as:
        for path in replica.home.iterdir():
            shutil.chown(path, "postgres", "postgres")
    replica.argv = " ".join(f"-c {name}={value}" for name, value in options.items())
    replica.start()


def wait_replayed(primary: Connection, replica: Connection, timeout_s: float = 10.0) -> float:
    """Wait until ``replica`` has replayed all the primary had written; the seconds it took."""
    target = primary.scalar(text("SELECT pg_current_wal_lsn()::text"))
    started = time.monotonic()
    while True:
        done = replica.scalar(
            text("SELECT pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)"), {"lsn": target}
        )
        if done:
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"the replica has not replayed up to {target} in {timeout_s} s")
        time.sleep(0.02)
