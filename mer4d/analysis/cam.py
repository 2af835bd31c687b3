"""``mer4d analyze cam``: class activation maps of a run's fold models on their own test clips.

For each fold of a run trained with ``train.keep_checkpoints: true`` (:mod:`.fold_models`), the
fold's model computes Grad-CAMs (:mod:`.gradcam`) for every logit on that fold's test clips only,
seen exactly as at test time (``train.crop`` centre crop). The maps are averaged per AU and per
emotion over all folds (:mod:`.cam_maps`), correlated (the 4DME paper's Table 9 layout) and drawn
over the mean face of the test clips. On the built-in 4DME simulator, where the region each AU
moves is known, :mod:`.cam_regions` says whether each AU map peaks inside it. Everything is stored
in the run under ``analysis/cam/``.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mer4d.analysis.cam_maps import AU, EMOTION, CamAccumulator, GroupMaps, correlation_table, grid_figure, markdown
from mer4d.analysis.fold_models import RebuiltRun, rebuild_run
from mer4d.analysis.gradcam import CAM_LAYERS, METHODS, cam_branches, cam_models, grad_cam
from mer4d.core.errors import TrackingError
from mer4d.core.progress import progress_bar
from mer4d.tracking.fold_store import RunFolds
from mer4d.train.targets import MULTILABEL_TASKS, detection_au, encode_targets

ARTIFACTS = "analysis/cam"


def artifact_folder(layer: str | None, method: str = "gradcam") -> str:
    """Where a run keeps its CAM analysis: ``analysis/cam`` for Grad-CAM of the declared feature map, else
    ``analysis/cam_<layer>``, ``analysis/cam_layercam`` or ``analysis/cam_layercam_<layer>``."""
    parts = ([] if method == "gradcam" else [method]) + ([] if layer is None else [layer.replace(".", "_")])
    return "_".join([ARTIFACTS, *parts])


@dataclass(frozen=True)
class CamReport:
    run_id: str
    model: str
    task: str
    layer: str  # the feature map explained
    method: str  # gradcam or layercam (mer4d.analysis.gradcam.METHODS)
    maps: GroupMaps
    correlation: pd.DataFrame
    regions: pd.DataFrame | None  # simulator only: per AU, where its map peaks and its planted region
    folds: int
    clips: int
    artifacts: str = ARTIFACTS  # the run's artifact folder holding them


def moving_aus(codes) -> set[str]:
    """The AUs (sides merged) that move in a clip; static ``(k)`` AUs are held, so no motion shows them."""
    return {detection_au(c) for c in codes if "(k)" not in str(c)}


def clip_emotions(row: pd.Series) -> list[str]:
    emotions = row.get("emotions")
    if isinstance(emotions, list | tuple) and emotions:
        return list(emotions)
    return [row["emotion"]] if isinstance(row.get("emotion"), str) and row["emotion"] else []


def label_sets(index: pd.DataFrame, task: str, classes: tuple[str, ...], min_clips: int,
               emotion_order: tuple[str, ...] = ()) -> tuple[str, np.ndarray, tuple[str, ...], np.ndarray]:
    """What the logits are (AU or emotion), the (N, K) own-class labels, and the other label set's groups with (N, G) membership
    (emotion groups in ``emotion_order``, the label scheme's, then any others alphabetically)."""
    targets = encode_targets(index, task, classes)
    positives = targets > 0.5 if task in MULTILABEL_TASKS else np.eye(len(classes), dtype=bool)[targets]
    if task == "au":
        per_clip = [clip_emotions(row) for _, row in index.iterrows()]
        found = {e for emotions in per_clip for e in emotions}
        groups = tuple([e for e in emotion_order if e in found] + sorted(found - set(emotion_order)))
        members = np.array([[g in emotions for g in groups] for emotions in per_clip], dtype=bool).reshape(len(index), len(groups))
        return AU, positives, groups, members
    per_clip = [moving_aus(aus) for aus in index["aus"]] if "aus" in index else [set() for _ in range(len(index))]  # toy data: no AUs
    counts = pd.Series([a for aus in per_clip for a in aus], dtype=object).value_counts()
    groups = tuple(sorted((a for a, n in counts.items() if n >= min_clips), key=lambda a: int(a[2:])))
    members = np.array([[g in aus for g in groups] for aus in per_clip], dtype=bool).reshape(len(index), len(groups))
    return EMOTION, positives, groups, members


def fold_batches(rebuilt: RebuiltRun, positions: np.ndarray):
    """The test clips at ``positions`` in batches, exactly as ``engine.predict`` feeds them (centre crop)."""
    import torch

    from mer4d.train.augment import centre_crop

    recipe = rebuilt.recipe
    batch = recipe.train.batch_size
    for start in range(0, len(positions), batch):
        rows = positions[start: start + batch]
        clips = torch.from_numpy(np.stack([np.asarray(rebuilt.corpus.load_clip(int(r)), dtype=np.float32) for r in rows]))
        yield rows, clips if recipe.train.crop is None else centre_crop(clips, recipe.train.crop)


def compute_maps(rebuilt: RebuiltRun, progress: bool = True, layer: str | None = None, method: str = "gradcam") -> GroupMaps:
    """Every fold's class activation maps (``method``: Grad-CAM or Layer-CAM) on its own test clips, averaged per class and group (:class:`CamAccumulator`)."""
    import torch

    from mer4d.models import model_info
    from mer4d.train.engine import pick_device

    recipe = rebuilt.recipe
    name = recipe.model.name
    if name not in cam_models():
        raise TrackingError(f"run {rebuilt.run_id}: Grad-CAM is defined for {', '.join(cam_models())}; this run's model is '{name}'")
    multi_view = model_info(name).input.has_views
    classes = rebuilt.folds[0].checkpoint.classes
    own_kind, positives, groups, members = label_sets(rebuilt.corpus.index, recipe.dataset.task, classes, recipe.dataset.au_min_clips,
                                                      tuple(rebuilt.corpus.classes))
    device = pick_device(recipe.train.device)
    accumulator = None
    for fold in progress_bar(rebuilt.folds, desc="folds: Grad-CAM on test clips", unit="fold", disable=not progress):
        model = fold.checkpoint.build().to(device)
        branches = cam_branches(name, model, layer)
        if accumulator is None:
            views = tuple(recipe.render.views[b.view] for b in branches) if multi_view else ("",)
            accumulator = CamAccumulator(own_kind, classes, groups, views)
        for rows, clips in fold_batches(rebuilt, fold.test):
            x = clips.to(device)
            maps = torch.stack([grad_cam(b.net, b.layer, b.pick(x), method=method) for b in branches], dim=1)  # (B, V, K, H, W)
            shown = clips[:, [b.view for b in branches]].mean(dim=2) if multi_view else clips.mean(dim=(1, 2))[:, None]
            accumulator.add(maps.cpu().numpy(), positives[rows], members[rows], shown.numpy(), rows)
    return accumulator.result()


def analyze_cam(run_id: str, uri: str | None = None, progress: bool = True, layer: str | None = None, method: str = "gradcam") -> CamReport:
    """Compute, store (in the run, under :func:`artifact_folder`) and return the CAM analysis of run ``run_id``."""
    from mer4d.analysis.cam_regions import region_table

    run = RunFolds(run_id, uri)
    with tempfile.TemporaryDirectory() as tmp:
        rebuilt = rebuild_run(run, Path(tmp) / "checkpoints", progress)
        maps = compute_maps(rebuilt, progress, layer, method)
        report = CamReport(run_id, rebuilt.recipe.model.name, rebuilt.recipe.dataset.task, layer or CAM_LAYERS.get(rebuilt.recipe.model.name, "inception"),
                           method, maps, correlation_table(maps),
                           region_table(rebuilt.recipe, rebuilt.corpus, maps), len(rebuilt.folds),
                           int(sum(len(f.test) for f in rebuilt.folds)), artifact_folder(layer, method))
        write_artifacts(report, Path(tmp) / "out")
        run.log_folder(Path(tmp) / "out", report.artifacts)
    return report


def write_artifacts(report: CamReport, folder: Path) -> None:
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True)
    maps = report.maps
    np.savez_compressed(folder / "cam_maps.npz", maps=maps.maps, background=maps.background, names=np.array(maps.names),
                        kinds=np.array(maps.kinds), views=np.array(maps.views))
    maps.table().to_csv(folder / "cam_groups.csv", index=False)
    report.correlation.to_csv(folder / "cam_correlation.csv", float_format="%.4f")
    if report.regions is not None:
        report.regions.to_csv(folder / "cam_regions.csv", index=False, float_format="%.4f")
    title = f"{METHODS[report.method]} of {report.model} ({report.layer}; {report.task}), {report.clips} test clips over {report.folds} folds, each fold's own model"
    fig = grid_figure(maps, title)
    fig.savefig(folder / "cam_grid.png", dpi=130)
    plt.close(fig)
    (folder / "summary.md").write_text("\n".join(summary_lines(report)) + "\n")


