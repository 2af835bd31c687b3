"""Scores over pooled predictions: single-label ACC/UF1/UAR and multi-label per-class F1/accuracy.

numpy only, so scoring never pulls in torch or scikit-learn.
"""

from mer4d.metrics.classification import confusion_matrix, per_class_f1, per_fold_means, single_label_scores
from mer4d.metrics.multilabel import binarize, multilabel_scores

__all__ = [
    "binarize",
    "confusion_matrix",
    "multilabel_scores",
    "per_class_f1",
    "per_fold_means",
    "single_label_scores",
]
