"""Benchmark the open3d renderer on a ~50k-vertex textured face-like mesh.

Prints, for 1 and 3 views of 224 x 224 per frame (depth + texture + normals by default), the
milliseconds per frame and per view of per-frame ``render(Mesh)`` calls and of one whole-sequence
``render(MeshSeq)`` call (the realistic use), with the Embree scene build (add_triangles + BVH
commit), the ray cast and the numpy shading timed separately, and whether the 15 ms/view target
is met. Timings are medians (minimum in brackets) of wall-clock time, measured interleaved so
that load from other jobs hits all of them alike; the load average is printed alongside. On a
shared machine also look at the process CPU column (CPU time of this process, all its threads).

Usage:
    python tools/bench_render.py [--frames 20] [--grid 224] [--size 224] [--threads 0] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

from mer4d.core.containers import MeshSeq
from mer4d.render import Rig
from mer4d.render.open3d_backend import Open3DRenderer

TARGET_MS_PER_VIEW = 15.0


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


def _timed(fn: Callable[..., object], *args: object) -> tuple[float, float]:
    """(wall ms, process CPU ms) of one call ``fn(*args)``."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args)
    return (time.perf_counter() - wall) * 1e3, (time.process_time() - cpu) * 1e3


def _med(samples: list[tuple[float, float]], k: int = 0) -> float:
    return statistics.median(s[k] for s in samples)


def _best(samples: list[tuple[float, float]], k: int = 0) -> float:
    return min(s[k] for s in samples)


def _load() -> str:
    return "load average " + ", ".join(f"{x:.1f}" for x in os.getloadavg()) + f" on {os.cpu_count()} CPUs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20, help="frames of the sequence (per-frame calls render each of them)")
    parser.add_argument("--grid", type=int, default=224, help="vertices per side of the height field")
    parser.add_argument("--size", type=int, default=224, help="image size in pixels")
    parser.add_argument("--threads", type=int, default=0, help="Embree threads (0 = Open3D's choice)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds per rig, each: every frame alone, then one whole-sequence call")
    parser.add_argument("--domains", default="depth,texture,normals", help="comma-separated render domains")
    args = parser.parse_args()
    domains = tuple(args.domains.split(","))

    seq = face_patch(grid=args.grid, frames=args.frames)
    renderer = Open3DRenderer(nthreads=args.threads)
    o3d = renderer._o3d
    faces_t = o3d.core.Tensor(seq.faces.astype(np.uint32))
    frames = [seq.frame(t) for t in range(len(seq))]
    one_ray = o3d.core.Tensor(np.array([[0, 0, 1000, 0, 0, -1]], np.float32))
    print(f"mesh: {seq.vertices.shape[1]} vertices, {len(seq.faces)} faces, texture {seq.texture.shape[:2]}, {len(seq)} frames, "
          f"{args.size}x{args.size} px, domains {'+'.join(domains)}")
    print(f"start: {_load()}")

    def build(t: int):
        scene = o3d.t.geometry.RaycastingScene(nthreads=args.threads)
        scene.add_triangles(o3d.core.Tensor(seq.vertices[t]), faces_t)
        scene.cast_rays(one_ray)  # Embree builds the BVH lazily on the first query
        return scene

    def cast_all(scene, tensors) -> None:
        for rays in tensors:  # as the renderer does: one call per view
            scene.cast_rays(rays, nthreads=args.threads)

    rows = []
    for label, rig in (("1 view", Rig.front(size=args.size)), ("3 views", Rig.three_views(30.0, size=args.size))):
        n_views = len(rig)
        renderer.render(frames[0], rig, domains)  # fills the ray and topology caches, as a sequence would
        tensors = [v.tensor for v in renderer._rig_rays(rig)]
        t_build, t_cast, t_depth, t_full, t_seq = [], [], [], [], []
        for _ in range(args.repeats):  # interleaved, so that changing load hits every part alike
            for t in range(len(frames)):
                t_build.append(_timed(build, t))
                t_cast.append(_timed(cast_all, build(t), tensors))
                t_depth.append(_timed(renderer.render, frames[t], rig, ("depth",)))
                t_full.append(_timed(renderer.render, frames[t], rig, domains))
            wall, cpu = _timed(renderer.render, seq, rig, domains)
            t_seq.append((wall / len(seq), cpu / len(seq)))
        out = renderer.render(seq.frame(0), rig, domains)
        rows.append({
            "label": label, "views": n_views, "build": _med(t_build), "cast": _med(t_cast) / n_views,
            "shading": max(_med(t_full) - _med(t_depth), 0.0), "frame": (_med(t_full), _best(t_full)),
            "seq": (_med(t_seq), _best(t_seq)), "seq_cpu": _med(t_seq, 1), "hit": float(out.mask.mean()),
        })

    print(f"end:   {_load()}\n")
    print("| views/frame | scene build ms/frame | cast ms/view | shading ms/frame | per-frame calls: ms/frame | ms/view "
          "| sequence call: ms/frame | ms/view | process CPU ms/view (seq) | hit px |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        n = r["views"]
        (fm, fb), (sm, sb) = r["frame"], r["seq"]
        print(f"| {r['label']} | {r['build']:.1f} | {r['cast']:.1f} | {r['shading']:.1f} | {fm:.1f} ({fb:.1f}) | {fm / n:.1f} ({fb / n:.1f}) "
              f"| {sm:.1f} ({sb:.1f}) | {sm / n:.1f} ({sb / n:.1f}) | {r['seq_cpu'] / n:.1f} | {r['hit']:.0%} |")
    print("\nms: median (min) wall clock; shading = full render minus depth-only render of the same frames.")

    options = [(r["frame"][0] / r["views"], r["frame"][1] / r["views"], r, "per-frame calls") for r in rows]
    options += [(r["seq"][0] / r["views"], r["seq"][1] / r["views"], r, "whole-sequence call") for r in rows]
    per_view, best_min, best, how = min(options, key=lambda o: o[0])
    floor = best["build"] / best["views"] + best["cast"]
    if args.grid != 224 or args.size != 224 or domains != ("depth", "texture", "normals"):
        print("(not the reference setting --grid 224 --size 224 with all three domains: the verdict below does not apply to the target)")
    verdict = "MET" if per_view <= TARGET_MS_PER_VIEW else "NOT met"
    print(f"target <= {TARGET_MS_PER_VIEW:.0f} ms/view: {verdict}; best: {best['label']} per frame, {how}, {per_view:.1f} ms/view median "
          f"({best_min:.1f} min); scene build / views + cast alone is {floor:.1f} ms/view")

if __name__ == "__main__":
    main()
