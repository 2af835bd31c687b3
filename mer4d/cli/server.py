"""``mer4d server``: a lab's shared MLflow tracking server, its runs in PostgreSQL and its artifacts on disk.

Clients talk to it over HTTP only: the server stores the artifacts they upload under
``--artifacts`` itself (``--serve-artifacts``, experiments get ``mlflow-artifacts:/`` roots), so
no machine needs a shared file system or database access. See docs/team_server.md.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click

from mer4d.cli.ui import _stop, _wait_until_up

DRIVER_URI = "postgresql+psycopg://"  # the driver of the cluster's URI (mer4d.tracking.postgres.Cluster.uri): psycopg 3, the server extra


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--data", "data", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of the server's state: a PostgreSQL cluster in DATA/postgres (made on first start) and the artifacts in DATA/artifacts.")
@click.option("--backend-store-uri", "backend", default=None, metavar="postgresql://...",
              help="Use this PostgreSQL database instead of a cluster in --data (then --artifacts or --data names where artifacts go).")
@click.option("--artifacts", type=click.Path(file_okay=False, path_type=Path), default=None, help="Artifact folder; default DATA/artifacts.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind; 0.0.0.0 serves the whole network (see docs/team_server.md, security).")
@click.option("--port", default=5000, show_default=True, help="HTTP port of the tracking server.")
@click.option("--workers", default=2, show_default=True, help="Worker processes of the server.")
@click.option("--allowed-hosts", default=None, help="Host headers the server accepts, when clients reach it by a name (MLflow's default: localhost and private IPs).")
@click.option("--pg-user", default=None, help="When run as root: the user PostgreSQL runs as (it refuses root); default postgres.")
@click.option("--pg-port", default=5432, show_default=True, help="Port number naming the cluster's Unix socket (PostgreSQL listens on no TCP port).")
@click.argument("mlflow_args", nargs=-1, type=click.UNPROCESSED)
def server(data: Path | None, backend: str | None, artifacts: Path | None, host: str, port: int, workers: int, allowed_hosts: str | None,
           pg_user: str | None, pg_port: int, mlflow_args: tuple[str, ...]) -> None:
    """Start an MLflow tracking server on PostgreSQL and print the tracking URI runs should use.
    Ctrl-C or SIGTERM stops the server and the PostgreSQL it started. Arguments after -- go to
    'mlflow server' (e.g. -- --app-name basic-auth)."""
    from mer4d.core.errors import TrackingError

    if backend is None and data is None:
        raise click.UsageError("name --data FOLDER (mer4d keeps a PostgreSQL cluster and the artifacts there), "
                               "or --backend-store-uri postgresql://... with --artifacts FOLDER")
    if backend is not None and not backend.startswith("postgresql"):
        raise TrackingError(f"--backend-store-uri {backend.split('://')[0]}://...: expected a PostgreSQL URI (postgresql://USER:PASSWORD@HOST:PORT/DATABASE); "
                            "for a single-user SQLite store use 'mer4d ui' instead")
    if artifacts is None and data is None:
        raise click.UsageError("--backend-store-uri needs --artifacts FOLDER (or --data FOLDER) for the run artifacts")
    artifacts = (artifacts or data / "artifacts").expanduser().resolve()
    artifacts.mkdir(parents=True, exist_ok=True)
    stopping: list[int] = []
    previous = {s: signal.signal(s, lambda number, _frame: stopping.append(number)) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    cluster = None  # the PostgreSQL this command started, stopped on the way out
    try:
        if backend is None:
            _check_driver(DRIVER_URI)
            cluster, backend = _start_postgres(data, pg_user, pg_port)
        else:
            _check_driver(backend)
        code = _serve(backend, artifacts, host, port, workers, allowed_hosts, mlflow_args, stopping)
    finally:
        if cluster is not None:
            from mer4d.tracking.postgres import stop

            click.echo(f"stopping PostgreSQL in {cluster.folder}", err=True)
            stop(cluster)
        for s, handler in previous.items():
            signal.signal(s, handler)
    raise SystemExit(0 if stopping or code in (None, 0, -signal.SIGTERM, -signal.SIGINT) else code)


def _check_driver(uri: str) -> None:
    """Fail early, with the fix, when SQLAlchemy's driver for ``uri`` is not installed (the server would only log it)."""
    from sqlalchemy.engine import make_url

    from mer4d.core.errors import MissingDependencyError

    try:
        make_url(uri).get_dialect().import_dbapi()
    except ImportError as exc:
        raise MissingDependencyError(f"the PostgreSQL driver for {uri.split(':')[0]}:// is not installed ({exc}); MER4D_EXTRAS=server bash tools/setup.sh "
                                     "installs psycopg (pip install 'mer4d[server]'), or name the driver you have: postgresql+psycopg2://...") from None


def _start_postgres(data: Path, pg_user: str | None, pg_port: int):
    """The cluster in DATA/postgres, made and started when needed: (the cluster if this call started it, its URI)."""
    from mer4d.tracking import postgres

    cluster, made = postgres.prepare(data / "postgres", postgres.run_as(pg_user), pg_port)
    who = f" as user {cluster.user}" if cluster.user else ""
    if made:
        click.echo(f"made a PostgreSQL cluster in {cluster.folder}{who}", err=True)
    started = not postgres.running(cluster)
    if started:
        postgres.start(cluster)
        click.echo(f"PostgreSQL running{who} on the socket in {cluster.folder} (no TCP port); its log: {cluster.log}", err=True)
    else:
        click.echo(f"PostgreSQL in {cluster.folder} was already running: using it, and leaving it running on exit", err=True)
    try:
        if postgres.ensure_database(cluster):
            click.echo(f"made the database '{postgres.DATABASE}' (MLflow creates its tables on first start)", err=True)
    except BaseException:
        if started:
            postgres.stop(cluster)
        raise
    return (cluster if started else None), cluster.uri


def _serve(backend: str, artifacts: Path, host: str, port: int, workers: int, allowed_hosts: str | None, extra: tuple[str, ...],
           stopping: list[int]) -> int | None:
    """Run ``mlflow server`` in its own process group until it exits or a signal comes; its exit code."""
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend, "--serve-artifacts", "--artifacts-destination", str(artifacts),
               "--host", host, "--port", str(port), "--workers", str(workers)]
    if allowed_hosts:
        command += ["--allowed-hosts", allowed_hosts]
    command += list(extra)
    env = os.environ.copy()
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")  # GenAI background jobs (scorers): idle processes otherwise
    # its own process group (as mer4d ui does), so stopping this command stops the server's workers too
    process = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        local = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}"
        click.echo(f"MLflow server on {host}:{port}, artifacts in {artifacts} (starting; the first start creates the tables; Ctrl-C stops it)", err=True)
        if _wait_until_up(local, process, stopping, seconds=600):
            uri = f"http://{socket.getfqdn()}:{port}" if host in ("0.0.0.0", "::", "") else local
            click.echo(f"tracking URI: {uri}")
            click.echo(f"  mer4d run RECIPE --set tracking.uri={uri}    (or: export MLFLOW_TRACKING_URI={uri})")
            click.echo(f"  mer4d report --uri {uri}; the UI: {uri}")
            sys.stdout.flush()
        while not stopping and process.poll() is None:
            time.sleep(0.2)
        return process.poll()
    finally:
        _stop(process)
