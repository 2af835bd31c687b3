"""Writers that lay simulated datasets out exactly like the real ones.

``WRITERS[kind](out, *, size="quick", seed=0, **options)`` writes the layout of dataset ``kind``
into ``out``; each writer module is imported only when its kind is used.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from pathlib import Path

# kind -> module of mer4d.synth.writers holding write_<module>()
_MODULES: dict[str, str] = {"4dme": "fourdme", "casme2": "casme2", "smic": "smic", "casme3": "casme3", "mmew": "mmew", "samm": "samm", "megc2019": "megc2019", "dfme": "dfme"}


def _lazy(module: str) -> Callable[..., Path]:
    def write(out: Path, **kwargs) -> Path:
        return getattr(import_module(f"{__name__}.{module}"), f"write_{module}")(out, **kwargs)

    write.__name__ = f"write_{module}"
    return write


# Bump when the simulator's output changes, so cached datasets are regenerated.
SIMULATOR_VERSION = 7  # 7: 4DME sheets carry the planted AU amplitudes (planted_mm), quick size 24 subjects x 12 micro clips; 4: frames rendered by the rasteriser (float-rounding differences from the ray caster); 5: CAS(ME)^3 Part A
# also writes macro-expression clips and their MaE sheet (its micro clips and ME sheet are byte-identical to v4's); 6: 4DME labels
# from the paper's Table 4 and rules (static AUs count), a new 4DME AU catalog drawn before the event (so every 4DME clip
# differs from v5's), and the 4DME options label_rules and unilateral
WRITERS: dict[str, Callable[..., Path]] = {kind: _lazy(module) for kind, module in _MODULES.items()}
