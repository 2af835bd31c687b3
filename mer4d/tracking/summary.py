"""The lines ``mer4d run`` prints at the end."""

from __future__ import annotations

from mer4d.train.experiment import ExperimentRun


def summary_lines(tracked: ExperimentRun, uri: str) -> list[str]:
    """The run, where it is stored (``uri``), and its pooled metrics."""
    m = tracked.result.metrics
    n_folds = len(tracked.result.folds)
    lines = [f"run {tracked.run_id} in {uri} ({n_folds} folds, {len(tracked.result.table)} test clips)"]
    if "uf1" in m:
        lines.append(f"pooled   ACC {m['acc']:.4f}  UF1 {m['uf1']:.4f}  UAR {m['uar']:.4f}")
        if "fold_mean_uf1" in m:
            lines.append(f"per-fold mean ACC {m['fold_mean_acc']:.4f}  UF1 {m['fold_mean_uf1']:.4f}  UAR {m['fold_mean_uar']:.4f}")
    else:
        per_class = "  ".join(f"{c}: F1 {m[f'f1_{c}']:.3f} acc {m[f'acc_{c}']:.3f}" for c in tracked.result.classes)
        lines.append(f"pooled   macro F1 {m['macro_f1']:.4f}  macro acc {m['macro_acc']:.4f}")
        lines.append(f"per class {per_class}")
    lines.append("browse: mer4d ui")
    return lines
