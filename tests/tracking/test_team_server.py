"""A lab's tracking server end to end: ``mer4d server`` starts a real PostgreSQL and a real MLflow server,
a toy run logs to it over HTTP, is killed with SIGKILL midway and resumed, and everything is read back
through the REST client; stopping the server stops PostgreSQL, and a restart finds the run again."""

import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import TOY_RECIPE
from sklearn.metrics import accuracy_score, f1_score

from mer4d.core.errors import MissingDependencyError

pytestmark = pytest.mark.slow

SETTINGS = ["--set", "dataset.params.subjects=5", "--set", "dataset.params.clips_per_class=2", "--set", "train.epochs=3", "--set", "model.params.width=4"]


def postgres_or_skip():
    from mer4d.tracking.postgres import find_bin, run_as

    try:
        find_bin()
        import psycopg  # noqa: F401  the driver of the cluster's URI (the server extra)
    except (MissingDependencyError, ImportError) as exc:
        pytest.skip(f"no PostgreSQL to test against: {exc}")
    if os.geteuid() == 0:
        try:
            run_as(None)
        except Exception as exc:
            pytest.skip(f"running as root and PostgreSQL cannot be run as another user: {exc}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``python -m mer4d server`` in the background; ``uri`` once it printed the tracking URI."""

    def __init__(self, data: Path, log: Path):
        self.port = free_port()
        self.log = log
        self.proc = subprocess.Popen([sys.executable, "-m", "mer4d", "server", "--data", str(data), "--port", str(self.port), "--workers", "1"],
                                     stdout=subprocess.PIPE, stderr=log.open("a"), text=True)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in self.proc.stdout], daemon=True).start()
        self.uri, deadline = None, time.time() + 240
        while self.uri is None and time.time() < deadline and self.proc.poll() is None:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if line.startswith("tracking URI: "):
                self.uri = line.split(": ", 1)[1].strip()
        if self.uri is None:
            self.stop()
            text = log.read_text()
            if "PostgreSQL could not start" in text:  # a machine where the server cannot run (e.g. no shared memory)
                pytest.skip(f"PostgreSQL is installed but could not start here: {text[text.index('PostgreSQL could not start'):][:600]}")
            raise AssertionError(f"mer4d server printed no tracking URI; its log:\n{text[-4000:]}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=90)


def mer4d_run(uri: str, *extra: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}  # tracking.uri must be what picks the server
    env["MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL"] = "1"  # a toy run lasts seconds: sample often enough to see some
    return subprocess.Popen([sys.executable, "-m", "mer4d", "run", str(TOY_RECIPE), *SETTINGS, "--set", f"tracking.uri={uri}", "--no-progress", *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def parents_and_folds(client):
    exp = client.get_experiment_by_name("toy_smoke")
    runs = client.search_runs([exp.experiment_id]) if exp else []
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    folds = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return parents, folds


@pytest.fixture
def data_folder():
    """A server data folder the postgres user can reach when we are root (pytest's own tmp is 0700 root)."""
    folder = Path(tempfile.mkdtemp(prefix="m4s-", dir="/tmp"))  # short: PostgreSQL's socket lives in it
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_killed_run_resumes_on_the_server_and_reads_back_over_rest(data_folder, tmp_path):
    postgres_or_skip()
    from mlflow.tracking import MlflowClient

    log = tmp_path / "server.log"
    server = Server(data_folder, log)
    try:
        assert server.uri == f"http://127.0.0.1:{server.port}"
        client = MlflowClient(server.uri)
        victim = mer4d_run(server.uri)
        run_id, deadline = None, time.time() + 240
        while time.time() < deadline:
            time.sleep(0.3)
            assert victim.poll() is None, f"the run ended before it could be killed; make SETTINGS slower:\n{victim.stderr.read()[-3000:]}"
            parents, folds = parents_and_folds(client)
            if parents and sum(f.info.status == "FINISHED" for f in folds) >= 2:
                run_id = parents[0].info.run_id
                break
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        assert run_id is not None
        assert client.get_run(run_id).info.status == "RUNNING"  # never left looking finished
        done_before = {f.data.tags["mer4d.fold_number"] for f in parents_and_folds(client)[1] if f.info.status == "FINISHED"}

        resumed = mer4d_run(server.uri, "--resume", run_id)
        out, err = resumed.communicate(timeout=300)
        assert resumed.returncode == 0, err[-3000:]
        assert err.count("finished in an earlier attempt, reused") == len(done_before)
        assert f"run {run_id} in {server.uri}" in out

        parents, folds = parents_and_folds(client)
        assert [p.info.run_id for p in parents] == [run_id]  # the resume continued the run: one parent, not two
        run = client.get_run(run_id)
        assert run.info.status == "FINISHED"
        finished = {f.data.tags["mer4d.fold_number"]: f for f in folds if f.info.status == "FINISHED"}
        assert sorted(finished) == [str(i) for i in range(5)]
        assert all(f.data.tags["mlflow.parentRunId"] == run_id for f in folds)

        # artifacts went through the server (no shared file system): listed and downloaded over REST, kept under DATA/artifacts
        assert client.get_experiment(run.info.experiment_id).artifact_location.startswith("mlflow-artifacts:")
        assert {"recipe.resolved.yaml", "provenance.json", "predictions.csv", "confusion_matrix.png"} <= {a.path for a in client.list_artifacts(run_id)}
        table = pd.read_csv(client.download_artifacts(run_id, "predictions.csv", str(tmp_path)), dtype={"subject": str})
        assert (data_folder / "artifacts" / run.info.experiment_id / run_id / "artifacts" / "predictions.csv").exists()
        labels = sorted(table.truth.unique())
        assert run.data.metrics["uf1"] == pytest.approx(f1_score(table.truth, table.prediction, labels=labels, average="macro", zero_division=0), abs=1e-12)
        assert run.data.metrics["acc"] == pytest.approx(accuracy_score(table.truth, table.prediction), abs=1e-12)

        # the dataset input: digest = the fingerprint; each fold's context names its subjects, as its predictions do
        (parent_input,) = run.inputs.dataset_inputs
        assert parent_input.dataset.name == "toy" and parent_input.dataset.digest == run.data.tags["mer4d.dataset_fingerprint"]
        for fold in finished.values():
            (given,) = fold.inputs.dataset_inputs
            test = table[table.fold == fold.data.tags["mer4d.fold_name"]].subject.unique()
            train = sorted(set(table.subject) - set(test))
            assert given.dataset.digest == parent_input.dataset.digest
            assert {t.key: t.value for t in given.tags}["mlflow.data.context"] == f"train: {','.join(train)} | test: {','.join(sorted(test))}"
        assert run.data.metrics.get("system/cpu_utilization_percentage") is not None
        assert client.get_metric_history(run_id, "system/system_memory_usage_megabytes")

        # mer4d report reads the server through the MLflow client
        report = subprocess.run([sys.executable, "-m", "mer4d", "report", "--uri", server.uri], capture_output=True, text=True, timeout=120)
        assert report.returncode == 0 and run_id[:8] in report.stdout, report.stderr
    finally:
        code = server.stop()
    assert code == 0, log.read_text()[-3000:]
    assert not (data_folder / "postgres" / "postmaster.pid").exists()  # the PostgreSQL it started is stopped

    again = Server(data_folder, log)  # the same folder again: the cluster and the run are still there
    try:
        assert MlflowClient(again.uri).get_run(run_id).data.metrics["uf1"] == run.data.metrics["uf1"]
    finally:
        assert again.stop() == 0
    assert "already running" not in log.read_text()
