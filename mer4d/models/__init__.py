"""Model zoo: a registry of clip classifiers sharing one contract (see :mod:`mer4d.models.registry`)."""

from mer4d.models import ccdn, googlenet  # noqa: F401, I001  (registers "ccdn" and "googlenet")
from mer4d.models import lbptop_svm  # noqa: F401, I001  (registers "lbptop_svm", a classic model)
from mer4d.models import res3d  # noqa: F401, I001  (registers "res3d")
from mer4d.models import sca  # noqa: F401, I001  (registers "res3d_sca")
from mer4d.models import au_graph  # noqa: F401, I001  (registers "au_graph")
from mer4d.models import p3d, d3d, i3d  # noqa: F401, I001  (registers "p3d", "d3d" and "i3d")
from mer4d.models import moext  # noqa: F401, I001  (registers "moext")
from mer4d.models import tiny3d  # noqa: F401  (registers "tiny3d")
from mer4d.models.clip_input import CLIPS, IMAGES, InputSpec
from mer4d.models.registry import MODELS, ModelEntry, ModelInfo, build_model, check_model_params, model_info, register_model

__all__ = [
    "CLIPS", "IMAGES", "MODELS", "InputSpec", "ModelEntry", "ModelInfo", "build_model", "check_model_params", "model_info", "register_model",
]
