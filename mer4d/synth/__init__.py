"""The simulator: procedural faces, an AU library, expression events and (elsewhere) dataset writers.

Exports below are resolved lazily (PEP 562), so ``import mer4d.synth.toy`` does not pay for scipy
and the face builder.
"""

from __future__ import annotations

import importlib
from typing import Any

# Face, AU library and events (mer4d.synth.identity / face / aus / events).
_LAZY_EXPORTS: dict[str, str] = {
    "Identity": "mer4d.synth.identity",
    "sample_identity": "mer4d.synth.identity",
    "FaceModel": "mer4d.synth.face",
    "make_face": "mer4d.synth.face",
    "LANDMARK_NAMES": "mer4d.geometry.template",
    "SUPPORTED_AUS": "mer4d.synth.aus",
    "au_field": "mer4d.synth.aus",
    "au_displacement": "mer4d.synth.aus",
    "closure_amplitude": "mer4d.synth.aus",
    "Event": "mer4d.synth.events",
    "Distractors": "mer4d.synth.events",
    "Animation": "mer4d.synth.events",
    "profile": "mer4d.synth.events",
    "sample_event": "mer4d.synth.events",
    "animate": "mer4d.synth.events",
}

__all__ = sorted(_LAZY_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _LAZY_EXPORTS:
        return getattr(importlib.import_module(_LAZY_EXPORTS[name]), name)
    raise AttributeError(f"module 'mer4d.synth' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_EXPORTS})
