"""Training losses: the recipe's task loss (CE / BCE with class weights, or a class-balanced loss) and the method-defined
training losses a model declares in its :class:`~mer4d.models.registry.ModelInfo` (``training_loss``).

Models hold only modules; a loss reads from a model what its registration promises (e.g. the
AU logits of ``forward(x, return_au_logits=True)``), never probes it.
"""

from mer4d.losses import au_joint, view_supervision  # noqa: F401, I001  (register "au_joint" and "view_supervision")
from mer4d.losses.class_balanced import ClassBalancedLoss, class_balanced_loss, effective_number_weights
from mer4d.losses.task import task_loss
from mer4d.losses.training import TRAINING_LOSSES, TrainingLoss, task_only

__all__ = ["TRAINING_LOSSES", "ClassBalancedLoss", "TrainingLoss", "class_balanced_loss", "effective_number_weights", "task_loss", "task_only"]
