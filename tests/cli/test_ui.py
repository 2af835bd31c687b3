"""``mer4d ui``: the runs-table URLs it prints, its experiment tags, stopping it, and the page a browser renders."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from mer4d.tracking.store import EXPERIMENT_KIND, EXPERIMENT_KIND_TAG, VIEW_TAG, experiment_id

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("ui_screenshot", REPO / "tools" / "ui_screenshot.py")
ui_screenshot = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = ui_screenshot
_spec.loader.exec_module(ui_screenshot)

RUN_NAME = "toy_smoke_ui_check"
UF1 = 0.8765


def finished_run(uri: str, experiment: str = "toy_smoke") -> tuple[str, str]:
    """One finished mer4d-like parent run with pooled metrics, written with the MLflow client; (experiment id, run id)."""
    client = MlflowClient(uri)
    exp = experiment_id(client, experiment, uri)
    run = client.create_run(exp, tags={"mer4d.recipe": "toy_smoke", "mer4d.profile": "published", "mer4d.variant": ""}, run_name=RUN_NAME)
    now = int(time.time() * 1000)
    client.log_batch(run.info.run_id, metrics=[Metric("uf1", UF1, now, 0), Metric("acc", 0.9, now, 0), Metric("uar", 0.85, now, 0)])
    client.set_terminated(run.info.run_id, "FINISHED")
    return exp, run.info.run_id


def descendants(pid: int) -> set[int]:
    """Every live (non-zombie) process below ``pid``, read from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = (int(fields[1]), fields[0])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, (parent, state) in parents.items() if parent in frontier and state != "Z"} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_new_and_reused_experiments_are_marked_model_training(store):
    client = MlflowClient(store)
    new = client.get_experiment(experiment_id(client, "fresh", store))
    assert new.tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND and VIEW_TAG in new.tags
    old = client.create_experiment("made_elsewhere")  # an experiment an older mer4d made, without the tags
    assert experiment_id(client, "made_elsewhere", store) == old
    assert client.get_experiment(old).tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND


@pytest.mark.slow
def test_ui_prints_runs_urls_and_sigterm_stops_the_whole_server(store):
    exp, _ = finished_run(store)
    older, _ = finished_run(store, "older_experiment")  # created second, so listed first
    port = ui_screenshot.free_port()
    with ui_screenshot.served(store, port=port) as (proc, url):
        assert url == f"http://127.0.0.1:{port}/#/experiments/{older}/runs?workflowType=machine_learning&viewStateShareKey=mer4d"
        line = proc.stdout.readline()
        assert f"/#/experiments/{exp}/runs?" in line and line.startswith("toy_smoke: ")
        children = descendants(proc.pid)
        assert children and not port_free(port)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=40) == 0
    deadline = time.time() + 10
    while time.time() < deadline and (any(alive(p) for p in children) or not port_free(port)):
        time.sleep(0.2)
    assert not [p for p in children if alive(p)], "server processes outlived mer4d ui"
    assert port_free(port)


@pytest.mark.slow
def test_ui_experiment_option_names_unknown_experiments(store):
    finished_run(store)
    from click.testing import CliRunner

    from mer4d.cli.ui import ui

    result = CliRunner().invoke(ui, ["--uri", store, "--experiment", "nope"])
    assert result.exit_code != 0 and "nope" in str(result.exception) and "toy_smoke" in str(result.exception)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(ui_screenshot.find_chromium() is None, reason="no chromium on PATH: tools/setup.sh installs it (apt-get install chromium)")
def test_runs_table_renders_the_run_and_its_metric_in_a_real_browser(store, tmp_path):
    _, run_id = finished_run(store)
    with ui_screenshot.served(store, "toy_smoke") as (_, url):
        text = ""
        for wait_ms in (15000, 30000):  # a loaded machine may need longer to render
            dom = ui_screenshot.rendered_dom(url, wait_ms)
            text = dom.split("<body", 1)[-1]
            if RUN_NAME in text and str(UF1) in text:
                break
        assert RUN_NAME in text, "the runs table did not render the run's name"
        assert str(UF1) in text, "the runs table did not show the run's uf1 metric as a column"
        assert "Model training" in text
        shot = ui_screenshot.screenshot(url, tmp_path / "runs.png")
        assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert os.path.exists(shot)
