"""Pixel-centre rasterisation of triangle meshes in numpy: the same hits as casting one ray per pixel.

A ray through a pixel centre meets a triangle exactly when the centre lies inside the triangle's
projection (both projections map straight lines to straight lines), so testing pixel centres
against projected triangles finds the ray caster's hits without building a BVH. For the small
triangles of face scans (a 50k-vertex face gives ~0.3 px per triangle at 224 px) that is cheaper
than Open3D's per-frame Embree build (~30 ms for 100k triangles, single-threaded, with no refit):
``tools/bench_render.py`` times both.

Per view: every triangle's bounding box gives the pixel centres it may cover; each candidate's
barycentric weights come from 2D edge functions (Pineda 1988); a candidate is a hit when all three
are >= 0 (a centre on a shared edge belongs to both triangles and the nearer wins, as in a ray
cast). Depth is the camera-axis depth of the ray renderer (``mer4d.render.rig.view_rays``):
affine in screen space for orthographic views; for pinhole views the screen-space weights l_i are
made perspective-correct, w_i = (l_i / z_i) / sum_j (l_j / z_j), and the depth is
1 / sum_j (l_j / z_j). The nearest hit per pixel wins (a z-buffer).

Not handled here (``rasterize`` returns None and the caller casts rays instead): a pinhole view
with a triangle that crosses the camera plane (it would need clipping).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mer4d.render.rig import View, camera_frame

# Candidate pixels per batch of triangles: bounds memory (~60 bytes per candidate) when a mesh
# has many large triangles; face scans need one batch.
_MAX_CANDIDATES = 4_000_000


@dataclass(frozen=True)
class RasterHits:
    """The nearest triangle at every pixel centre of one view.

    Attributes:
        depth: (H * W,) float32 camera-axis depth in mm, ``inf`` where no triangle is hit.
        pix: (P,) flat indices of the hit pixels, increasing.
        prim: (P,) int64 triangle index hit at each of them.
        w1, w2: (P,) float32 barycentric weights of the triangle's 2nd and 3rd corner at the hit
            (Open3D's ``primitive_uvs``); the first corner's weight is 1 - w1 - w2.
    """

    depth: np.ndarray
    pix: np.ndarray
    prim: np.ndarray
    w1: np.ndarray
    w2: np.ndarray


def project_to_pixels(view: View, xyz: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N,) x, y, z world coordinates -> (N,) float32 column, row (integers at pixel centres) and depth.

    Same mapping as :func:`mer4d.render.rig.project`, on per-coordinate float32 arrays; a pinhole
    view gives inf/NaN pixel coordinates for points at or behind the camera plane (depth <= 0).
    """
    eye, rot = camera_frame(view)
    r, e = rot.astype(np.float32), eye.astype(np.float32)
    rel = [c - e[k] for k, c in enumerate(xyz)]
    cam = [r[k, 0] * rel[0] + r[k, 1] * rel[1] + r[k, 2] * rel[2] for k in range(3)]
    sx, sy, depth = cam
    if view.projection == "orthographic":
        scale = np.float32(1.0 / view.pixel_mm)
        sx *= scale
        sy *= -scale
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.float32(view.focal_px) / depth
        sx *= scale
        sy *= -scale
    sx += np.float32((view.width - 1) / 2.0)
    sy += np.float32((view.height - 1) / 2.0)
    return sx, sy, depth


def rasterize(view: View, xyz: tuple[np.ndarray, np.ndarray, np.ndarray], corner_ids: tuple[np.ndarray, np.ndarray, np.ndarray]) -> RasterHits | None:
    """The nearest hit per pixel centre of ``view`` for triangles ``corner_ids`` over vertices ``xyz``.

    Args:
        view: the camera.
        xyz: (N,) float32 x, y and z vertex coordinates in mm.
        corner_ids: the three (F,) integer vertex-id columns of the faces.

    Returns:
        the hits, or None when the view cannot be rasterised exactly (a pinhole view with a
        triangle crossing the camera plane): cast rays for it instead.
    """
    sx, sy, z = project_to_pixels(view, xyz)
    i0, i1, i2 = corner_ids
    z0, z1, z2 = z.take(i0), z.take(i1), z.take(i2)
    pinhole = view.projection != "orthographic"
    if pinhole:
        front = (z0 > 0) & (z1 > 0) & (z2 > 0)
        if not front.all() and ((z0 > 0) | (z1 > 0) | (z2 > 0))[~front].any():
            return None
        faces = np.flatnonzero(front) if not front.all() else None
        if faces is not None:  # triangles wholly behind the camera are never seen
            i0, i1, i2, z0, z1, z2 = i0.take(faces), i1.take(faces), i2.take(faces), z0.take(faces), z1.take(faces), z2.take(faces)
    else:
        faces = None
    corners = (sx.take(i0), sy.take(i0), sx.take(i1), sy.take(i1), sx.take(i2), sy.take(i2))
    lo_x, hi_x, lo_y, hi_y, count = _pixel_boxes(corners, view.width, view.height)
    size = view.width * view.height
    best = np.full(size, np.inf, dtype=np.float32)
    prim = np.zeros(size, dtype=np.int64)
    w1 = np.zeros(size, dtype=np.float32)
    w2 = np.zeros(size, dtype=np.float32)
    covering = np.flatnonzero(count)
    for batch in _batches(covering, count):
        tri, px, py = _candidates(batch, count, lo_x, hi_x, lo_y)
        hit = _inside(tri, px, py, corners)
        if hit is None:
            continue
        tri, px, py, l1, l2 = hit
        pix = py * view.width + px
        a, b, c = z0.take(tri), z1.take(tri), z2.take(tri)
        if pinhole:
            q1, q2 = l1 / b, l2 / c
            inv = (1 - l1 - l2) / a
            inv += q1
            inv += q2
            depth = 1 / inv
            l1, l2 = q1 * depth, q2 * depth
        else:
            depth = a + l1 * (b - a) + l2 * (c - a)
        keep = np.flatnonzero(depth >= 0)  # behind the eye plane: outside the rays (t >= 0)
        _nearest_into(best, prim, w1, w2, pix.take(keep), depth.take(keep), tri.take(keep), l1.take(keep), l2.take(keep))
    pix = np.flatnonzero(np.isfinite(best))
    hit_prim = prim.take(pix)
    if faces is not None:
        hit_prim = faces.take(hit_prim)
    return RasterHits(best, pix, hit_prim, w1.take(pix), w2.take(pix))


def _pixel_boxes(corners: tuple[np.ndarray, ...], width: int, height: int) -> tuple[np.ndarray, ...]:
    """Per triangle: the first/last pixel column and row whose centre its bounding box holds, and their count."""
    ax, ay, bx, by, cx, cy = corners
    lo_x = np.minimum(ax, bx)
    np.minimum(lo_x, cx, out=lo_x)
    hi_x = np.maximum(ax, bx)
    np.maximum(hi_x, cx, out=hi_x)
    lo_y = np.minimum(ay, by)
    np.minimum(lo_y, cy, out=lo_y)
    hi_y = np.maximum(ay, by)
    np.maximum(hi_y, cy, out=hi_y)
    with np.errstate(invalid="ignore"):  # NaN corners (degenerate projections) give empty boxes
        np.ceil(lo_x, out=lo_x)
        np.floor(hi_x, out=hi_x)
        np.ceil(lo_y, out=lo_y)
        np.floor(hi_y, out=hi_y)
        np.clip(lo_x, 0, width, out=lo_x)
        np.clip(hi_x, -1, width - 1, out=hi_x)
        np.clip(lo_y, 0, height, out=lo_y)
        np.clip(hi_y, -1, height - 1, out=hi_y)
        n_x = hi_x - lo_x
        n_x += 1
        n_y = hi_y - lo_y
        n_y += 1
        count = np.where((n_x > 0) & (n_y > 0), n_x * n_y, 0).astype(np.int64)
    return lo_x, hi_x, lo_y, hi_y, count


def _batches(covering: np.ndarray, count: np.ndarray):
    """Runs of triangle ids whose candidate counts sum to at most ``_MAX_CANDIDATES`` (one when they all fit)."""
    totals = np.cumsum(count.take(covering))
    if len(totals) == 0:
        return
    start = 0
    while start < len(covering):
        before = totals[start - 1] if start else 0
        stop = max(int(np.searchsorted(totals, before + _MAX_CANDIDATES, side="right")), start + 1)
        yield covering[start:stop]
        start = stop


def _candidates(tri: np.ndarray, count: np.ndarray, lo_x: np.ndarray, hi_x: np.ndarray, lo_y: np.ndarray) -> tuple[np.ndarray, ...]:
    """Every (triangle, pixel column, pixel row) of the triangles' boxes."""
    n = count.take(tri)
    single = n == 1  # most triangles of a dense mesh: their one pixel is the box corner
    one = tri[single]
    many = tri[~single]
    if len(many) == 0:
        return one, lo_x.take(one).astype(np.intp), lo_y.take(one).astype(np.intp)
    reps = n[~single]
    ids = np.repeat(many, reps)
    first = np.cumsum(reps) - reps
    k = np.arange(len(ids)) - np.repeat(first, reps)  # position inside the triangle's box, row-major
    n_x = (hi_x.take(ids) - lo_x.take(ids) + 1).astype(np.intp)
    tri_all = np.concatenate([one, ids])
    px = np.concatenate([lo_x.take(one).astype(np.intp), lo_x.take(ids).astype(np.intp) + k % n_x])
    py = np.concatenate([lo_y.take(one).astype(np.intp), lo_y.take(ids).astype(np.intp) + k // n_x])
    return tri_all, px, py


def _inside(tri: np.ndarray, px: np.ndarray, py: np.ndarray, corners: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...] | None:
    """The candidates whose pixel centre lies in their triangle, with the weights of corners 2 and 3."""
    ax, ay, bx, by, cx, cy = corners
    x0, y0 = ax.take(tri), ay.take(tri)
    e1x, e1y = bx.take(tri), by.take(tri)
    e1x -= x0
    e1y -= y0
    e2x, e2y = cx.take(tri), cy.take(tri)
    e2x -= x0
    e2y -= y0
    dx = px.astype(np.float32)
    dx -= x0
    dy = py.astype(np.float32)
    dy -= y0
    area = e1x * e2y
    area -= e1y * e2x  # twice the signed screen area
    a1 = dx * e2y
    a1 -= dy * e2x  # twice the area opposite corner 2 (its weight times the area)
    a2 = e1x * dy
    a2 -= e1y * dx
    a0 = area - a1
    a0 -= a2
    sign = np.sign(area)  # both windings count: rays hit front and back faces alike
    a0 *= sign
    a1 *= sign
    a2 *= sign
    hit = np.flatnonzero((a0 >= 0) & (a1 >= 0) & (a2 >= 0) & (area != 0))
    if len(hit) == 0:
        return None
    inv = 1 / area.take(hit)
    inv *= sign.take(hit)
    return tri.take(hit), px.take(hit), py.take(hit), a1.take(hit) * inv, a2.take(hit) * inv


def _nearest_into(best, prim, w1, w2, pix, depth, tri, l1, l2) -> None:
    """Z-buffer: keep, per pixel, the candidate nearer than what ``best`` holds."""
    # Most pixels get one candidate: a plain scatter settles them; only pixels written twice in
    # this batch go through the slower unbuffered minimum.
    order = np.arange(len(pix))
    owner = np.full(len(best), -1, dtype=np.intp)
    owner[pix] = order
    alone = owner.take(pix) == order
    shared = np.zeros(len(best), dtype=bool)
    shared[pix[~alone]] = True
    contested = shared.take(pix)
    nearest = np.full(len(best), np.inf, dtype=np.float32)
    nearest[pix[~contested]] = depth[~contested]
    np.minimum.at(nearest, pix[contested], depth[contested])
    win = np.flatnonzero((depth == nearest.take(pix)) & (depth < best.take(pix)))
    at = pix.take(win)
    best[at] = depth.take(win)
    prim[at] = tri.take(win)
    w1[at] = l1.take(win)
    w2[at] = l2.take(win)
