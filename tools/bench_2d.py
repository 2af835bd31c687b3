"""Benchmark the 4DME 2D pipeline: face preprocessing per clip (cold and cached) and LBP-TOP.

Prints a markdown table with
- ms per clip to read a gray clip's onset..offset frames, find the onset landmarks, align and crop
  the face to 150 px and store it, with an empty face cache (cold), for the landmark file the
  dataset (simulator) provides and for Haar detection;
- ms per clip to load the same clips again from the filled cache (cached);
- ms per clip to TIM-normalise an aligned clip to 10 frames and resize it to 112 px;
- ms to extract LBP-TOP features (5x5 blocks, radii 1,1,2, P=8) from a (10, 112, 112) clip.

Usage:
    python tools/bench_2d.py [--root DIR] [--clips 40]

Without --root the built-in simulated 4DME dataset is used (generated once into the cache if
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


def bench_faces(root, clips: int, landmarks: str) -> tuple[float, float, float, int]:
    """(cold ms/clip, cached ms/clip, sampling ms/clip, clips) for recipes/4dme_lbptop.yaml's settings."""
    from mer4d.data.datasets.fourdme import SPEC, scan
    from mer4d.pipeline.faces import face_stage
    from mer4d.preprocess.sampling import sample_clip
    from mer4d.recipes.schema import FaceCfg

    index, _ = scan(root)
    index = index.iloc[:clips].reset_index(drop=True)
    face = FaceCfg(enabled=True, crop=150, landmarks=landmarks, on_missing="fallback")
    # an empty face cache; the dataset itself stays where it is
    with tempfile.TemporaryDirectory() as cache, mock.patch.dict(os.environ, {"MER4D_CACHE": cache}):
        start = time.perf_counter()
        _, read, _ = face_stage(index, SPEC.modality("gray"), face, False)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        _, read, _ = face_stage(index, SPEC.modality("gray"), face, False)
        aligned = [read(i) for i in range(len(index))]
        cached = time.perf_counter() - start
    import cv2

    start = time.perf_counter()
    for (frames, numbers), (_, row) in zip(aligned, index.iterrows(), strict=True):
        sampled = sample_clip(frames.astype(np.float32), numbers, "tim", 10, onset=int(row["onset"]), apex=int(row["apex"]))
        np.stack([cv2.resize(f[0], (112, 112), interpolation=cv2.INTER_AREA) for f in sampled])
    sampling = time.perf_counter() - start
    n = len(index)
    return cold / n * 1e3, cached / n * 1e3, sampling / n * 1e3, n


def bench_lbptop(repeats: int = 10) -> tuple[float, float]:
    from mer4d.preprocess.lbptop import lbp_top

    clip = np.random.default_rng(0).random((10, 112, 112)).astype(np.float32)
    lbp_top(clip)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        lbp_top(clip)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=None, help="a 4DME-layout dataset (default: the built-in simulator)")
    parser.add_argument("--clips", type=int, default=40, help="clips timed per row")
    args = parser.parse_args()
    root = args.root
    if root is None:
        from mer4d.pipeline import simulated_dataset

        root = simulated_dataset("4dme")
    rows = []
    for landmarks in ("dataset", "haar"):
        cold, cached, sampling, n = bench_faces(root, args.clips, landmarks)
        rows.append((f"face align + crop 150 px, landmarks from {landmarks}, cold cache (ms/clip, {n} clips)", cold))
        rows.append((f"same clips from the face cache (ms/clip, landmarks from {landmarks})", cached))
    rows.append(("TIM to 10 frames + resize to 112 px of an aligned clip (ms/clip)", sampling))
    median, best = bench_lbptop()
    print(f"CPUs: {os.cpu_count()}\n")
    print("| measurement | value |")
    print("|---|---|")
    for label, value in rows:
        print(f"| {label} | {value:.1f} |")
    print(f"| LBP-TOP 5x5 blocks, radii (1,1,2), P=8 on a (10, 112, 112) clip (ms, median / min of 10) | {median:.1f} / {best:.1f} |")


if __name__ == "__main__":
    main()
