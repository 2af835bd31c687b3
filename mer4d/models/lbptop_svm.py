"""LBP-TOP features + one-vs-rest linear SVMs: the 4DME paper's hand-crafted 2D baseline.

A *classic* (non-torch) registry entry: it follows the classic contract of
:mod:`mer4d.models.registry` (``features`` of clips, ``fit`` on training features,
``predict_scores`` of test features) instead of forward/backward, and the runner trains it in one
call instead of epochs.

Features: :func:`mer4d.preprocess.lbptop.lbp_top` per clip (5 x 5 blocks, radii (1, 1, 2), P = 8,
59-bin u2 histograms: 4425 values, algorithms.md §5). Classifier: one binary ``LinearSVC(C=1000)``
per class, one-vs-rest (4DME's setting; for multi-label emotions each class is its own binary
problem). Scores: the SVM decision values d pushed through a logistic, sigmoid(d), so a score of
0.5 is the SVM's own boundary (the 0.5 threshold of multi-label decisions keeps the SVM's
decision); single-label tasks use the softmax of the per-class decisions (argmax unchanged).
"""

from __future__ import annotations

import logging
import warnings

import numpy as np

from mer4d.core.errors import RecipeError, ShapeError
from mer4d.core.progress import progress_bar
from mer4d.core.shapes import check_shape
from mer4d.models.clip_input import CLIPS
from mer4d.models.registry import ModelInfo, register_model
from mer4d.preprocess.lbptop import lbp_top

log = logging.getLogger(__name__)


