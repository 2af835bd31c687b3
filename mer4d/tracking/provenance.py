"""What a number needs to be traced back: code version, package versions, machine."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "mer4d", "torch", "numpy", "pandas", "scikit-learn", "mlflow", "pydantic", "kornia",
    "opencv-python-headless", "open3d", "trimesh", "pytorch3d", "mediapipe",
)


def git_state(path: Path | None = None) -> dict[str, str]:
    """Commit and dirty flag of the repository holding the mer4d code (empty outside git)."""
    where = str(path or Path(__file__).resolve().parents[2])
    try:
        commit = subprocess.run(["git", "-C", where, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", where, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"git_commit": commit, "git_dirty": "true" if dirty else "false"}


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def provenance() -> dict[str, object]:
    import torch

    return {
        **git_state(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
        "processes": int(os.environ.get("WORLD_SIZE", "1")),  # > 1: trained data-parallel under torchrun
        "packages": package_versions(),
    }
