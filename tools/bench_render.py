"""Benchmark the open3d renderer on a ~50k-vertex textured face-like mesh.

Prints, for 1 and 3 views of 224 x 224 per frame, the median milliseconds per frame and per view
(depth + texture + normals) over ``--frames`` frames, with the Embree scene build and the ray cast
timed separately (the rest is interpolation and shading in numpy).

Usage:
    python tools/bench_render.py [--frames 20] [--grid 224] [--size 224] [--threads 0]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from mer4d.core.containers import MeshSeq
from mer4d.render import Rig
from mer4d.render.open3d_backend import Open3DRenderer


def face_patch(grid: int = 224, frames: int = 20, tex_size: int = 512, seed: int = 0) -> MeshSeq:
    """A bumpy height-field "face" (grid x grid vertices) with a texture and a small per-frame motion.

    Returns:
        MeshSeq with (T, N, 3) vertices, N = grid**2, and a (tex_size, tex_size, 3) uint8 texture.
    """
    rng = np.random.default_rng(seed)
    ys, xs = np.meshgrid(np.linspace(100, -100, grid), np.linspace(-80, 80, grid), indexing="ij")
    dome = 70 * np.sqrt(np.clip(1 - (xs / 85) ** 2 - (ys / 110) ** 2, 0, None))
    nose = 25 * np.exp(-(xs**2 / (2 * 9**2) + (ys - 5) ** 2 / (2 * 22**2)))
    eyes = -8 * (np.exp(-((xs - 32) ** 2 + (ys - 25) ** 2) / (2 * 12**2)) + np.exp(-((xs + 32) ** 2 + (ys - 25) ** 2) / (2 * 12**2)))
    z = dome + nose + eyes + 0.3 * rng.standard_normal(xs.shape)
    base = np.stack([xs, ys, z], -1).reshape(-1, 3)
    # A smile-like motion of the lower face, different every frame.
    mouth = np.exp(-((xs.reshape(-1)) ** 2 + (ys.reshape(-1) + 45) ** 2) / (2 * 25**2))
    phase = np.sin(np.linspace(0, np.pi, frames))[:, None]
    verts = np.repeat(base[None], frames, 0)
    verts[..., 2] += 3 * phase * mouth
    idx = np.arange(grid * grid).reshape(grid, grid)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    faces = np.concatenate([np.stack([a, c, b], 1), np.stack([b, c, d], 1)])  # counter-clockwise from +Z
    uvs = np.stack([(xs + 80) / 160, (ys + 100) / 200], -1).reshape(-1, 2)
    ty, tx = np.mgrid[0:tex_size, 0:tex_size] / tex_size
    texture = np.stack([0.8 + 0.1 * np.sin(40 * tx), 0.6 + 0.1 * np.sin(30 * ty), 0.5 + 0.1 * ((tx * 16).astype(int) % 2)], -1)
    return MeshSeq(verts.astype(np.float32), faces.astype(np.int64), fps=30.0, uvs=uvs.astype(np.float32), texture=(255 * texture).astype(np.uint8))


def _times_ms(fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--grid", type=int, default=224, help="vertices per side of the height field")
    parser.add_argument("--size", type=int, default=224, help="image size in pixels")
    parser.add_argument("--threads", type=int, default=0, help="Embree threads (0 = Open3D's choice)")
    args = parser.parse_args()

    seq = face_patch(grid=args.grid, frames=args.frames)
    renderer = Open3DRenderer(nthreads=args.threads)
    o3d = renderer._o3d
    faces_t = o3d.core.Tensor(seq.faces.astype(np.uint32))
    frames = [seq.frame(t) for t in range(len(seq))]
    one_ray = o3d.core.Tensor(np.array([[0, 0, 1000, 0, 0, -1]], np.float32))
    print(f"mesh: {seq.vertices.shape[1]} vertices, {len(seq.faces)} faces, texture {seq.texture.shape[:2]}, {len(seq)} frames, {args.size}x{args.size} px")

    def build(t: int):
        scene = o3d.t.geometry.RaycastingScene(nthreads=args.threads)
        scene.add_triangles(o3d.core.Tensor(seq.vertices[t]), faces_t)
        scene.cast_rays(one_ray)  # Embree builds the BVH lazily on the first query
        return scene

    frame_no = iter(range(10**9))
    build_ms = _times_ms(lambda: build(next(frame_no) % len(seq)), args.frames)
    print(f"scene build (add_triangles + BVH commit): median {statistics.median(build_ms):.1f} ms, min {min(build_ms):.1f} ms per frame\n")
    print("| views/frame | ms/frame median (min) | ms per view median (min) | cast ms/frame | shading ms/frame | seq call ms/frame | hit px |")
    print("|---|---|---|---|---|---|---|")
    for label, rig in (("1 view", Rig.front(size=args.size)), ("3 views", Rig.three_views(30.0, size=args.size))):
        renderer.render(frames[0], rig)  # fills the ray and topology caches, as a sequence would
        rays = renderer._rig_rays(rig).tensor
        scene = build(0)
        cast = statistics.median(_times_ms(lambda s=scene, r=rays: s.cast_rays(r, nthreads=args.threads), args.frames))
        order = iter(range(10**9))
        per_frame = _times_ms(lambda r=rig, it=order: renderer.render(frames[next(it) % len(frames)], r), args.frames)
        start = time.perf_counter()
        out = renderer.render(seq, rig)
        seq_ms = (time.perf_counter() - start) * 1e3 / len(seq)
        med, best, n = statistics.median(per_frame), min(per_frame), len(rig)
        shading = max(med - statistics.median(build_ms) - cast, 0.0)
        print(f"| {label} | {med:.1f} ({best:.1f}) | {med / n:.1f} ({best / n:.1f}) | {cast:.1f} | {shading:.1f} | {seq_ms:.1f} | {out.mask.mean():.0%} |")


if __name__ == "__main__":
    main()
