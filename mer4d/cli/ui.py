"""``mer4d ui``: the MLflow UI for the same store ``mer4d run`` writes to."""

from __future__ import annotations

import os
import subprocess
import sys

import click


@click.command()
@click.option("--port", default=5000, show_default=True, help="Port on 127.0.0.1.")
@click.option("--uri", default=None, help="Tracking URI; default MLFLOW_TRACKING_URI, else sqlite:///mlruns/mlflow.db.")
def ui(port: int, uri: str | None) -> None:
    """Serve the MLflow UI on 127.0.0.1 (local only; put a proxy in front to share it)."""
    from mer4d.tracking.store import artifact_root, sqlite_path, tracking_uri

    uri = uri or tracking_uri()
    db = sqlite_path(uri)
    if db is not None and not db.exists():
        click.echo(f"note: {db} does not exist yet; the UI will be empty until a 'mer4d run' writes there", err=True)
        db.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", "127.0.0.1", "--port", str(port)]
    root = artifact_root(uri)
    if root is not None:
        command += ["--default-artifact-root", root]
    click.echo(f"MLflow UI for {uri} at http://127.0.0.1:{port} (Ctrl-C stops it)", err=True)
    try:
        raise SystemExit(subprocess.call(command, env=os.environ.copy()))
    except KeyboardInterrupt:
        raise SystemExit(0) from None
