"""What every run records besides its scores: the dataset it read, and the machine's load while it ran.

The dataset goes in as an MLflow dataset input (``MlflowClient.log_inputs``, what ``mlflow.log_input``
does in the fluent API): its name is the recipe's dataset, its digest the fingerprint a run already
keeps in the ``mer4d.dataset_fingerprint`` tag (:func:`mer4d.pipeline.build.fingerprint`), so two
runs on different data differ in the UI's "Datasets used" column. The parent run's input says which
folds read it; a fold run's input carries that fold's subjects as its context
(``train: s01,s02 | test: s03``), the split a reader needs to tell folds apart.

System metrics (CPU, memory, disk, network; GPU when ``nvidia-ml-py`` is installed and finds one)
come from MLflow's own sampler thread, one per run doing work, every :data:`SAMPLING_SECONDS`
(``MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL`` overrides it). Without ``psutil`` a run goes on
without them, with one warning.
"""

from __future__ import annotations

import json
import logging
import os

log = logging.getLogger(__name__)

CONTEXT_TAG = "mlflow.data.context"  # the input tag MLflow's UI shows next to a dataset
CONTEXT_LIMIT = 500  # MLflow's limit on an input tag's value (mlflow.utils.validation.MAX_INPUT_TAG_VALUE_SIZE)
SAMPLING_SECONDS = 10.0  # one sample of psutil every 10 s: a few microseconds of work, one small metric batch
SWITCH = "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING"  # MLflow's own switch; false turns mer4d's sampler off too


def subject_list(subjects: list[str], limit: int) -> str:
    """``s01,s02,...`` when it fits in ``limit`` characters, else ``N subjects: first..last``."""
    text = ",".join(subjects)
    if len(text) <= limit:
        return text
    short = f"{len(subjects)} subjects: {subjects[0]}..{subjects[-1]}"
    return short if len(short) <= limit else f"{len(subjects)} subjects"


def fold_context(train: str, test: str) -> str:
    """A fold's dataset context, ``train: ... | test: ...`` (comma-joined subject ids), within MLflow's limit."""
    full = f"train: {train} | test: {test}"
    if len(full) <= CONTEXT_LIMIT:
        return full
    room = (CONTEXT_LIMIT - len("train:  | test: ")) // 2  # each side gets half; long lists become counts
    return f"train: {subject_list(train.split(','), room)} | test: {subject_list(test.split(','), room)}"


def log_dataset(client, run_id: str, name: str, fingerprint: str, description: str, root: str | None, context: str) -> None:
    """Record the dataset ``name`` (digest = ``fingerprint``) as an input of run ``run_id``, with ``context``."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    # A folder on disk is a "local" source (its path); a generated corpus (toy, simulator) has no
    # file to point at, so its source names the generator.
    source_type, source = ("local", {"uri": root}) if root else ("code", {"tags": {"mer4d.generator": name}})
    dataset = Dataset(name=name, digest=fingerprint, source_type=source_type, source=json.dumps(source),
                      profile=json.dumps({"description": description}))
    client.log_inputs(run_id, datasets=[DatasetInput(dataset, tags=[InputTag(CONTEXT_TAG, context[:CONTEXT_LIMIT])])])


def start_system_metrics(run_id: str, uri: str, resume: bool = False):
    """MLflow's system-metrics sampler for run ``run_id`` in the store ``uri``, started; None when
    switched off (``MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING=false``) or when psutil is missing.
    ``resume`` continues the step count of an earlier attempt of the run."""
    if os.environ.get(SWITCH, "").strip().lower() in ("false", "0", "no"):
        return None
    try:
        from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor
    except ImportError as exc:  # mlflow.system_metrics imports psutil at module level
        log.warning(f"no system metrics for run {run_id}: {exc} (pip install psutil to record CPU and memory use)")
        return None
    logging.getLogger("mlflow.system_metrics").setLevel(logging.WARNING)  # its start/stop INFO lines on every run are noise
    monitor = SystemMetricsMonitor(run_id, sampling_interval=SAMPLING_SECONDS, resume_logging=resume, tracking_uri=uri)
    if not any(type(m).__name__ in ("GPUMonitor", "ROCMMonitor") for m in monitor.monitors) and _has_cuda():
        log.warning(f"run {run_id}: a CUDA GPU is present but nvidia-ml-py is not installed; no GPU system metrics (pip install nvidia-ml-py)")
    monitor.start()
    return monitor


def stop_system_metrics(monitor) -> None:
    """Stop the sampler and write what it still holds (quick: it wakes at once)."""
    if monitor is not None:
        monitor.finish()


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()
