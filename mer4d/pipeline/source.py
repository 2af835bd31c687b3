"""Where a recipe's clips come from: a dataset root, or the simulator when none is given.

The simulator is a data *source* like any root: the pipeline asks its writer for a folder laid
out like the real dataset (once, into the cache) and then reads that folder with the dataset's
own scan, so simulated and real data take the same path from here on. Real-data code
(``mer4d.data``) never imports the simulator; only this module does.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mer4d.core.errors import DataError, RecipeError
from mer4d.core.options import check_options
from mer4d.data.cache import cache_dir, once_folder
from mer4d.data.datasets import DATASETS
from mer4d.data.problems import Problem
from mer4d.data.spec import DatasetSpec
from mer4d.recipes.schema import DatasetCfg

# Recipe keys that are shared by every dataset and so may not hide under dataset.params.
SHARED_KEYS = {"frames": "sampling.frames", "strategy": "sampling.strategy", "size": "preprocess.size", "render": "render",
               "face": "preprocess.face", "modality": "dataset.modality", "kinds": "dataset.kind",
               "shuffle_labels": "dataset.shuffle_labels", "sim_size": "dataset.simulator.size", "sim_seed": "dataset.simulator.seed"}


def simulated_dataset(kind: str, size: str = "quick", seed: int = 0, **options: object) -> Path:
    """The folder of the simulated ``kind`` layout, generated into the cache on first use."""
    from mer4d.synth.writers import SIMULATOR_VERSION, WRITERS

    if kind not in WRITERS:
        raise DataError(f"no simulator writer for dataset '{kind}'; available: {sorted(WRITERS)}")
    extra = "".join(f"-{k}{v}" for k, v in sorted(options.items()))
    final = cache_dir() / "sim" / f"{kind}-{size}-seed{seed}{extra}-v{SIMULATOR_VERSION}"
    describe = f"the simulated {kind} dataset ({size}, seed {seed}{', ' + extra[1:] if extra else ''}) v{SIMULATOR_VERSION}"
    return once_folder(final, lambda tmp: WRITERS[kind](tmp, size=size, seed=seed, **options), describe)


@dataclass(frozen=True)
class Source:
    spec: DatasetSpec
    root: Path | None  # None: generated in code (toy)
    origin: str  # one line for the run banner


def locate(cfg: DatasetCfg) -> Source:
    """The spec and root a recipe's ``dataset`` section names (the simulator's folder when no root)."""
    check_dataset_cfg(cfg)
    spec = DATASETS.get(cfg.name)
    if spec.scan is None:  # generated in code: no files at all
        if cfg.root is not None:
            raise DataError(f"{spec.name} dataset: it is generated in code and takes no root, got root={str(cfg.root)!r}. "
                            "Fix: remove dataset.root from the recipe (or the --set dataset.root=... override).")
        return Source(spec, None, f"built-in {spec.name} generator")
    if cfg.root is not None:
        return Source(spec, Path(cfg.root), f"{spec.name} at {cfg.root}")
    if spec.writer is None:
        raise DataError(f"dataset {spec.name}: no simulator writes this layout, so dataset.root is required; point it at your copy")
    root = simulated_dataset(spec.writer, size=cfg.simulator.size, seed=cfg.simulator.seed, **writer_options(spec, cfg.params), **cfg.simulator.params)
    return Source(spec, root, f"built-in {spec.name} simulator ({cfg.simulator.size}, seed {cfg.simulator.seed}) cached at {root}")


def check_dataset_cfg(cfg: DatasetCfg) -> None:
    """Cheap checks of a recipe's dataset section before anything is read: the dataset, its
    options, label scheme and modality exist (each a did-you-mean error naming the key)."""
    spec = DATASETS.get(cfg.name)
    own = inspect.signature(spec.scan).parameters if spec.scan is not None else {}
    for key, home in SHARED_KEYS.items():
        if key in cfg.params and key not in own:  # CASME II's own `frames` (cropped/raw) is a scan option
            raise RecipeError(f"dataset.params.{key}: set {home} instead (it is shared by every dataset)")
    if spec.scan is not None:
        check_options(spec.scan, cfg.params, f"dataset.params (dataset '{spec.name}')", reserved=("root", "seed"))
    else:
        from mer4d.pipeline.generated import GENERATORS

        check_options(GENERATORS[spec.name], cfg.params, f"dataset.params (dataset '{spec.name}')", reserved=("seed", "frames", "size", "shuffle"))
    spec.scheme(cfg.labels)
    spec.modality(cfg.modality)


def writer_options(spec: DatasetSpec, params: dict) -> dict:
    """The scan options that change which layout the simulator must write (e.g. SMIC's camera)."""
    names = spec.extra.get("writer_options", ())
    return {k: params[k] for k in names if k in params}


def scan_source(source: Source, params: dict, seed: int) -> tuple[pd.DataFrame, list[Problem]]:
    """The spec's scan of the source's root with the recipe's options (``seed`` when it takes one)."""
    return source.spec.run_scan(source.root, seed, **params)
