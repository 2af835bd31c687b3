"""``mer4d analyze cam``: Grad-CAM maps of a run's fold models on their own test clips, stored in the run."""

from __future__ import annotations

import click


@click.command("cam")
@click.option("--run", "run_id", required=True, metavar="RUN_ID", help="A run of 'mer4d run' trained with --set train.keep_checkpoints=true.")
@click.option("--uri", default=None, help="Tracking URI; default MLFLOW_TRACKING_URI, else sqlite:///mlruns/mlflow.db.")
@click.option("--layer", default=None, metavar="NAME", help="Explain this submodule instead of the model's last conv stage (e.g. layer3 of res3d: a finer map); "
              "stored under analysis/cam_NAME.")
@click.option("--method", type=click.Choice(["gradcam", "layercam"]), default="gradcam", show_default=True,
              help="layercam: weight each location by its own positive gradient (Jiang et al. 2021), sharp on finer layers such as layer2; "
              "stored under analysis/cam_layercam[_NAME].")
@click.option("--progress/--no-progress", default=True, help="Show progress on stderr: bars on a terminal, a line per step in a log or pipe.")
def cam(run_id: str, uri: str | None, layer: str | None, method: str, progress: bool) -> None:
    """Average Grad-CAMs per AU and per emotion over each fold's test clips; image grid, Table 9 correlations, into the run."""
    import logging

    from mer4d.analysis.cam import analyze_cam, summary_lines
    from mer4d.core.progress import set_enabled

    set_enabled(progress)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("mer4d").setLevel(logging.INFO)
    report = analyze_cam(run_id, uri=uri, progress=progress, layer=layer, method=method)
    for line in summary_lines(report):
        click.echo(line)

