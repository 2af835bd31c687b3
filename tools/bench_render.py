"""Benchmark the open3d renderer on a ~50k-vertex textured face-like mesh.

Prints, for 1 and 3 views of 224 x 224 per frame (depth + texture + normals by default) and for
both ways of finding the triangle behind each pixel (``hits="raster"``, the default, and
``hits="raycast"``, Open3D's Embree scene rebuilt every frame), the milliseconds per frame and per
view of per-frame ``render(Mesh)`` calls and of one whole-sequence ``render(MeshSeq)`` call (the
realistic use), with the hit finding and the numpy shading timed separately, and whether the
default renderer meets the 15 ms/view target. Timings are medians (minimum in brackets) of wall-clock time, measured interleaved so
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
from mer4d.render.raster import rasterize

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
    renderers = {method: Open3DRenderer(nthreads=args.threads, hits=method) for method in ("raster", "raycast")}
    o3d = renderers["raycast"]._o3d
    faces_t = o3d.core.Tensor(seq.faces.astype(np.uint32))
    corner_ids = tuple(np.ascontiguousarray(seq.faces.T))
    frames = [seq.frame(t) for t in range(len(seq))]
    print(f"mesh: {seq.vertices.shape[1]} vertices, {len(seq.faces)} faces, texture {seq.texture.shape[:2]}, {len(seq)} frames, "
          f"{args.size}x{args.size} px, domains {'+'.join(domains)}")
    print(f"start: {_load()}")

    def find_hits(method: str, t: int, rig: Rig) -> None:
        """What replaces the other: raster every view, or build the Embree scene and cast every view."""
        if method == "raster":
            xyz = tuple(np.ascontiguousarray(seq.vertices[t].T))
            for view in rig.views:
                rasterize(view, xyz, corner_ids)
            return
        scene = o3d.t.geometry.RaycastingScene(nthreads=args.threads)
        scene.add_triangles(o3d.core.Tensor(seq.vertices[t]), faces_t)
        for rays in renderers["raycast"]._rig_rays(rig):
            scene.cast_rays(rays.tensor, nthreads=args.threads)

    rows = []
    for label, rig in (("1 view", Rig.front(size=args.size)), ("3 views", Rig.three_views(30.0, size=args.size))):
        samples = {m: {"hits": [], "depth": [], "full": [], "seq": []} for m in renderers}
        for renderer in renderers.values():
            renderer.render(frames[0], rig, domains)  # fills the ray and topology caches, as a sequence would
        for _ in range(args.repeats):  # interleaved, so that changing load hits every part alike
            for t in range(len(frames)):
                for method, renderer in renderers.items():
                    samples[method]["hits"].append(_timed(find_hits, method, t, rig))
                    samples[method]["depth"].append(_timed(renderer.render, frames[t], rig, ("depth",)))
                    samples[method]["full"].append(_timed(renderer.render, frames[t], rig, domains))
            for method, renderer in renderers.items():
                wall, cpu = _timed(renderer.render, seq, rig, domains)
                samples[method]["seq"].append((wall / len(seq), cpu / len(seq)))
        for method, got in samples.items():
            rows.append({
                "label": label, "method": method, "views": len(rig), "hits": _med(got["hits"]) / len(rig),
                "shading": max(_med(got["full"]) - _med(got["depth"]), 0.0),
                "frame": (_med(got["full"]), _best(got["full"])), "seq": (_med(got["seq"]), _best(got["seq"])),
                "seq_cpu": _med(got["seq"], 1), "hit": float(renderers[method].render(frames[0], rig, domains).mask.mean()),
            })

    print(f"end:   {_load()}\n")
    report(rows, args, domains)


def report(rows: list[dict], args: argparse.Namespace, domains: tuple[str, ...]) -> None:
    print("| views/frame | hits by | finding hits ms/view | shading ms/frame | per-frame calls: ms/frame | ms/view "
          "| sequence call: ms/frame | ms/view | process CPU ms/view (seq) | hit px |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        n = r["views"]
        (fm, fb), (sm, sb) = r["frame"], r["seq"]
        print(f"| {r['label']} | {r['method']} | {r['hits']:.1f} | {r['shading']:.1f} | {fm:.1f} ({fb:.1f}) | {fm / n:.1f} ({fb / n:.1f}) "
              f"| {sm:.1f} ({sb:.1f}) | {sm / n:.1f} ({sb / n:.1f}) | {r['seq_cpu'] / n:.1f} | {r['hit']:.0%} |")
    print("\nms: median (min) wall clock. Finding hits: raster = rasterise every view; raycast = build the Embree scene "
          "(once per frame, shared by its views) and cast every view. Shading = full render minus depth-only render.")
    if args.grid != 224 or args.size != 224 or domains != ("depth", "texture", "normals"):
        print("(not the reference setting --grid 224 --size 224 with all three domains: the verdict below does not apply to the target)")
    default = Open3DRenderer().hits
    for r in rows:
        if r["method"] == ("raster" if default in ("auto", "raster") else "raycast"):
            per_view = min(r["frame"][0], r["seq"][0]) / r["views"]
            verdict = "MET" if per_view <= TARGET_MS_PER_VIEW else "NOT met"
            print(f"{r['label']}, default renderer (hits={default}): {per_view:.1f} ms/view median -> target <= {TARGET_MS_PER_VIEW:.0f} ms/view {verdict}")


if __name__ == "__main__":
    main()
