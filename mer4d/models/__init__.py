"""Model zoo: a registry of clip classifiers sharing one contract (see :mod:`mer4d.models.registry`)."""

from mer4d.models import ccdn, googlenet  # noqa: F401, I001  (registers "ccdn" and "googlenet")
from mer4d.models import res3d  # noqa: F401, I001  (registers "res3d")
from mer4d.models import tiny3d  # noqa: F401  (registers "tiny3d")
from mer4d.models.registry import MODELS, build_model, check_model_params

__all__ = ["MODELS", "build_model", "check_model_params"]
