"""Print how long `mer4d --help` and a few cheap commands take to start (median of N runs).

    python tools/bench_cli.py [--runs 7] [--uri sqlite:///mlruns/mlflow.db]

It also times `mer4d report` on a store (``--uri``; default a throwaway one with a few runs)
both ways: "before" reads it through MlflowClient (what report did before the SQLite reader),
"after" is the command as it is now.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SCRIPT = shutil.which("mer4d")
COMMANDS = {
    "mer4d --help (console script)": [SCRIPT, "--help"] if SCRIPT else None,
    "python -m mer4d --help": [sys.executable, "-m", "mer4d", "--help"],
    "mer4d recipes list": [sys.executable, "-m", "mer4d", "recipes", "list"],
    "mer4d recipes show toy_smoke": [sys.executable, "-m", "mer4d", "recipes", "show", "toy_smoke"],
    "python -c pass (interpreter floor)": [sys.executable, "-c", "pass"],
}


# `mer4d report` with latest_runs reading through MlflowClient, as before store_reader existed
BEFORE = ("import sys; import mer4d.tracking.report as r; from mer4d.tracking.store_reader import finished_runs_client as c; "
          "r.finished_runs = c; from mer4d.cli import main; sys.argv = ['mer4d', 'report', '--uri', sys.argv[1]]; main()")


def _median(command: list[str], runs: int, env: dict | None = None) -> tuple[float, float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


def _demo_store(folder: str) -> str:
    """A store with 3 experiments x 4 finished parent runs (and a nested fold run each)."""
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{folder}/mlflow.db"
    client, now = MlflowClient(uri), int(time.time() * 1000)
    for name in ("toy_a", "toy_b", "toy_c"):
        exp = client.create_experiment(name)
        for k in range(4):
            run = client.create_run(exp, tags={"mer4d.recipe": name, "mer4d.variant": f"k={k}"}, run_name=name)
            client.log_batch(run.info.run_id, metrics=[Metric(m, 0.5, now, 0) for m in ("acc", "uf1", "uar", "f1_a", "f1_b")],
                             params=[Param(f"p{i}", str(i)) for i in range(60)])
            client.set_terminated(run.info.run_id, "FINISHED")
            fold = client.create_run(exp, tags={"mlflow.parentRunId": run.info.run_id})
            client.set_terminated(fold.info.run_id, "FINISHED")
    return uri


def report_table(uri: str | None, runs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        uri = uri or _demo_store(folder)
        env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
        print(f"\nmer4d report on {uri}")
        print(f"{'path':38s} {'median s':>9s} {'min s':>7s} {'max s':>7s}")
        for name, command in (("before: through MlflowClient", [sys.executable, "-c", BEFORE, uri]),
                              ("after: SQLite reader (mer4d report)", [sys.executable, "-m", "mer4d", "report", "--uri", uri])):
            med, lo, hi = _median(command, runs, env)
            print(f"{name:38s} {med:9.3f} {lo:7.3f} {hi:7.3f}")
        print("target: 'mer4d report' under 1 s on a quiet machine")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--uri", default=None, help="store for the mer4d report timing (default: a throwaway one with 12 runs)")
    parser.add_argument("--report-only", action="store_true", help="only the mer4d report table")
    args = parser.parse_args()
    if args.report_only:
        report_table(args.uri, args.runs)
        return
    print(f"{'command':38s} {'median s':>9s} {'min s':>7s} {'max s':>7s}")
    for name, command in COMMANDS.items():
        if command is None:
            print(f"{name:38s} not installed (run tools/setup.sh)")
            continue
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        print(f"{name:38s} {statistics.median(times):9.3f} {min(times):7.3f} {max(times):7.3f}")
    print("target: 'mer4d --help' under 0.5 s (it imports click only)")
    report_table(args.uri, args.runs)


if __name__ == "__main__":
    main()
