"""One MLflow run per analysis, in the ``analysis`` experiment (tables as CSV, figures as PNG, the markdown).

The experiment is made like every mer4d experiment (:func:`mer4d.tracking.store.experiment_id`):
tagged ``mlflow.experimentKind = custom_model_development`` so the MLflow UI shows it as a
model-training experiment, with its artifacts beside the store. An analysis run carries no
``mer4d.recipe`` tag, so ``mer4d report`` never mistakes it for a training run.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

EXPERIMENT = "analysis"
KIND_TAG = "mer4d.analysis"  # which analysis: labels, agreement (cam: the CAM analyses)
REPORT_ARTIFACT = "report.md"


@dataclass
class AnalysisRecord:
    """Everything one analysis logs.

    Attributes:
        kind: ``labels`` or ``agreement`` (the ``mer4d.analysis`` tag).
        name: the run name shown in the MLflow UI.
        params: strings (what was analysed, with which options).
        metrics: numbers (headline values).
        tags: extra run tags (``mer4d.dataset``, ...).
        tables: artifact file name (``au_share_merged.csv``) -> table; the index is written when named.
        figures: artifact file name (``au_share_merged.png``) -> matplotlib Figure (closed after logging).
        files: artifact file name -> a file to copy in as it is (the analysed input).
        report: the markdown printed to the terminal, logged as ``report.md``.
    """

    kind: str
    name: str
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, object] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    report: str = ""


def _source_tags(kind: str, git: Mapping[str, str]) -> Mapping[str, str]:
    tags = {KIND_TAG: kind, "mlflow.source.name": f"mer4d analyze {kind}"}
    if "git_commit" in git:
        tags["mlflow.source.git.commit"] = git["git_commit"]
    return tags


def log_analysis(record: AnalysisRecord, uri: str | None = None, experiment: str = EXPERIMENT) -> tuple[str, str]:
    """Log ``record`` as one FINISHED run of ``experiment``; returns (run id, tracking URI).

    A failure while logging marks the run FAILED (never a RUNNING run left behind).
    """
    import shutil

    import matplotlib.pyplot as plt

    from mer4d.tracking.provenance import git_state, package_versions
    from mer4d.tracking.store import experiment_id, open_client, tracking_uri

    uri = tracking_uri(uri)
    client = open_client(uri)
    git = git_state()  # one git call for the tags and provenance.json
    run = client.create_run(experiment_id(client, experiment, uri), tags={**_source_tags(record.kind, git), **record.tags}, run_name=record.name)
    run_id = run.info.run_id
    try:
        for key, value in record.params.items():  # a handful: one call each keeps mlflow imports inside mer4d.tracking
            client.log_param(run_id, key, str(value)[:6000])
        for key, value in record.metrics.items():  # not tracking.artifacts.metric_batch: that module imports the trainer (torch)
            client.log_metric(run_id, key, float(value))
        client.log_dict(run_id, {**git, "packages": package_versions()}, "provenance.json")
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for name, table in record.tables.items():
                table.to_csv(folder / name, index=table.index.name is not None or any(n is not None for n in table.index.names))
            for name, figure in record.figures.items():
                figure.savefig(folder / name, dpi=120)
                plt.close(figure)
            for name, path in record.files.items():
                shutil.copyfile(path, folder / name)
            if record.report:
                (folder / REPORT_ARTIFACT).write_text(record.report + "\n")
            for path in sorted(folder.iterdir()):
                client.log_artifact(run_id, str(path))
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FINISHED")
    return run_id, uri
