"""The one on-disk cache: content-addressed arrays and once-written folders.

Location: ``$MER4D_CACHE`` if set, else the user cache directory (``~/.cache/mer4d`` on Linux).

* :class:`ArrayCache` (face crops, dynamic images, feature rows): an entry's key hashes
  everything it was made from (:func:`cache_key`: the area's version, the input files' names,
  sizes and modification times via :func:`file_stamps`, and every setting), so a changed input
  or setting is a new entry and never a stale hit. Entries are written to a temporary file and
  renamed into place (a crash leaves nothing), and an entry that cannot be read back is made
  again with a warning, never trained on.
* :func:`once_folder` (the simulator's datasets): a folder written into a temporary sibling and
  renamed into place when complete, under a file lock, so an interrupted or concurrent writer
  never leaves a half-written folder that a later run would trust.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np

from mer4d.core.errors import DataError

log = logging.getLogger(__name__)
COMPLETE = ".complete"
_UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


def cache_dir() -> Path:
    env = os.environ.get("MER4D_CACHE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("mer4d"))


def file_stamps(paths: Iterable[Path]) -> list[list]:
    """``[name, size, mtime_ns]`` of each file: enough to notice a replaced or edited input."""
    out = []
    for path in paths:
        st = Path(path).stat()
        out.append([Path(path).name, st.st_size, st.st_mtime_ns])
    return out


def cache_key(area: str, version: int, **parts: object) -> str:
    """sha256 over the area, its version and ``parts`` (JSON; paths and dataclasses as text)."""
    blob = json.dumps({"area": area, "v": version, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class ArrayCache:
    """Named arrays stored as one ``.npz`` per key under ``<cache>/<area>/``.

    Args:
        area: sub-folder and key namespace ("faces", "dynamic", "features").
        version: bump when the code that makes an entry changes what a key produces.
    """

    def __init__(self, area: str, version: int):
        self.area, self.version = area, version

    @property
    def folder(self) -> Path:
        return cache_dir() / self.area

    def key(self, **parts: object) -> str:
        return cache_key(self.area, self.version, **parts)

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.npz"

    def load(self, key: str, check: Callable[[dict[str, np.ndarray]], None] | None = None, what: str = "") -> dict[str, np.ndarray] | None:
        """The stored arrays, fully read (and passed through ``check``, which raises ValueError on
        bad content), or None when absent or unreadable (a warning says which entry and why)."""
        path = self.path(key)
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as stored:
                arrays = {name: stored[name] for name in stored.files}
            if check is not None:
                check(arrays)
            return arrays
        except _UNREADABLE as exc:
            log.warning(f"{self.area} cache entry {path}{f' ({what})' if what else ''} cannot be read ({type(exc).__name__}: {exc}); making it again")
            return None

    def peek(self, key: str, names: Iterable[str]) -> dict[str, np.ndarray] | None:
        """Only the (small) members ``names`` of an entry, or None when it is absent or unreadable."""
        path = self.path(key)
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as stored:  # npz members load lazily
                return {name: stored[name] for name in names}
        except _UNREADABLE:
            return None

    def store(self, key: str, arrays: Mapping[str, np.ndarray]) -> None:
        """Write ``arrays`` via a temporary file and an atomic rename."""
        path = self.path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(f"cannot create the cache folder {path.parent}: {exc}; set MER4D_CACHE to a writable folder") from exc
        handle, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(out, **arrays)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def get_or_make(self, key: str, make: Callable[[], Mapping[str, np.ndarray]], check=None, what: str = "") -> dict[str, np.ndarray]:
        """The stored entry, or ``make()``'s arrays, stored now."""
        found = self.load(key, check, what)
        if found is not None:
            return found
        made = dict(make())
        self.store(key, made)
        return made


def once_folder(final: Path, write: Callable[[Path], object], describe: str) -> Path:
    """``final``, made by ``write(tmp)`` into a temporary sibling on first use, then renamed into place.

    A second process waits on the lock and then finds the finished folder; a folder left by a
    crash (no ``.complete`` marker) is deleted and written again.
    """
    if (final / COMPLETE).exists():
        return final
    base = final.parent
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create the cache folder {base}: {exc}; set MER4D_CACHE to a writable folder") from exc
    with open(base / f".{final.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (final / COMPLETE).exists():
            return final
        if final.exists():  # left by a crash before the marker: never trust it
            shutil.rmtree(final)
        log.warning(f"generating {describe} once into {final}")
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=base))
        try:
            write(tmp)
            (tmp / COMPLETE).write_text(describe + "\n")
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return final