class LBPTOPSVM:
    """LBP-TOP histograms of gray clips -> one-vs-rest linear SVMs.

    Args:
        num_classes: K, the number of classes (or AUs) scored.
        blocks: (blocks_y, blocks_x) spatial grid of the histograms.
        radii: (R_X, R_Y, R_T) of the three planes' sampling ellipses.
        neighbours: samples P per plane (8 -> 59 bins).
        C: SVM regularisation (4DME: 1000, i.e. nearly hard margin).
        standardize: z-score every feature with the training fold's mean and spread first.
        class_weight: "balanced" re-weights each binary SVM by inverse class frequency.
        max_iter: liblinear iterations; a fold that does not converge is logged, not hidden.

    Shapes:
        clips (N, 1, T, H, W) float; features (N, blocks_y * blocks_x * 3 * bins); scores (N, K).
    """

    def __init__(self, num_classes: int, blocks=(5, 5), radii=(1, 1, 2), neighbours: int = 8, C: float = 1000.0,
                 standardize: bool = False, class_weight: str = "none", max_iter: int = 20000):
        if class_weight not in ("none", "balanced"):
            raise RecipeError(f"model.params.class_weight must be 'none' or 'balanced', got {class_weight!r}")
        if not C > 0:
            raise RecipeError(f"model.params.C must be > 0, got {C!r}")
        self.num_classes = int(num_classes)
        self.blocks, self.radii, self.neighbours = tuple(blocks), tuple(radii), int(neighbours)
        self.C, self.standardize, self.class_weight, self.max_iter = float(C), bool(standardize), class_weight, int(max_iter)
        self.classifier = None
        self.multilabel_ = False
        self._constant: dict[int, float] = {}

    def features(self, clips: np.ndarray, progress: bool = False) -> np.ndarray:
        """(N, 1, T, H, W) gray clips -> (N, F) LBP-TOP feature rows."""
        clips = np.asarray(clips)
        check_shape(clips, "N C T H W", name="LBP-TOP clips")
        if clips.shape[1] != 1:
            raise ShapeError(f"LBP-TOP works on gray clips (1 channel), got {clips.shape[1]} channels; use dataset.modality: gray",
                             expected="N 1 T H W", actual=clips.shape)
        rows = [lbp_top(clip[0], self.blocks, self.radii, self.neighbours) for clip in progress_bar(clips, desc="LBP-TOP", disable=not progress, leave=False)]
        return np.stack(rows)

    def fit(self, features: np.ndarray, targets: np.ndarray) -> LBPTOPSVM:
        """Train on :meth:`features` rows and targets: (N,) class ids, or (N, K) multi-hot for multi-label tasks."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import LinearSVC

        targets = np.asarray(targets)
        self.multilabel_ = targets.ndim == 2
        if self.multilabel_ and targets.shape[1] != self.num_classes:
            raise ShapeError(f"multi-hot targets have {targets.shape[1]} columns, the model scores {self.num_classes} classes",
                             expected=f"N {self.num_classes}", actual=targets.shape)
        svm = LinearSVC(C=self.C, class_weight="balanced" if self.class_weight == "balanced" else None, max_iter=self.max_iter, random_state=0)
        steps = [StandardScaler(), svm] if self.standardize else [svm]
        # One binary SVM per class (label indicator columns for multi-label, class ids otherwise).
        classifier = OneVsRestClassifier(make_pipeline(*steps))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            classifier.fit(np.asarray(features), targets.astype(int))
        for w in caught:
            if issubclass(w.category, ConvergenceWarning):
                log.warning(f"LBP-TOP SVM: liblinear did not converge in {self.max_iter} iterations; raise model.params.max_iter "
                            "or set model.params.standardize: true")
                break
            if issubclass(w.category, UserWarning) and "present in all training examples" in str(w.message):
                log.warning(f"LBP-TOP SVM: {w.message} (scored as constant in this fold)")
        self.classifier = classifier
        # A label column constant in the fold (never or always present) has no SVM; sklearn's
        # stand-in returns 0/1 "decisions", which the sigmoid would turn into a coin flip.
        self._constant = {k: float(v[0]) for k, v in enumerate(targets.T) if self.multilabel_ and (v == v[0]).all()}
        return self

    def decision(self, features: np.ndarray) -> np.ndarray:
        """(N, K) signed SVM decision values of :meth:`features` rows, one column per class in class order."""
        if self.classifier is None:
            raise RecipeError("LBPTOPSVM.decision called before fit")
        d = np.asarray(self.classifier.decision_function(np.asarray(features)), dtype=np.float64)
        if d.ndim == 1:  # a two-class single-label problem gives one column: the second class's margin
            d = np.stack([-d, d], axis=1)
        for k, value in self._constant.items():
            d[:, k] = 10.0 if value > 0 else -10.0
        if d.shape[1] != self.num_classes:
            # classes absent from the training fold have no SVM; score them as clearly absent
            full = np.full((len(d), self.num_classes), -10.0)
            full[:, self.classifier.classes_.astype(int)] = d
            d = full
        return d

    def predict_scores(self, features: np.ndarray) -> np.ndarray:
        """(N, K) scores in [0, 1] of :meth:`features` rows: sigmoid of the decisions (multi-label) or their softmax."""
        d = self.decision(features)
        if self.multilabel_:
            return 1.0 / (1.0 + np.exp(-d))
        e = np.exp(d - d.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


@register_model("lbptop_svm", info=ModelInfo(kind="classic", input=CLIPS))  # fitted by mer4d.train.classic, not the epoch engine
def lbptop_svm(num_classes: int, in_channels: int, blocks: tuple[int, int] = (5, 5), radii: tuple[float, float, float] = (1, 1, 2), neighbours: int = 8,
               C: float = 1000.0, standardize: bool = False, class_weight: str = "none", max_iter: int = 20000) -> LBPTOPSVM:
    """LBP-TOP (5x5 blocks, radii 1,1,2, 59-bin u2) + one-vs-rest LinearSVC(C=1000): 4DME's hand-crafted baseline (gray clips)."""
    if in_channels != 1:
        raise RecipeError(f"lbptop_svm needs gray clips (1 channel), the corpus gives {in_channels}; use dataset.modality: gray")
    return LBPTOPSVM(num_classes, tuple(blocks), tuple(radii), neighbours, C, standardize, class_weight, max_iter)

