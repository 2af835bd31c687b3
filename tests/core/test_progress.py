"""Progress on stderr: tqdm on a terminal, discrete lines off one, nothing with --no-progress."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys

import pytest
from conftest import REPO, TINY, TOY_RECIPE

from mer4d.core import progress
from mer4d.core.progress import LineProgress, progress_bar


@pytest.fixture(autouse=True)
def progress_on():
    progress.set_enabled(True)
    yield
    progress.set_enabled(True)


def test_off_a_terminal_progress_is_a_line_per_tenth_without_carriage_returns(capsys):
    for _ in progress_bar(range(132), desc="simulating 4DME (quick)", unit="clip"):
        pass
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert "\r" not in err and len(lines) == 10  # 14, 28, ..., 132: a line per ~10 %
    assert lines[0].startswith("simulating 4DME (quick): 14/132 clips (11%)") and lines[-1].startswith("simulating 4DME (quick): 132/132 clips (100%)")


def test_line_progress_by_update_and_postfix():
    out = io.StringIO()
    bar = LineProgress(total=4, desc="fold 1 epochs", unit="epoch", stream=out, steps=2)
    for _ in range(4):
        bar.update(1)
        bar.set_postfix({"train_loss": "0.5"})
    bar.close()
    assert out.getvalue().splitlines() == [line for line in out.getvalue().splitlines() if line.startswith("fold 1 epochs: ")]
    assert len(out.getvalue().splitlines()) == 2 and "4/4 (100%)" in out.getvalue() and "[train_loss=0.5]" in out.getvalue()


def test_set_enabled_false_silences_every_bar(capsys):
    progress.set_enabled(False)
    bar = progress_bar(total=5, desc="simulating", unit="clip")
    bar.update(5)
    bar.close()
    assert list(progress_bar(range(3), desc="x")) == [0, 1, 2]
    assert capsys.readouterr().err == ""


def test_a_zero_size_pseudo_terminal_still_shows_the_bar():
    """script -qc / docker exec -t: a pty whose window size was never set reports 0 x 0 (tqdm alone prints nothing there)."""
    code = "from mer4d.core.progress import progress_bar\nfor _ in progress_bar(range(3), desc='checking', unit='clip'): pass\n"
    leader, follower = pty.openpty()  # a new pty has a 0 x 0 window
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=follower, stdout=follower, stderr=follower, cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=60)
    os.close(leader)
    assert "checking: 100%|" in b"".join(chunks).decode(errors="replace")


@pytest.mark.slow
@pytest.mark.parametrize("flag", ["--no-progress", "--progress"])
def test_toy_run_progress_on_stderr(store, flag):
    sets = [a for s in TINY for a in ("--set", s)]
    done = subprocess.run([sys.executable, "-m", "mer4d", "run", str(TOY_RECIPE), *sets, flag], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "\r" not in done.stderr and "|" not in done.stderr  # never a bar frame off a terminal
    steps = [line for line in done.stderr.splitlines() if line.startswith(("folds: ", "fold 1 epochs: "))]
    if flag == "--no-progress":
        assert steps == []
    else:
        assert any(line.startswith("folds: 3/3 (100%)") for line in steps), done.stderr[-2000:]
