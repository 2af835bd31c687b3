"""Benchmark every registered video model and the data pipeline feeding it: which one limits a run?

Prints a markdown table with, per torch model whose input is clips (B, C, T, H, W):
- training clips/s: forward + backward + SGD step on batches of 8 RGB clips;
- inference clips/s: forward only, no gradients, eval mode;
at 16 x 112 x 112 with the model's default (published) options, and at the DFME quick size
(8 x 32 x 32) with the options of its ``recipes/dfme_*.yaml`` quick profile where there is one
(else the narrow settings of the registry contract test, else the defaults). A second table gives
the data pipeline's clips/s for the same inputs on the DFME layout (simulated, PNG frames at the
parts' frame rates): reading the frames, adaptive key-frame sampling and resizing with an empty
clip cache (cold), and loading the cached clips (warm).

With a CUDA device the model table gains CUDA columns: training clips/s in float32, with
``train.amp: fp16`` (autocast + GradScaler, as the engine trains) and with fp16 plus
``train.channels_last``, timed with ``torch.cuda.synchronize``; without one they read "no CUDA".

Usage:
    python tools/bench_models.py [--models res3d p3d ...] [--repeats 3] [--threads N] [--skip-pipeline] [--skip-cpu]

Timings are medians over ``--repeats`` timed batches after one warm-up batch. On 2 CPU cores the
full-width models take seconds per batch at 16 x 112 x 112; use a GPU machine for the paper's 224 px.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from unittest import mock

import torch

SIZES = {"16x112x112": (16, 112, 112), "quick 8x32x32": (8, 32, 32)}
QUICK_RECIPES = {"res3d": "dfme_r3d", "p3d": "dfme_p3d", "d3d": "dfme_d3d", "i3d": "dfme_i3d", "moext": "megc2019_moext"}
FIXED_FRAMES = {"moext": 2}  # onset and apex only, at every size
NARROW = {"res3d_sca": {"width": 4, "sca_channels": 4}, "au_graph": {"width": 4, "sca_channels": 4, "gcn_hidden": 4}}
REPO = Path(__file__).resolve().parents[1]


def quick_options(name: str) -> dict:
    from mer4d.recipes import load_recipe

    if name in QUICK_RECIPES:
        params = dict(load_recipe(REPO / "recipes" / f"{QUICK_RECIPES[name]}.yaml", profile="quick").recipe.model.params)
        params.pop("init", None)  # a checkpoint reference: speed does not depend on the starting weights
        return params
    return dict(NARROW.get(name, {}))


def clips_per_second(model: torch.nn.Module, batch: torch.Tensor, train: bool, repeats: int) -> float:
    targets = torch.zeros(len(batch), dtype=torch.long)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9) if train else None
    model.train(train)
    times = []
    for k in range(repeats + 1):
        start = time.perf_counter()
        if train:
            optimizer.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(batch), targets).backward()
            optimizer.step()
        else:
            with torch.no_grad():
                model(batch)
        if k:
            times.append(time.perf_counter() - start)
    return len(batch) / statistics.median(times)


CUDA_MODES = {"fp32": ("false", False), "AMP fp16": ("fp16", False), "AMP fp16 + channels-last": ("fp16", True)}


def cuda_clips_per_second(model: torch.nn.Module, batch: torch.Tensor, amp: str, channels_last: bool, repeats: int) -> float:
    """Training clips/s on CUDA as the engine trains: autocast and GradScaler per ``train.amp``, channels-last per the flag."""
    from mer4d.train.speed import Precision, channels_last_input, to_channels_last

    device = torch.device("cuda")
    model = model.to(device).train()
    batch = batch.to(device)
    if channels_last:
        to_channels_last(model)
        batch = channels_last_input(batch, "B C T H W")
    precision = Precision.of(amp, device)
    scaler = precision.grad_scaler(device)
    targets = torch.zeros(len(batch), dtype=torch.long, device=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    times = []
    for k in range(repeats + 2):  # two warm-up steps: cuDNN picks its kernels on the first
        torch.cuda.synchronize()
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with precision.autocast(device):
            loss = torch.nn.functional.cross_entropy(model(batch), targets)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        torch.cuda.synchronize()
        if k >= 2:
            times.append(time.perf_counter() - start)
    return len(batch) / statistics.median(times)


def bench_models(names: list[str], repeats: int, batch_size: int = 8, cpu: bool = True) -> list[dict]:
    from mer4d.models import build_model, model_info

    rows = []
    for name in names:
        info = model_info(name)
        for label, (t, h, w) in SIZES.items():
            params = quick_options(name) if label.startswith("quick") else {}
            kwargs = {"num_aus": 8} if info.learns_aus else {}
            torch.manual_seed(0)
            model = build_model(name, num_classes=7, in_channels=3, **kwargs, **params)
            batch = torch.rand(batch_size, 3, FIXED_FRAMES.get(name, t), h, w)
            count = sum(p.numel() for p in model.parameters())
            row = {"model": name, "input": label if name not in FIXED_FRAMES else label.replace(f"{t}x", f"{FIXED_FRAMES[name]}x", 1),
                   "options": ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults", "params": count,
                   "train": clips_per_second(model, batch, True, repeats) if cpu else None,
                   "infer": clips_per_second(model, batch, False, repeats) if cpu else None}
            if torch.cuda.is_available():
                for mode, (amp, channels_last) in CUDA_MODES.items():
                    torch.manual_seed(0)
                    fresh = build_model(name, num_classes=7, in_channels=3, **kwargs, **params)
                    row[mode] = cuda_clips_per_second(fresh, batch, amp, channels_last, repeats)
            rows.append(row)
            print(f"  {name} {row['input']}: " + ", ".join(f"{k} {cell(row.get(k), 'skipped' if k in ('train', 'infer') else 'no CUDA')}" for k in ("train", "infer", *CUDA_MODES)), flush=True)
    return rows


def cell(value: float | None, missing: str = "no CUDA") -> str:
    return missing if value is None else f"{value:.1f}"


def bench_pipeline(frames: int, size: int, root: Path, clips: int) -> tuple[float, float, int]:
    """(cold clips/s, warm clips/s, clips) for the DFME layout at ``root``: read, adaptive sampling, resize."""
    from mer4d.pipeline import load_corpus
    from mer4d.recipes import load_recipe

    overrides = [f"dataset.root={root}", f"sampling.frames={frames}", f"preprocess.size={size}", "preprocess.face.enabled=false"]
    recipe = load_recipe(REPO / "recipes" / "dfme_r3d.yaml", overrides, profile="published").recipe
    with tempfile.TemporaryDirectory() as cache, mock.patch.dict(os.environ, {"MER4D_CACHE": cache}):
        timings = []
        for _ in range(2):  # cold (empty clip cache), then warm
            start = time.perf_counter()
            corpus = load_corpus(recipe, progress=False)
            n = min(clips, len(corpus.index))
            for i in range(n):
                corpus.load_clip(i)
            timings.append(n / (time.perf_counter() - start))
    return timings[0], timings[1], n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=None, help="registry names (default: every torch clip model)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--clips", type=int, default=48, help="clips for the pipeline timing")
    parser.add_argument("--skip-pipeline", action="store_true")
    parser.add_argument("--skip-cpu", action="store_true", help="no CPU model timings (on a GPU machine, the CUDA columns only)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from mer4d.models import CLIPS, MODELS, model_info

    clip_models = [n for n in MODELS.names() if model_info(n).kind == "torch" and model_info(n).input == CLIPS]
    names = args.models or clip_models
    other = [n for n in names if n not in clip_models]
    if other:
        parser.error(f"--models {' '.join(other)}: this benchmark feeds clips (B, C, T, H, W), so it times torch clip models only; "
                     f"choose from {', '.join(clip_models)} (tools/bench_4d.py times the 4D pipeline)")
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CUDA: {gpu}; batch 8, RGB clips, 7 classes")
    rows = bench_models(names, args.repeats, cpu=not args.skip_cpu)
    cuda_heads = [f"CUDA train clips/s, {mode}" for mode in CUDA_MODES]
    print("\n| model | input | options | parameters | CPU train clips/s | CPU inference clips/s | " + " | ".join(cuda_heads) + " |")
    print("|---" * (6 + len(cuda_heads)) + "|")
    for r in rows:
        cells = [cell(r["train"], "skipped"), cell(r["infer"], "skipped"), *(cell(r.get(mode)) for mode in CUDA_MODES)]
        print(f"| {r['model']} | {r['input']} | {r['options']} | {r['params']:,} | " + " | ".join(cells) + " |")
    if args.skip_pipeline:
        return
    from mer4d.synth.writers.dfme import write_dfme

    with tempfile.TemporaryDirectory() as folder:
        root = write_dfme(Path(folder) / "dfme", size="quick", seed=0, progress=False, subjects=6, clips_per_subject=4, size_px=128)
        print("\n| pipeline (DFME layout, 128 px PNG frames) | clips | cold clips/s | warm clips/s |\n|---|---|---|---|")
        for label, (t, h, _) in SIZES.items():
            cold, warm, n = bench_pipeline(t, h, root, args.clips)
            print(f"| {label}: read, adaptive sampling, resize | {n} | {cold:.1f} | {warm:.1f} |")


if __name__ == "__main__":
    main()
