"""A PostgreSQL cluster in a folder, as the database of a lab's MLflow server (``mer4d server --data``).

The cluster listens on no TCP port: only on a Unix socket inside its own data folder, which
PostgreSQL keeps at mode 0700, so the one OS user who owns the folder (and root) can connect,
and that is why local connections need no password (``--auth-local=trust``; TCP is set to
``reject`` should anyone turn it on). The MLflow server beside it is what the lab reaches over
the network.

PostgreSQL refuses to run as root. Run by root, every PostgreSQL program here runs as an
unprivileged user through ``runuser`` (``postgres``, which Debian's package creates, unless
another is named) and the data folder is handed to that user; run by anyone else, they run as
that user.
"""

from __future__ import annotations

import getpass
import os
import pwd
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from mer4d.core.errors import MissingDependencyError, TrackingError

DB_USER = "mer4d"  # the cluster's superuser, made by initdb
DATABASE = "mlflow"
LOG_NAME = "mer4d-postgres.log"  # PostgreSQL's own log, inside the data folder (written by the user running it)
SOCKET_LIMIT = 107  # sizeof(sockaddr_un.sun_path) - 1 on Linux: the longest Unix socket path
INSTALL_HINT = "install PostgreSQL (MER4D_EXTRAS=server bash tools/setup.sh, or apt-get install postgresql) or set MER4D_PG_BIN to its bin folder"


class PostgresStartError(TrackingError):
    """PostgreSQL was found but would not start (its log says why)."""


def find_bin() -> Path:
    """The folder holding initdb and pg_ctl: ``MER4D_PG_BIN``, else the newest
    ``/usr/lib/postgresql/*/bin`` (Debian and Ubuntu keep them off the PATH), else the PATH's."""
    if os.environ.get("MER4D_PG_BIN"):
        folder = Path(os.environ["MER4D_PG_BIN"])
        if not (folder / "initdb").exists():
            raise MissingDependencyError(f"MER4D_PG_BIN={folder}: no initdb there; point it at the bin folder of PostgreSQL (holding initdb and pg_ctl)")
        return folder
    versions = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists() and (p / "pg_ctl").exists()]
    if versions:
        return max(versions, key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.name)] or [0])
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    raise MissingDependencyError(f"PostgreSQL's initdb and pg_ctl were not found (looked in /usr/lib/postgresql/*/bin and the PATH); {INSTALL_HINT}")


def run_as(requested: str | None) -> str | None:
    """The OS user PostgreSQL runs as: None (this user) unless we are root, then ``requested`` or ``postgres``."""
    if os.geteuid() != 0:
        me = getpass.getuser()
        if requested not in (None, me):
            raise TrackingError(f"--pg-user {requested}: only root can run PostgreSQL as another user; run 'mer4d server' as {requested}, or leave --pg-user out to run it as {me}")
        return None
    name = requested or "postgres"
    try:
        pwd.getpwnam(name)
    except KeyError:
        raise TrackingError(f"PostgreSQL refuses to run as root, and there is no user '{name}' to run it as; create one "
                            f"(useradd --system {name}), name another with --pg-user, or run 'mer4d server' as an ordinary user") from None
    if shutil.which("runuser") is None:
        raise TrackingError(f"PostgreSQL refuses to run as root and 'runuser' (util-linux) is missing to run it as {name}; run 'mer4d server' as an ordinary user")
    return name


@dataclass(frozen=True)
class Cluster:
    folder: Path  # PostgreSQL's data directory (absolute)
    bin: Path
    user: str | None  # the OS user PostgreSQL runs as when we are root; None: ourselves
    port: int = 5432  # names the socket file (.s.PGSQL.PORT); nothing listens on a TCP port

    @property
    def uri(self) -> str:
        """The SQLAlchemy URI of the MLflow database, through the socket in the data folder."""
        return f"postgresql+psycopg://{DB_USER}@/{DATABASE}?host={quote(str(self.folder), safe='/')}&port={self.port}"

    @property
    def log(self) -> Path:
        return self.folder / LOG_NAME

    def command(self, program: str, *args: str) -> list[str]:
        line = [str(self.bin / program) if (self.bin / program).exists() else program, *args]  # PostgreSQL's programs, or e.g. test
        return ["runuser", "-u", self.user, "--", *line] if self.user else line

    def run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        # cwd /: the postgres user may not be allowed into the caller's folder (initdb warns, pg_ctl fails)
        done = subprocess.run(self.command(program, *args), cwd="/", capture_output=True, text=True, timeout=300)
        if check and done.returncode != 0:
            raise TrackingError(f"{program} {' '.join(args)} failed (exit {done.returncode}):\n{(done.stderr or done.stdout).strip()}")
        return done


