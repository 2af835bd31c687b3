"""Clip preprocessing on frame tensors: dynamic images (approximate rank pooling) and linear
Eulerian video magnification.

Names are re-exported lazily so that ``import mer4d.preprocess`` stays cheap (no torch or kornia
until a function is used).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "NORMALIZATIONS": "dynamic",
    "DynamicImage": "dynamic",
    "arp_coefficients": "dynamic",
    "dynamic_image": "dynamic",
    "EVMSettings": "evm",
    "TEMPORAL_FILTERS": "evm",
    "laplacian_pyramid": "evm",
    "collapse_pyramid": "evm",
    "level_gains": "evm",
    "magnify": "evm",
    "temporal_filter_matrix": "evm",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"mer4d.preprocess.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'mer4d.preprocess' has no attribute {name!r}")
