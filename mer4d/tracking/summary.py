"""The lines ``mer4d run`` prints at the end."""

from __future__ import annotations

from mer4d.train.experiment import ExperimentRun
from mer4d.train.repeats import RepeatsRun


def interval(m: dict[str, float], key: str) -> str:
    """`` [low, high]`` of metric ``key`` (95 % subject bootstrap), empty when not logged."""
    low, high = m.get(f"{key}_ci_low"), m.get(f"{key}_ci_high")
    return "" if low is None or high is None else f" [{low:.3f}, {high:.3f}]"


def summary_lines(tracked: ExperimentRun | RepeatsRun, uri: str) -> list[str]:
    """The run, where it is stored (``uri``), and its pooled metrics with their 95 % intervals
    (for repeats: mean +- sd over the seeds, and the interval of the seed mean)."""
    if isinstance(tracked, RepeatsRun):
        return repeats_lines(tracked, uri)
    m = tracked.result.metrics
    n_folds = len(tracked.result.folds)
    lines = [f"run {tracked.run_id} in {uri} ({n_folds} folds, {len(tracked.result.table)} test clips)"]
    if "uf1" in m:
        lines.append(f"pooled   ACC {m['acc']:.4f}  UF1 {m['uf1']:.4f}  UAR {m['uar']:.4f}")
        if "uf1_ci_low" in m:
            lines.append(f"95% CI (subject bootstrap)  ACC{interval(m, 'acc')}  UF1{interval(m, 'uf1')}  UAR{interval(m, 'uar')}")
        if "fold_mean_uf1" in m:
            lines.append(f"per-fold mean ACC {m['fold_mean_acc']:.4f}  UF1 {m['fold_mean_uf1']:.4f}  UAR {m['fold_mean_uar']:.4f}")
    else:
        per_class = "  ".join(f"{c}: F1 {m[f'f1_{c}']:.3f} acc {m[f'acc_{c}']:.3f}" for c in tracked.result.classes)
        lines.append(f"pooled   macro F1 {m['macro_f1']:.4f}  macro acc {m['macro_acc']:.4f}")
        if "macro_f1_ci_low" in m:
            lines.append(f"95% CI (subject bootstrap)  macro F1{interval(m, 'macro_f1')}  macro acc{interval(m, 'macro_acc')}")
        lines.append(f"per class {per_class}")
    lines.append(browse(uri))
    return lines


def browse(uri: str) -> str:
    """Where to look at the run: the tracking server itself, or ``mer4d ui`` for a local store."""
    return f"browse: {uri}" if uri.startswith(("http://", "https://")) else "browse: mer4d ui"


def repeats_lines(tracked: RepeatsRun, uri: str) -> list[str]:
    r = tracked.result
    m = r.metrics
    first = r.runs[0].result
    lines = [f"repeats run {tracked.run_id} in {uri} ({len(r.seeds)} seeds {','.join(map(str, r.seeds))}; "
             f"{len(first.folds)} folds, {len(first.table)} test clips each)"]
    for seed, run in zip(r.seeds, r.runs, strict=True):
        sm = run.result.metrics
        head = f"UF1 {sm['uf1']:.4f}" if "uf1" in sm else f"macro F1 {sm['macro_f1']:.4f}"
        lines.append(f"  seed {seed}: run {run.run_id}  {head}")
    names = ("acc", "uf1", "uar") if "uf1" in m else ("macro_f1", "macro_acc")
    labels = {"acc": "ACC", "uf1": "UF1", "uar": "UAR", "macro_f1": "macro F1", "macro_acc": "macro acc"}
    for name in names:
        lines.append(f"{labels[name]:<9} {m[f'{name}_mean']:.4f} +- {m.get(f'{name}_sd', float('nan')):.4f} ({len(r.seeds)} seeds)  "
                     f"95% CI{interval(m, name)}")
    lines.append(f"the interval resamples subjects and averages the seeds; {browse(uri)}")
    return lines