def summary_lines(report: CamReport) -> list[str]:
    maps = report.maps
    own = "AU" if report.task == "au" else "emotion"
    lines = [f"## {METHODS[report.method]} of run {report.run_id}: {report.model} (feature map {report.layer}), task {report.task}",
             "", f"{report.clips} test clips over {report.folds} folds, each explained by its own fold's model only. {own.capitalize()} maps "
             f"come from the model's logits; {'emotion' if own == 'AU' else 'AU'} maps average each clip's maps for its own labels.",
             "", markdown(maps.table().set_index("name"), digits=0),
             "", "### Pearson correlation of the averaged maps (4DME Table 9 layout: AUs, then emotions, against AUs)", ""]
    lines.append(markdown(report.correlation) if not report.correlation.empty else "_no AU map: no AU occurred in enough test clips_")
    if report.regions is not None:
        hits = int(report.regions["peak_inside"].sum())
        lines += ["", f"### Peak of each AU map inside the region the simulator moves for it: {hits} of {len(report.regions)}", "",
                  markdown(report.regions.set_index("AU"))]
    lines += ["", f"Artifacts: {report.artifacts}/cam_grid.png, cam_correlation.csv, cam_groups.csv, cam_maps.npz"
                  + (", cam_regions.csv" if report.regions is not None else "")]
    return lines
