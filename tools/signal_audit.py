"""Where does the planted signal go? Linear probes along the 4D pipeline of a recipe.

For the recipe's clips and folds (the built-in simulator unless ``dataset.root`` is set) this fits
the same one-vs-rest logistic regression, fold by fold, on what each stage holds, and prints its
pooled macro F1 next to the label prior:

- ``planted AUs``: the multi-hot of every AU in the label sheet (active and static). A linear
  read-out of the rule table; how far a perfect AU detector would get a linear classifier.
- ``active AUs only``: the same without the static ``(k)`` AUs, which a dynamic image cannot see
  (rank pooling cancels whatever does not change, ``preprocess/dynamic.py``).
- ``view V`` / ``all views``: the cross-domain dynamic images the model gets (each view, then the
  views concatenated), standardised per pixel, optionally averaged down to ``--pool`` pixels.

A large drop between two rows is a stage that loses the signal. ``--variant "name: k=v k=v"`` adds
the same probes for other render / simulator settings (each renders into the cache once).

Usage:
    python tools/signal_audit.py [RECIPE] [--set k=v ...] [--variant "NAME: k=v ..."] [--pool 32]
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np

from mer4d.metrics.multilabel import multilabel_scores
from mer4d.pipeline import load_corpus
from mer4d.recipes import load_recipe
from mer4d.train.runner import build_folds
from mer4d.train.targets import detection_au, encode_targets


def probe(features: np.ndarray, targets: np.ndarray, folds, c: float) -> float:
    """Pooled macro F1 of one-vs-rest logistic regressions trained on each fold's training clips."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    pred = np.zeros_like(targets)
    for fold in folds:
        scaler = StandardScaler().fit(features[fold.train])
        train, test = scaler.transform(features[fold.train]), scaler.transform(features[fold.test])
        for k in range(targets.shape[1]):
            y = targets[fold.train, k]
            if y.min() == y.max():  # a class absent (or everywhere) in this training fold
                pred[fold.test, k] = y[0]
                continue
            model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced").fit(train, y)
            pred[fold.test, k] = model.predict(test)
    return multilabel_scores(targets, pred, [str(k) for k in range(targets.shape[1])])["macro_f1"]


def au_multi_hot(index, static: bool) -> np.ndarray:
    """(N, A) multi-hot of the AUs of each clip, sides merged; ``static`` adds the held ``(k)`` AUs."""
    rows = [[detection_au(a) for a in [*active, *(held if static else [])]] for active, held in zip(index["aus"], index["aus_static"], strict=True)]
    codes = sorted({a for row in rows for a in row})
    out = np.zeros((len(index), len(codes)), np.float32)
    for i, row in enumerate(rows):
        out[i, [codes.index(a) for a in row]] = 1.0
    return out


def pooled(images: np.ndarray, size: int) -> np.ndarray:
    """(N, ..., H, W) -> (N, ..., size, size) by block averaging (H divisible by size, else left as is)."""
    h = images.shape[-1]
    if size <= 0 or size >= h or h % size:
        return images
    f = h // size
    return images.reshape(*images.shape[:-2], size, f, size, f).mean(axis=(-1, -3))


def audit(recipe_path: str, overrides: list[str], pool: int, c: float, label: str) -> list[tuple[str, str, float]]:
    recipe = load_recipe(recipe_path, overrides, None).recipe
    corpus = load_corpus(recipe, progress=False)
    index = corpus.index
    original = np.flatnonzero(index["augmented_from"].to_numpy() < 0) if "augmented_from" in index else np.arange(len(index))
    index = index.iloc[original].reset_index(drop=True)
    folds = build_folds(recipe, corpus)
    targets = encode_targets(index, recipe.dataset.task, corpus.classes)
    images = pooled(np.stack([corpus.load_clip(int(i)) for i in original]), pool)  # (N, V, D, h, w)
    rows = [(label, "label prior (always predict the training majority per class)", probe(np.zeros((len(index), 1)), targets, folds, c))]
    if label == "base":
        rows.append((label, "planted AUs (active + static)", probe(au_multi_hot(index, True), targets, folds, c)))
        rows.append((label, "active AUs only (no static)", probe(au_multi_hot(index, False), targets, folds, c)))
    names = list(recipe.render.views)
    for v in range(images.shape[1]):
        rows.append((label, f"dynamic images, view {names[v] if v < len(names) else v}", probe(images[:, v].reshape(len(index), -1), targets, folds, c)))
    if images.shape[1] > 1:
        rows.append((label, "dynamic images, all views", probe(images.reshape(len(index), -1), targets, folds, c)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe", nargs="?", default="recipes/4dme_ccdn.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--variant", action="append", default=[], metavar='"NAME: k=v ..."')
    parser.add_argument("--pool", type=int, default=32, help="average the images down to this many pixels a side (0: keep)")
    parser.add_argument("--c", type=float, default=0.01, help="inverse L2 strength of the probes")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    runs = [("base", args.overrides)] + [(v.split(":", 1)[0].strip(), [*args.overrides, *v.split(":", 1)[1].split()]) for v in args.variant]
    print("| setting | probe on | pooled macro F1 |\n|---|---|---|")
    for label, overrides in runs:
        start = time.perf_counter()
        for name, what, value in audit(args.recipe, overrides, args.pool, args.c, label):
            print(f"| {name} | {what} | {value:.3f} |", flush=True)
        print(f"<!-- {label}: {time.perf_counter() - start:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()
