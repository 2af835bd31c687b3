"""A 4D clip -> per-view domain frames -> cross-domain dynamic images (the CCDN input).

Steps (DESIGN §7, ``algorithms.md`` §1-2), each decided once per clip:

1. :func:`prepare_clip`: clean, align to the canonical frontal pose (landmarks when the clip has
   them, else ICP against the canonical template face), crop the face (:mod:`mer4d.geometry`);
2. :func:`view_rig`, :func:`render_domains`: render left / front / right orthographic views
   (yaw ``±yaw_deg``) at ``oversample x size``, framed from the clip's extent;
3. :func:`domain_frames`: domains per view and frame (:mod:`mer4d.preprocess.domains`): DPI,
   E-DPI, gray texture; then every view gets its own face crop: the square around the union of
   its face mask over the clip, resized to ``size x size``;
4. :func:`dynamic_images`: approximate rank pooling over time, then min-max to [0, 1] per
   (view, domain) after clipping to the 1st-99th percentiles (a few rim pixels must not set the range).

:func:`view_frames` is steps 2-3; ``mer4d render`` runs the same functions, so what it shows is
what the models get.

The result, ``(V, D, H, W)`` float32, stacks the D domain dynamic images of a view as channels:
with the default domains (dpi, edpi, texture) that is a 3-channel "cross-domain" image per view.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mer4d.core.containers import Mesh, MeshSeq
from mer4d.core.errors import DataError, RecipeError
from mer4d.preprocess.domains import EDPI_METHODS, dpi, edpi, gray_texture

if TYPE_CHECKING:  # the renderer is imported when a clip is rendered, not with the settings
    from mer4d.render import Rendered, Rig

DOMAINS_4D = ("dpi", "edpi", "texture")
EYE_DISTANCE_MM = 600.0  # the camera distance every clip was rendered at (View's default); only larger meshes move it


@dataclass(frozen=True)
class MeshViewSettings:
    """How a mesh clip becomes view images. Part of every cache key: change one, re-render."""

    views: tuple[str, ...] = ("left", "front", "right")
    yaw_deg: float = 30.0  # a guess (algorithms.md §2): the CCDN paper's angles are not public
    size: int = 224
    domains: tuple[str, ...] = DOMAINS_4D
    edpi: str = "highpass"
    oversample: float = 1.25  # render larger, then crop each view to its own face box
    frames: int = 0  # > 0: uniformly pick this many frames onset->offset before rendering
    align: str = "auto"  # "auto" | "landmarks" | "icp" | "none"
    crop: bool = True
    backend: str = "open3d"

    def __post_init__(self) -> None:
        unknown = [d for d in self.domains if d not in DOMAINS_4D]
        if unknown or not self.domains:
            raise RecipeError(f"render.domains: unknown {unknown or 'empty list'}; expected some of {', '.join(DOMAINS_4D)}")
        if self.edpi not in EDPI_METHODS:
            raise RecipeError(f"render.edpi: unknown method {self.edpi!r}; expected one of {', '.join(EDPI_METHODS)}")
        if self.align not in ("auto", "landmarks", "icp", "none"):
            raise RecipeError(f"render.align: expected auto, landmarks, icp or none, got {self.align!r}")


def canonical_template() -> Mesh:
    """The ICP target: the average face shipped with :mod:`mer4d.geometry.template`, which defines the canonical frame."""
    from mer4d.geometry.template import canonical_face_mesh

    return canonical_face_mesh()


def prepare_clip(seq: MeshSeq, settings: MeshViewSettings) -> MeshSeq:
    """Clean, align once from the onset (frame 0) and crop the face."""
    from mer4d.geometry import align_clip, clean_mesh_seq, crop_mesh_seq

    seq, _ = clean_mesh_seq(seq)
    if settings.align != "none":
        seq, _ = align_clip(seq, method=settings.align, template_mesh=canonical_template())
    if settings.crop:
        seq, _ = crop_mesh_seq(seq)
    return seq


def view_frames(seq: MeshSeq, settings: MeshViewSettings) -> dict[str, np.ndarray]:
    """Render a prepared clip: ``{domain: (T, V, size, size) float32}`` plus ``"mask"`` (bool)."""
    from mer4d.render import get_renderer

    if settings.frames > 0 and len(seq) > settings.frames:
        keep = np.linspace(0, len(seq) - 1, settings.frames).round().astype(int)
        seq = MeshSeq(seq.vertices[keep], seq.faces, seq.fps, uvs=seq.uvs, texture=seq.texture, colors=seq.colors)
    rendered = get_renderer(settings.backend).render(seq, view_rig(seq, settings), render_domains(settings))
    return domain_frames(rendered, settings)


def view_rig(seq: MeshSeq, settings: MeshViewSettings) -> Rig:
    """The orthographic views of a clip, framed from its extent on the first frame.

    One extent and target for all views: the first frame's bounding box centre, its longest side
    plus 10% (each view is cut to its own face box afterwards, :func:`domain_frames`), rendered at
    ``oversample x size`` pixels.

    Raises:
        DataError: the first frame has no size (all vertices at one point, or not finite).
    """
    from mer4d.render import Rig

    lo, hi = seq.vertices[0].min(axis=0), seq.vertices[0].max(axis=0)
    side = float(np.max(hi - lo))
    if not np.isfinite(side) or side <= 0:
        raise DataError(f"the mesh has no size (first frame's bounding box {lo.tolist()} to {hi.tolist()}); nothing to frame")
    extent = side * 1.1  # covers the face at any yaw
    # Depth is measured from the eye, which must stay outside the mesh at every yaw: View's 600 mm
    # does for faces in mm; larger meshes (or other units) push it back.
    distance = max(EYE_DISTANCE_MM, float(np.linalg.norm(hi - lo)))
    px = int(round(settings.size * settings.oversample))
    return Rig.from_names(settings.views, yaw_deg=settings.yaw_deg, size=px, extent_mm=extent, distance_mm=distance,
                          target=tuple(float(c) for c in (lo + hi) / 2))


def render_domains(settings: MeshViewSettings) -> tuple[str, ...]:
    """The renderer domains ``settings`` need: depth always, the texture for the texture domain or the "mix" E-DPI."""
    return ("depth", "texture") if "texture" in settings.domains or settings.edpi == "mix" else ("depth",)


def domain_frames(rendered: Rendered, settings: MeshViewSettings, extras: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """A rendering's domain frames, each view cut to its own face box and resized to ``settings.size``.

    Args:
        rendered: a rendering of :func:`view_rig` with (at least) :func:`render_domains`.
        settings: which domains and E-DPI method, and the output size.
        extras: more (T, V, H, W[, C]) images at render resolution to cut the same way (``mer4d
            render`` shows the RGB texture and the normals next to the domains).

    Returns:
        ``{domain: (T, V, size, size) float32}`` for ``settings.domains``, ``"mask"`` (bool), and
        every extra under its own name.
    """
    # Domains are computed at render resolution (where the mask is exact), then each view is cut
    # to its own face box: resizing depth first would blend the background into the rim.
    mask = rendered.mask
    full: dict[str, np.ndarray] = {"dpi": dpi(rendered.depth, mask)}
    gray = gray_texture(rendered.texture, mask) if rendered.texture is not None else None
    if gray is None and "texture" in render_domains(settings):
        raise RecipeError(f"domain_frames: {', '.join(settings.domains)} with E-DPI {settings.edpi!r} need the texture; render with "
                          f"domains {render_domains(settings)}")
    if "texture" in settings.domains:
        full["texture"] = gray
    if "edpi" in settings.domains:
        full["edpi"] = edpi(full["dpi"], mask, settings.edpi, gray=gray)
    boxes = [_face_box(mask[:, v]) for v in range(mask.shape[1])]
    frames = {name: _crop(full[name], boxes, settings.size) for name in settings.domains}
    frames["mask"] = _crop(mask.astype(np.float32), boxes, settings.size) > 0.5
    for name, images in (extras or {}).items():
        frames[name] = _crop(images, boxes, settings.size)
    return frames


def dynamic_images(frames: dict[str, np.ndarray], domains: tuple[str, ...]) -> np.ndarray:
    """(V, D, H, W) float32: rank-pooled domain frames, min-max to [0, 1] per (view, domain)."""
    from mer4d.preprocess.dynamic import dynamic_image

    stacked = np.stack([frames[d] for d in domains], axis=2)  # (T, V, D, H, W)
    if stacked.shape[0] < 2:
        raise RecipeError(f"dynamic images need at least 2 frames, the clip has {stacked.shape[0]}")
    per_domain = np.ascontiguousarray(stacked.transpose(1, 2, 0, 3, 4))[:, :, :, None]  # (V, D, T, 1, H, W): one image per (view, domain)
    pooled = dynamic_image(per_domain, dim=2, normalize="minmax", percentiles=(1.0, 99.0))
    return pooled[:, :, 0].astype(np.float32)


def clip_dynamic_images(seq: MeshSeq, settings: MeshViewSettings) -> np.ndarray:
    """The whole chain for one clip: ``(V, D, size, size)`` float32 cross-domain dynamic images."""
    return dynamic_images(view_frames(prepare_clip(seq, settings), settings), settings.domains)


def _face_box(mask: np.ndarray) -> tuple[int, int, int]:
    """(row, col, side) of the smallest square holding the mask's union over frames, with a 4% margin."""
    union = mask.any(axis=0)
    height, width = union.shape
    if not union.any():
        return 0, 0, min(height, width)
    rows, cols = np.flatnonzero(union.any(axis=1)), np.flatnonzero(union.any(axis=0))
    side = int(np.ceil(max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) * 1.04))
    side = min(side, height, width)
    r0 = int(np.clip((rows[0] + rows[-1] + 1 - side) // 2, 0, height - side))
    c0 = int(np.clip((cols[0] + cols[-1] + 1 - side) // 2, 0, width - side))
    return r0, c0, side


def _crop(images: np.ndarray, boxes: list[tuple[int, int, int]], size: int) -> np.ndarray:
    """(T, V, H, W[, C]) -> (T, V, size, size[, C]): each view cut to its box and resized (area averaging)."""
    import cv2

    out = np.empty((images.shape[0], images.shape[1], size, size, *images.shape[4:]), dtype=np.float32)
    for v, (r0, c0, side) in enumerate(boxes):
        for t in range(images.shape[0]):
            out[t, v] = cv2.resize(np.ascontiguousarray(images[t, v, r0 : r0 + side, c0 : c0 + side], dtype=np.float32), (size, size), interpolation=cv2.INTER_AREA)
    return out
