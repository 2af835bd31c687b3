"""The cache folder, and the built-in simulated datasets generated into it once.

Location: ``$MER4D_CACHE`` if set, else the user cache directory (``~/.cache/mer4d`` on Linux).
A dataset is written into a temporary sibling folder and renamed into place only when complete,
under a file lock, so an interrupted or concurrent generation never leaves a half-written
dataset that a later run would trust.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
from pathlib import Path

from mer4d.core.errors import DataError

log = logging.getLogger(__name__)
COMPLETE = ".complete"


def cache_dir() -> Path:
    env = os.environ.get("MER4D_CACHE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("mer4d"))


def simulated_dataset(kind: str, size: str = "quick", seed: int = 0) -> Path:
    """The folder of the simulated ``kind`` dataset, generating it on first use."""
    from mer4d.synth.writers import SIMULATOR_VERSION, WRITERS

    if kind not in WRITERS:
        raise DataError(f"no simulator writer for dataset '{kind}'; available: {sorted(WRITERS)}")
    base = cache_dir() / "sim"
    final = base / f"{kind}-{size}-seed{seed}-v{SIMULATOR_VERSION}"
    if (final / COMPLETE).exists():
        return final
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create the cache folder {base}: {exc}; set MER4D_CACHE to a writable folder") from exc
    with open(base / f".{final.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second process waits here, then finds the finished folder
        if (final / COMPLETE).exists():
            return final
        if final.exists():  # left by a crash before the marker: never trust it
            shutil.rmtree(final)
        log.warning(f"generating the simulated {kind} dataset ({size}, seed {seed}) once into {final}")
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=base))
        try:
            WRITERS[kind](tmp, size=size, seed=seed)
            (tmp / COMPLETE).write_text(f"{kind} {size} seed={seed} v{SIMULATOR_VERSION}\n")
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return final