def prepare(folder: Path, user: str | None, port: int = 5432) -> tuple[Cluster, bool]:
    """The cluster in ``folder`` (made with initdb when the folder is new or empty) and whether it was made now."""
    folder = folder.expanduser().resolve()
    cluster = Cluster(folder, find_bin(), user, port)
    socket = folder / f".s.PGSQL.{port}"
    if len(str(socket)) > SOCKET_LIMIT:
        raise TrackingError(f"--data: PostgreSQL's socket {socket} would be {len(str(socket))} characters, over the {SOCKET_LIMIT} a Unix socket path allows; "
                            "choose a shorter data folder")
    if (folder / "PG_VERSION").exists():
        have, want = (folder / "PG_VERSION").read_text().strip(), _major(cluster)
        if have != want:
            raise TrackingError(f"{folder} holds a PostgreSQL {have} cluster but the binaries in {cluster.bin} are version {want}; "
                                f"set MER4D_PG_BIN to PostgreSQL {have}'s bin folder, or upgrade the cluster (pg_upgrade)")
        return cluster, False
    if folder.exists() and any(folder.iterdir()):
        raise TrackingError(f"{folder} is neither empty nor a PostgreSQL cluster (no PG_VERSION); name an empty or new folder for the database")
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    if user:
        shutil.chown(folder, user, user)
        if cluster.run("test", "-w", str(folder), check=False).returncode != 0:  # a parent folder closed to it (e.g. under /root)
            raise TrackingError(f"user '{user}' cannot reach {folder}: a parent folder is closed to it (mode 0700?); "
                                f"choose a data folder it can reach (e.g. under /srv or /var/lib), or open the parents (chmod o+x)")
    cluster.run("initdb", "-D", str(folder), "-U", DB_USER, "--auth-local=trust", "--auth-host=reject", "-E", "UTF8", "--no-locale")
    return cluster, True


def _major(cluster: Cluster) -> str:
    out = subprocess.run([str(cluster.bin / "pg_ctl"), "--version"], capture_output=True, text=True, check=True).stdout
    found = re.search(r"(\d+)(?:\.\d+)?", out)
    return found.group(1) if found else out.strip()


def running(cluster: Cluster) -> bool:
    return cluster.run("pg_ctl", "status", "-D", str(cluster.folder), check=False).returncode == 0


def start(cluster: Cluster) -> None:
    """Start PostgreSQL on the socket in its folder (no TCP) and wait until it accepts connections."""
    options = f"-c listen_addresses='' -k {shlex.quote(str(cluster.folder))} -p {cluster.port}"  # pg_ctl hands -o to a shell
    done = cluster.run("pg_ctl", "start", "-w", "-t", "120", "-D", str(cluster.folder), "-l", str(cluster.log), "-o", options, check=False)
    if done.returncode != 0:
        tail = cluster.log.read_text(errors="replace").strip().splitlines()[-15:] if cluster.log.exists() else []
        raise PostgresStartError(f"PostgreSQL could not start in {cluster.folder} (pg_ctl exit {done.returncode}): {(done.stderr or done.stdout).strip()}\n"
                                 + "\n".join(tail))


def ensure_database(cluster: Cluster) -> bool:
    """Create the MLflow database when missing; whether it was created."""
    where = ("-h", str(cluster.folder), "-p", str(cluster.port), "-U", DB_USER)
    found = cluster.run("psql", *where, "-d", "postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'").stdout.strip()
    if found == "1":
        return False
    cluster.run("createdb", *where, DATABASE)
    return True


def stop(cluster: Cluster) -> None:
    """A fast shutdown: open sessions are rolled back, everything committed is on disk."""
    cluster.run("pg_ctl", "stop", "-D", str(cluster.folder), "-m", "fast", "-w", "-t", "60", check=False)
