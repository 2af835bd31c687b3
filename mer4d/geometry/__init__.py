"""Mesh geometry before rendering: cleanup, rigid alignment to a canonical frontal pose, facial crop.

Layer: just above :mod:`mer4d.core` (imports only core, numpy, scipy and, inside the functions
that need it, Open3D). Everything works on the core containers :class:`~mer4d.core.containers.Mesh`
and :class:`~mer4d.core.containers.MeshSeq` (millimetres, +X the subject's left, +Y up, +Z
towards the frontal camera).

Order for a clip, each step decided on the onset frame and applied identically to every frame:

1. **clean** (:func:`clean_mesh_seq`): drop non-finite, degenerate and duplicate faces, small
   islands and unreferenced vertices, so that ICP, landmark fits and renderers see one surface;
2. **align once per clip** (:func:`align_clip`: :func:`align_to_landmarks` when the clip has 3D
   landmarks, else :func:`align_icp` against a template mesh): one :class:`RigidTransform` from
   the onset moves all frames into the canonical frame (:mod:`mer4d.geometry.template`), so head
   motion inside the clip is kept and per-frame registration jitter never looks like motion;
3. **crop** (:func:`crop_mesh_seq`): keep the vertices inside a region around the nose tip, defined
   in the canonical frame, hence after alignment.

Example:
    >>> cleaned, report = clean_mesh_seq(seq)                          # doctest: +SKIP
    >>> aligned, transform = align_clip(cleaned)                       # doctest: +SKIP
    >>> face, selection = crop_mesh_seq(aligned)                       # doctest: +SKIP
"""

from mer4d.geometry.align import (
    ICP_METHODS,
    IcpOptions,
    IcpResult,
    align_clip,
    align_icp,
    align_to_landmarks,
    fit_to_template,
    icp,
)
from mer4d.geometry.cleanup import DEGENERATE_HEIGHT_MM, MIN_ISLAND_FRACTION, CleanupReport, clean_mesh, clean_mesh_seq
from mer4d.geometry.crop import CROP_SHAPES, FaceCrop, crop_mesh, crop_mesh_seq
from mer4d.geometry.errors import GeometryError
from mer4d.geometry.selection import VertexSelection
from mer4d.geometry.template import ALIGNMENT_LANDMARKS, CANONICAL_LANDMARKS, canonical_landmarks
from mer4d.geometry.transform import RigidTransform, fit_rigid, transform_mesh

__all__ = [
    "ALIGNMENT_LANDMARKS",
    "CANONICAL_LANDMARKS",
    "CROP_SHAPES",
    "DEGENERATE_HEIGHT_MM",
    "ICP_METHODS",
    "MIN_ISLAND_FRACTION",
    "CleanupReport",
    "FaceCrop",
    "GeometryError",
    "IcpOptions",
    "IcpResult",
    "RigidTransform",
    "VertexSelection",
    "align_clip",
    "align_icp",
    "align_to_landmarks",
    "canonical_landmarks",
    "clean_mesh",
    "clean_mesh_seq",
    "crop_mesh",
    "crop_mesh_seq",
    "fit_rigid",
    "fit_to_template",
    "icp",
    "transform_mesh",
]
