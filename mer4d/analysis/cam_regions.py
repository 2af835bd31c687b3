"""On the built-in 4DME simulator: the image region each AU moves, and whether its CAM peaks there.

The simulator plants each AU as a displacement field with compact support on the subject's face
(:mod:`mer4d.synth.au_fields`). Its region in a test clip's input image is found by following the
clip's own pipeline: the face's mesh triangles where the AU's field moves skin by at least
:data:`MOVING` of its peak are projected by the gray camera the writer used, mapped by the
similarity the face stage estimated from the clip's onset landmarks (``preprocess.face``), resized
to ``preprocess.size`` and centre-cropped to ``train.crop``, and filled. Only the clip's planted
variant counts (L12 moves the left mouth corner only). An AU's region is the per-pixel share of
its clips whose region covers the pixel; its map peaks *inside* when that share is at least one half.

Reported per AU map: the peak and its distance to the region (pixels), the map's share of its mass
inside the region and that share over the region's area (*enrichment*: 1 for a uniform map). Two
limits to read them with: a 3D CNN's last stage is coarse (Res3D's ``layer4`` is 4 x 4 cells
for a 64 px input, so its upsampled map can only peak near 16 px cell centres), and a gray image
shows skin motion only where it crosses texture (brows, lids, lips), which may be the region's
edge (AU1 raises the whole inner forehead, but the image changes at the brow).
"""

from __future__ import annotations

import functools
import logging

import numpy as np
import pandas as pd

from mer4d.analysis.cam_maps import AU, GroupMaps
from mer4d.recipes.schema import Recipe

log = logging.getLogger(__name__)
MOVING = 0.1  # a vertex belongs to an AU's region where it moves by >= 10 % of the field's largest displacement
INSIDE = 0.5  # the peak is inside when at least half of the AU's clips have it in their region


@functools.lru_cache(maxsize=32)
def _face(seed: int, subject: int, size: str):
    from mer4d.synth.writers.fourdme import simulated_face

    return simulated_face(seed, subject, size)


def image_transform(recipe: Recipe, row: pd.Series):
    """(N, 2) gray-camera pixels -> (N, 2) pixels of the model's input for clip ``row`` (see the module docstring)."""
    from mer4d.pipeline.frames import clip_range
    from mer4d.preprocess.face_align import estimate_to_template
    from mer4d.preprocess.face_landmarks import read_landmark_file
    from mer4d.synth.writers.fourdme import SIZES

    face = recipe.preprocess.face
    size = recipe.preprocess.size
    if face.enabled:
        from pathlib import Path

        from mer4d.data.readers.landmarks import LANDMARK_FILE

        onset = clip_range(row, 1)[0]
        similarity = estimate_to_template(read_landmark_file(Path(row["gray_dir"]) / LANDMARK_FILE, onset).points, face.crop)
        side = face.crop
    else:
        similarity, side = None, SIZES[recipe.dataset.simulator.size].gray_px
    offset = 0 if recipe.train.crop is None else (size - recipe.train.crop) // 2

    def apply(uv: np.ndarray) -> np.ndarray:
        points = similarity.apply(uv) if similarity is not None else uv
        return (points + 0.5) * (size / side) - 0.5 - offset  # pixel centres: cv2.resize maps x + 0.5 linearly

    return apply


