"""``mer4d ui``: the MLflow UI for the same store ``mer4d run`` writes to."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import click


@click.command()
@click.option("--port", default=5000, show_default=True, help="Port on 127.0.0.1.")
@click.option("--uri", default=None, help="Tracking URI; default MLFLOW_TRACKING_URI, else sqlite:///mlruns/mlflow.db.")
@click.option("--experiment", "experiments", multiple=True, metavar="NAME", help="Print the runs-table URL of this experiment only (repeatable).")
def ui(port: int, uri: str | None, experiments: tuple[str, ...]) -> None:
    """Serve the MLflow UI on 127.0.0.1 (local only; put a proxy in front to share it) and print the
    URL of each experiment's runs table, newest experiment first. Ctrl-C or SIGTERM stops the server."""
    from mer4d.tracking.store import artifact_root, sqlite_path, tracking_uri

    uri = uri or tracking_uri()
    db = sqlite_path(uri)
    if db is not None and not db.exists():
        click.echo(f"note: {db} does not exist yet; the UI will be empty until a 'mer4d run' writes there", err=True)
        db.parent.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{port}"
    pages = _runs_pages(uri, base, experiments)
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", "127.0.0.1", "--port", str(port)]
    root = artifact_root(uri)
    if root is not None:
        command += ["--default-artifact-root", root]
    env = os.environ.copy()
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")  # GenAI background jobs (scorers): seven idle processes otherwise
    # its own process group, so that stopping mer4d ui stops the server's workers too (gunicorn or
    # uvicorn children of `mlflow ui` would otherwise outlive it)
    server = subprocess.Popen(command, env=env, start_new_session=True)
    stopping: list[int] = []
    previous = {s: signal.signal(s, lambda number, _frame: stopping.append(number)) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        click.echo(f"MLflow UI for {uri} at {base} (starting; Ctrl-C stops it)", err=True)
        if _wait_until_up(base, server, stopping):
            for name, url in pages:
                click.echo(f"{name}: {url}")
            if not pages:
                click.echo(f"{base}  (no experiment{' named ' + ', '.join(experiments) if experiments else ''} yet)")
            sys.stdout.flush()
        while not stopping and server.poll() is None:
            time.sleep(0.2)
        code = server.poll()
    finally:
        _stop(server)
        for s, handler in previous.items():
            signal.signal(s, handler)
    raise SystemExit(0 if stopping or code in (None, 0, -signal.SIGTERM, -signal.SIGINT) else code)


def _stop(server: subprocess.Popen) -> None:
    """Stop the server's whole process group: TERM, then KILL what is left after 10 s."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.time() + 10
    while time.time() < deadline:
        if server.poll() is not None:  # reaped: what is left of the group are its orphaned workers
            try:
                os.killpg(server.pid, 0)
            except ProcessLookupError:
                return
        time.sleep(0.1)
    try:
        os.killpg(server.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    server.wait()


def _wait_until_up(base: str, server: subprocess.Popen, stopping: list[int], seconds: float = 120) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline and server.poll() is None and not stopping:
        try:
            urllib.request.urlopen(f"{base}/health", timeout=2).read()
            return True
        except OSError:
            time.sleep(0.5)
    return False


def _runs_pages(uri: str, base: str, wanted: tuple[str, ...]) -> list[tuple[str, str]]:
    """(experiment name, runs-table URL) of each live experiment holding runs (or each ``wanted``
    one), newest first; mer4d experiments still without MLflow's experiment-kind tag or mer4d's shared view get them."""
    from mer4d.core.errors import TrackingError
    from mer4d.tracking.store import VIEW_TAG, experiment_tags, open_client, runs_page

    client = open_client(uri)
    found = sorted(client.search_experiments(), key=lambda e: (e.creation_time or 0, int(e.experiment_id) if e.experiment_id.isdigit() else 0), reverse=True)
    if wanted:
        missing = sorted(set(wanted) - {e.name for e in found})
        if missing:
            raise TrackingError(f"--experiment {', '.join(missing)}: no such experiment in {uri}; it has: {', '.join(e.name for e in found) or 'none'}")
        found = [e for e in found if e.name in wanted]
    pages = []
    for exp in found:
        runs = client.search_runs([exp.experiment_id], max_results=50)
        if not runs and not wanted:
            continue
        tags = dict(exp.tags)
        if any("mer4d.recipe" in r.data.tags for r in runs):
            for key, value in experiment_tags(tags).items():
                client.set_experiment_tag(exp.experiment_id, key, value)
                tags[key] = value
        pages.append((exp.name, runs_page(base, exp.experiment_id, view=VIEW_TAG in tags)))
    return pages
