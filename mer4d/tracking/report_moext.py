"""MoExt's ablation table (arXiv 2407.07345 Table 7, composite database) read back from the MLflow store.

A row is a finished ``megc2019_moext`` fine-tuning run, named by what it leaves out: its own
``--set`` overrides (``model.params.init=null``: no pre-training; ``model.params.motion=difference``:
|S_a - S_o| instead of the motion extractor; ``dataset.shuffle_labels=true``: the control) and
those of the pre-training run its checkpoint came from (tag ``mer4d.pretrain_variant``:
``dataset.kind=micro``, ``pretrain.alpha_st=0``, ``pretrain.alpha_oa=0``).
"""

from __future__ import annotations

import pandas as pd

from mer4d.train.pretrained import SIZING_KEYS

# --set keys that size a run without changing its method; a resized run keeps its row (its variant column says how)
RESIZING = (*SIZING_KEYS, "train.epochs", "train.batch_size", "train.lr", "train.crop")

PARAMS = ("model.name", "dataset.name")
TAGS = ("mer4d.pretrain_variant", "mer4d.pretrain_run")
# Table 7 of the paper (ACC, UF1, UAR), for the reader's comparison
PAPER = {
    "w/o pre-training": (0.7812, 0.7746, 0.7776),
    "w/o macro-expressions": (0.8023, 0.8164, 0.8020),
    "w/o motion extractor": (0.8177, 0.8082, 0.8038),
    "w/o L_st": (0.8233, 0.8017, 0.8045),
    "w/o L_oa": (0.8250, 0.8111, 0.8010),
    "MoExt": (0.8417, 0.8301, 0.8226),
}
ORDER = (*PAPER, "shuffled-label control")


def _has(setting: str, *keys: str) -> bool:
    parts = set(setting.split())
    return any(k in parts for k in keys)


def ablation_name(variant: str, pretrain_variant: str) -> str | None:
    """The Table 7 row a run belongs to, or None when it mixes several changes (listed as they are)."""
    own = [o for o in variant.split() if not o.startswith(("model.params.init=runs:/", *RESIZING))]
    if _has(variant, "dataset.shuffle_labels=true", "dataset.shuffle_labels=True"):
        return "shuffled-label control"
    if _has(variant, "model.params.init=null", "model.params.init=none", "model.params.init=None"):
        return "w/o pre-training" if len(own) == 1 else None
    changes = {*own, *(o for o in pretrain_variant.split() if not o.startswith(RESIZING))}
    named = {
        frozenset(): "MoExt",
        frozenset({"dataset.kind=micro"}): "w/o macro-expressions",
        frozenset({"model.params.motion=difference"}): "w/o motion extractor",
        frozenset({"pretrain.alpha_st=0"}): "w/o L_st",
        frozenset({"pretrain.alpha_oa=0"}): "w/o L_oa",
    }
    return named.get(frozenset(changes))


def ablation_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Rows (ablation, profile, ACC / UF1 / UAR, the paper's three, variant, run) of the megc2019 MoExt runs.

    ``runs`` is :func:`mer4d.tracking.report.latest_runs` with ``params=PARAMS, tags=TAGS``.
    """
    if runs.empty or "model.name" not in runs:
        return pd.DataFrame()
    chosen = runs[(runs["model.name"] == "moext") & (runs["dataset.name"] == "megc2019")]
    rows = []
    for _, run in chosen.iterrows():
        pre = str(run.get("mer4d.pretrain_variant", "") or "")
        name = ablation_name(str(run["variant"]), pre)
        paper = PAPER.get(name or "", (None, None, None))
        rows.append({
            "ablation": name or "other", "profile": run["profile"], "ACC": run["ACC"], "UF1": run["UF1"], "UAR": run["UAR"],
            "paper ACC": paper[0], "paper UF1": paper[1], "paper UAR": paper[2],
            "variant": " ".join(v for v in (str(run["variant"]), f"pre-training: {pre}" if pre else "") if v),
            "run": run["run"], "_order": ORDER.index(name) if name in ORDER else len(ORDER),
        })
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(rows).sort_values(["_order", "profile"]).drop(columns="_order").reset_index(drop=True)
