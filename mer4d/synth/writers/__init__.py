"""Writers that lay simulated datasets out exactly like the real ones.

``WRITERS[kind](out, *, size="quick", seed=0, **options)`` writes the layout of dataset ``kind``
into ``out``; each writer module is imported only when its kind is used. Every writer also takes
``annotators=N`` (and ``disagreement=p``, default 0.2): N simulated annotators per clip, noisy copies
of the planted labels, written to ``annotators.csv`` in the root (:mod:`mer4d.synth.annotators`).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from pathlib import Path

from mer4d.core.errors import DataError

DEFAULT_DISAGREEMENT = 0.2  # share of labels a simulated annotator changes when only annotators=N is given
# kind -> module of mer4d.synth.writers holding write_<module>()
_MODULES: dict[str, str] = {"4dme": "fourdme", "casme2": "casme2", "smic": "smic", "casme3": "casme3", "mmew": "mmew", "samm": "samm", "megc2019": "megc2019", "dfme": "dfme"}


def _lazy(kind: str, module: str) -> Callable[..., Path]:
    def write(out: Path, **kwargs) -> Path:
        # Options every writer takes: simulated annotators (mer4d.synth.annotators), written after the layout.
        annotators, disagreement = kwargs.pop("annotators", None), kwargs.pop("disagreement", None)
        if annotators is None and disagreement is not None:
            raise DataError(f"simulator option disagreement={disagreement!r} needs annotators=N (N >= 2 simulated annotators per clip)")
        if annotators is not None:
            from mer4d.synth.annotators import check_annotator_options

            check_annotator_options(annotators, DEFAULT_DISAGREEMENT if disagreement is None else disagreement)  # before the slow part
        root = getattr(import_module(f"{__name__}.{module}"), f"write_{module}")(out, **kwargs)
        if annotators is not None:
            from mer4d.synth.annotators import write_annotators

            write_annotators(Path(root), kind, annotators, DEFAULT_DISAGREEMENT if disagreement is None else disagreement, kwargs.get("seed", 0), kwargs)
        return root

    write.__name__ = f"write_{module}"
    return write


# Bump when the simulator's output changes, so cached datasets are regenerated.
SIMULATOR_VERSION = 7  # 7: 4DME sheets carry the planted AU amplitudes (planted_mm), quick size 24 subjects x 12 micro clips; 4: frames rendered by the rasteriser (float-rounding differences from the ray caster); 5: CAS(ME)^3 Part A
# also writes macro-expression clips and their MaE sheet (its micro clips and ME sheet are byte-identical to v4's); 6: 4DME labels
# from the paper's Table 4 and rules (static AUs count), a new 4DME AU catalog drawn before the event (so every 4DME clip
# differs from v5's), and the 4DME options label_rules and unilateral
WRITERS: dict[str, Callable[..., Path]] = {kind: _lazy(kind, module) for kind, module in _MODULES.items()}
