"""Print how long `mer4d --help` and a few cheap commands take to start (median of N runs).

    python tools/bench_cli.py [--runs 7]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

SCRIPT = shutil.which("mer4d")
COMMANDS = {
    "mer4d --help (console script)": [SCRIPT, "--help"] if SCRIPT else None,
    "python -m mer4d --help": [sys.executable, "-m", "mer4d", "--help"],
    "mer4d recipes list": [sys.executable, "-m", "mer4d", "recipes", "list"],
    "mer4d recipes show toy_smoke": [sys.executable, "-m", "mer4d", "recipes", "show", "toy_smoke"],
    "python -c pass (interpreter floor)": [sys.executable, "-c", "pass"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
