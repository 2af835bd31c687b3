"""Benchmark the 4D pipeline: multi-view rendering, rank pooling, and CCDN preprocessing cold vs warm.

Prints a markdown table with
- ms per frame to render 3 views (left/front/right, 224 x 224) x 3 domains (DPI, E-DPI, texture)
  of a ~50k-vertex simulator face (full resolution), domains included;
- ms to rank-pool a (30, 3, 224, 224) float32 clip into a dynamic image;
- seconds to preprocess every clip of recipes/4dme_ccdn.yaml (quick profile unless --profile
  published) into dynamic images with an empty cache (cold) and again with the cache filled (warm).

Usage:
    python tools/bench_4d.py [--frames 10] [--root DIR] [--profile quick|published] [--skip-recipe]

Without --root the recipe's built-in simulated dataset is used (generated once into the cache if
missing; that generation is not part of the timings).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from unittest import mock

import numpy as np


def _median_ms(fn, repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), min(times)


def bench_views(frames: int) -> tuple[float, float, int]:
    from mer4d.preprocess.mesh_views import MeshViewSettings, view_frames
    from mer4d.synth import Distractors
    from mer4d.synth.animation import synthesize
    from mer4d.synth.face import make_face
    from mer4d.synth.identity import Identity

    face = make_face(Identity(), "full")
    ramp = np.linspace(0.0, 1.0, frames)
    seq = synthesize(face, [(ramp, {"AU12": 1.5})], frames, 60.0, np.random.default_rng(0), Distractors.none()).to_mesh_seq()
    settings = MeshViewSettings(size=224, oversample=1.0)
    view_frames(seq, settings)  # warm-up: ray and topology caches
    median, best = _median_ms(lambda: view_frames(seq, settings), 3)
    return median / frames, best / frames, seq.vertices.shape[1]


def bench_pooling() -> tuple[float, float]:
    import torch

    from mer4d.preprocess.dynamic import dynamic_image

    clip = torch.rand(30, 3, 224, 224)
    dynamic_image(clip)
    return _median_ms(lambda: dynamic_image(clip), 20)


def bench_recipe(root: str | None, profile: str | None) -> tuple[float, float, int]:
    from mer4d.pipeline import load_corpus
    from mer4d.recipes import load_recipe

    overrides = [f"dataset.root={root}"] if root else []
    recipe = load_recipe("recipes/4dme_ccdn.yaml", overrides, profile=profile or "quick").recipe
    if recipe.dataset.root is None:
        from mer4d.pipeline import simulated_dataset

        recipe = recipe.model_copy(update={"dataset": recipe.dataset.model_copy(update={"root": simulated_dataset("4dme")})})
    # an empty dynamic-image cache
    with tempfile.TemporaryDirectory() as cache, mock.patch.dict(os.environ, {"MER4D_CACHE": cache}):
        start = time.perf_counter()
        corpus = load_corpus(recipe)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        load_corpus(recipe)
        warm = time.perf_counter() - start
    return cold, warm, len(corpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10, help="frames of the rendering benchmark")
    parser.add_argument("--root", default=None, help="a 4DME-layout dataset (default: the built-in simulator)")
    parser.add_argument("--profile", default=None, help="recipe profile (default quick)")
    parser.add_argument("--skip-recipe", action="store_true", help="skip the cold/warm preprocessing timing")
    args = parser.parse_args()

    per_frame, best, vertices = bench_views(args.frames)
    pool, pool_best = bench_pooling()
    print(f"torch threads: {__import__('torch').get_num_threads()}, CPUs: {os.cpu_count()}\n")
    print("| measurement | median | min |")
    print("|---|---|---|")
    print(f"| render 3 views x 3 domains, 224 px, {vertices}-vertex face (ms/frame) | {per_frame:.1f} | {best:.1f} |")
    print(f"| rank-pool a (30, 3, 224, 224) clip (ms) | {pool:.1f} | {pool_best:.1f} |")
    if not args.skip_recipe:
        cold, warm, clips = bench_recipe(args.root, args.profile)
        print(f"| 4dme_ccdn preprocessing, {clips} clips, cold cache (s) | {cold:.1f} | |")
        print(f"| 4dme_ccdn preprocessing, {clips} clips, warm cache (s) | {warm:.2f} | |")


if __name__ == "__main__":
    main()
