"""Writers that lay simulated datasets out exactly like the real ones."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def _fourdme(out: Path, **kwargs) -> Path:
    from mer4d.synth.writers.fourdme import write_fourdme

    return write_fourdme(out, **kwargs)


def _mmew(out: Path, **kwargs) -> Path:
    from mer4d.synth.writers.mmew import write_mmew

    return write_mmew(out, **kwargs)


# Bump when the simulator's output changes, so cached datasets are regenerated.
SIMULATOR_VERSION = 4  # 4: frames rendered by the rasteriser (float-rounding differences from the ray caster)
WRITERS: dict[str, Callable[..., Path]] = {"4dme": _fourdme, "mmew": _mmew}