def au_region(recipe: Recipe, row: pd.Series, au: str, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: where the clip's planted variants of ``au`` (e.g. AU12: L12) move its face, in the model's input."""
    import cv2

    from mer4d.render import View
    from mer4d.render.rig import project
    from mer4d.synth.aus import au_field
    from mer4d.synth.writers.fourdme import GRAY_VIEW, SIZES
    from mer4d.train.targets import detection_au

    sim = recipe.dataset.simulator
    face = _face(sim.seed, int(str(row["subject"]).lstrip("S")) - 1, sim.size)
    codes = [c for c in row["aus"] if "(k)" not in str(c) and detection_au(c) == au]
    mask = np.zeros(shape, dtype=np.uint8)
    if not codes:
        return mask.astype(bool)
    moved = np.max([np.linalg.norm(au_field(face, c), axis=1) for c in codes], axis=0)
    vertices = face.mesh.vertices.astype(np.float64)
    px = SIZES[sim.size].gray_px
    uv, _ = project(View(width=px, height=px, **GRAY_VIEW), vertices)
    xy = image_transform(recipe, row)(uv.astype(np.float64))
    triangles = face.mesh.faces[(moved[face.mesh.faces] >= MOVING * moved.max()).all(axis=1)]
    shift = 4  # sub-pixel vertices: cv2 fills with 4 fractional bits
    for tri in triangles:
        cv2.fillConvexPoly(mask, np.round(xy[tri] * (1 << shift)).astype(np.int32), 1, lineType=cv2.LINE_8, shift=shift)
    return mask.astype(bool)


def regions_unavailable(recipe: Recipe, multi_view: bool) -> str | None:
    """None when regions can be computed for this run, else why not."""
    if recipe.dataset.root is not None or recipe.dataset.name != "4dme":
        return "planted AU regions are known for runs on the built-in 4DME simulator only (no dataset.root)"
    if (recipe.dataset.modality or "gray") != "gray" or multi_view:
        return "planted AU regions are drawn for the simulator's gray frames only"
    if recipe.preprocess.face.enabled and recipe.preprocess.face.landmarks not in ("auto", "dataset"):
        return "planted AU regions follow the face stage only when it aligns on the simulator's landmark files"
    return None


def region_table(recipe: Recipe, corpus, maps: GroupMaps) -> pd.DataFrame | None:
    """Per AU map: its peak, the share of its clips whose region holds the peak, and the map's mass in the region."""
    why = regions_unavailable(recipe, len(maps.views) > 1)
    if why is not None:
        log.info(f"CAM regions skipped: {why}")
        return None
    index = corpus.index
    if "face_source" in index and recipe.preprocess.face.enabled and (index["face_source"] != "dataset").any():
        log.info("CAM regions skipped: some clips were not aligned on their landmark file")
        return None
    rows = []
    shape = maps.maps.shape[-2:]
    for g in maps.of(AU):
        name = maps.names[g]
        region = np.mean([au_region(recipe, index.iloc[r], name, shape) for r in maps.members[g]], axis=0)
        cam = maps.maps[g, 0]
        peak = np.unravel_index(int(np.nanargmax(cam)), cam.shape)
        inside = region >= INSIDE
        rows.append({"AU": name, "clips": maps.clips[g], "source": maps.sources[g], "peak_row": int(peak[0]), "peak_col": int(peak[1]),
                     "region_share_at_peak": float(region[peak]), "peak_inside": bool(region[peak] >= INSIDE),
                     "peak_distance_px": distance_to(inside, peak),
                     "region_area": float(inside.mean()), "cam_mass_in_region": float(cam[inside].sum() / max(cam.sum(), 1e-12))})
        rows[-1]["enrichment"] = rows[-1]["cam_mass_in_region"] / max(rows[-1]["region_area"], 1e-12)  # > 1: the map favours the region over a uniform map
    return pd.DataFrame(rows, columns=["AU", "clips", "source", "peak_row", "peak_col", "region_share_at_peak", "peak_inside",
                                       "peak_distance_px", "region_area", "cam_mass_in_region", "enrichment"])


def distance_to(region: np.ndarray, point: tuple[int, int]) -> float:
    """Euclidean distance in pixels from ``point`` to the nearest pixel of ``region`` (0 inside; inf for an empty region)."""
    rows, cols = np.nonzero(region)
    if len(rows) == 0:
        return float("inf")
    return float(np.sqrt(((rows - point[0]) ** 2 + (cols - point[1]) ** 2).min()))
