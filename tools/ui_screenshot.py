"""Write a PNG of an experiment's runs table as the MLflow UI renders it (headless chromium).

    python tools/ui_screenshot.py --uri sqlite:///mlruns/mlflow.db --experiment toy_smoke --out runs.png

It starts ``mer4d ui`` on a free port, waits for the runs-table URL it prints, lets chromium
render the page and stops the server again. Needs a ``chromium`` (or ``chromium-browser`` /
``google-chrome``) on PATH, or CHROMIUM=/path/to/it; tools/setup.sh installs Debian's.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The headless-capable browser to use, or None."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def served(uri: str, experiment: str | None = None, port: int | None = None, timeout: float = 180) -> Iterator[tuple[subprocess.Popen, str]]:
    """``mer4d ui`` on ``port`` (default a free one); yields (process, URL of the first runs table it prints)."""
    port = port or free_port()
    command = [sys.executable, "-m", "mer4d", "ui", "--uri", uri, "--port", str(port), *(["--experiment", experiment] if experiment else [])]
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        url, deadline = None, time.time() + timeout
        while url is None and time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                log.seek(0)
                raise RuntimeError(f"mer4d ui exited ({proc.wait()}) before printing a URL: {log.read().decode()[-2000:]}")
            if "http://" in line:
                url = line[line.index("http://"):].split()[0]
        if url is None:
            raise RuntimeError(f"mer4d ui printed no URL within {timeout:.0f} s")
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def _chromium(url: str, *args: str, wait_ms: int = 15000, width: int = 1600, height: int = 900, timeout: float = 120) -> subprocess.CompletedProcess:
    browser = find_chromium()
    if browser is None:
        raise RuntimeError("no chromium on PATH (apt-get install chromium, or set CHROMIUM=/path/to/it)")
    with tempfile.TemporaryDirectory() as profile:  # a fresh profile: no remembered UI state or assistant panel
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={profile}",
                   f"--window-size={width},{height}", f"--virtual-time-budget={wait_ms}", *args, url]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def rendered_dom(url: str, wait_ms: int = 15000) -> str:
    """The page's DOM after its scripts ran for ``wait_ms`` of virtual time."""
    return _chromium(url, "--dump-dom", wait_ms=wait_ms).stdout


def screenshot(url: str, out: Path, wait_ms: int = 15000, width: int = 1600, height: int = 900) -> Path:
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    done = _chromium(url, f"--screenshot={out}", wait_ms=wait_ms, width=width, height=height)
    if not out.exists():
        raise RuntimeError(f"chromium wrote no screenshot (exit {done.returncode}): {done.stderr[-2000:]}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uri", default=None, help="tracking URI (default MLFLOW_TRACKING_URI, else sqlite:///mlruns/mlflow.db)")
    parser.add_argument("--experiment", default=None, help="experiment name (default the newest with runs)")
    parser.add_argument("--out", type=Path, default=Path("runs_table.png"))
    parser.add_argument("--wait-ms", type=int, default=15000, help="virtual time chromium gives the page to render")
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=900)
    args = parser.parse_args()
    from mer4d.tracking.store import tracking_uri

    with served(tracking_uri(args.uri), args.experiment) as (_, url):
        print(f"{screenshot(url, args.out, args.wait_ms, args.width, args.height)}  ({url})")


if __name__ == "__main__":
    main()
