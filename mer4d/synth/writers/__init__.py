"""Writers that lay simulated datasets out exactly like the real ones."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def _fourdme(out: Path, **kwargs) -> Path:
    from mer4d.synth.writers.fourdme import write_fourdme

    return write_fourdme(out, **kwargs)


def _samm(out: Path, **kwargs) -> Path:
    from mer4d.synth.writers.samm import write_samm

    return write_samm(out, **kwargs)


# Bump when the simulator's output changes, so cached datasets are regenerated.
SIMULATOR_VERSION = 4  # 4: frames rendered by the rasteriser (float-rounding differences from the ray caster)
WRITERS: dict[str, Callable[..., Path]] = {"4dme": _fourdme, "samm": _samm}
