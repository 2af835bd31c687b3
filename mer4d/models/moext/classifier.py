"""MoExt's objective-stage network (arXiv 2407.07345 §3.4), registered as ``moext``.

Clips of two frames, the onset (frame 0) and the apex (frame 1), as ``sampling.strategy:
onset_apex`` gives them: the shape extractor (the pre-training separator without its texture
branch, §3.2) on both frames, the motion extractor on the two shape vectors (Eq. 2-3), then
dropout and a Linear head on M (trained with cross-entropy, §3.5). With ``init`` the shape
extractor and motion extractor start from a :meth:`MoExtPretrainNet.checkpoint
<mer4d.models.moext.pretrain_net.MoExtPretrainNet.checkpoint>` file; without it, from scratch
(Table 7's "w/o pre-training").
"""

from __future__ import annotations

from pathlib import Path

import torch

from mer4d.core.errors import RecipeError, ShapeError
from mer4d.models.blocks3d import ClassifierHead
from mer4d.models.clip_input import CLIPS, check_clip
from mer4d.models.moext.motion import MotionExtractor, check_mode
from mer4d.models.moext.pretrain_net import CHECKPOINT_FORMAT, SHARED_SETTINGS
from mer4d.models.moext.separator import ShapeExtractor
from mer4d.models.registry import ModelInfo, register_model


class MoExt(ClassifierHead):
    """MoExt classifier: (B, C, 2, H, W) onset/apex clips -> (B, K) logits (``forward`` and ``reset_classifier`` from :class:`ClassifierHead`).

    Args:
        num_classes: number of logits K (>= 1).
        in_channels: frame channels C (>= 1).
        width: channels of the separator's first block (the paper's at 64).
        feature_dim: size of the shape and motion vectors (the paper: 512); also ``num_features``.
        motion: ``"extractor"`` (Eq. 3) or ``"difference"`` (Table 7's |S_a - S_o|).
        dropout: dropout probability before the head, in [0, 1).

    Shapes:
        input (B, C, 2, H, W), H, W >= 8; features M (B, feature_dim); logits (B, K). B >= 2 in
        training (BatchNorm on vectors in the motion extractor).
    """

    model_name = "moext"
    remove_static = False  # the motion extractor compares the two frames itself

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 64, feature_dim: int = 512, motion: str = "extractor", dropout: float = 0.0):
        super().__init__()
        check_mode(motion)
        self.in_channels, self.width, self.feature_dim, self.motion_mode = in_channels, width, feature_dim, motion
        self.separator = ShapeExtractor(in_channels, width, feature_dim)
        self.motion = MotionExtractor(feature_dim, motion)
        self.build_head(feature_dim, num_classes, dropout)
        self.init_weights()

    def checked_input(self, x: torch.Tensor) -> torch.Tensor:
        sizes = check_clip(x, self.in_channels)
        if sizes["T"] != 2:
            raise ShapeError(
                f"moext: expected clips of 2 frames, onset then apex (B, C, T=2, H, W), got shape {tuple(x.shape)} with T={sizes['T']}; "
                "set sampling.strategy: onset_apex in the recipe", "B C 2 H W", tuple(x.shape),
            )
        return x

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Motion features M (B, feature_dim) of onset/apex clips (B, C, 2, H, W)."""
        x = self.checked_input(x)
        b = x.shape[0]
        shape = self.separator.shape(torch.cat([x[:, :, 0], x[:, :, 1]]))  # one pass, one BatchNorm batch, as in pre-training
        return self.motion(shape[:b], shape[b:])

    def settings(self) -> dict[str, int | str]:
        return {"in_channels": self.in_channels, "width": self.width, "feature_dim": self.feature_dim, "motion": self.motion_mode}

    def load_pretrained(self, path: str | Path) -> None:
        """Load the shape extractor and motion extractor from a pre-training checkpoint file (strictly)."""
        checkpoint = read_checkpoint(path)
        where = f"moext: init checkpoint {str(path)!r}"
        settings = checkpoint["settings"]
        for key in SHARED_SETTINGS:
            theirs, ours = settings.get(key), self.settings()[key]
            if theirs != ours:
                # in_channels is not a recipe option: the runner takes it from the data's frames.
                fix = f"give it frames of {theirs!r} channel(s)" if key == "in_channels" else f"set model.params.{key}: {theirs!r}"
                raise RecipeError(f"{where} was pre-trained with {key}={theirs!r} but the model is built with {key}={ours!r}; {fix}, or pre-train again with {key}={ours!r}")
        state = checkpoint["state"]
        expected = {f"{prefix}.{k}" for prefix, module in (("separator", self.separator), ("motion", self.motion)) for k in module.state_dict()}
        missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
        if missing or unexpected:
            raise RecipeError(f"{where} does not fit the model: missing keys {missing}, unexpected keys {unexpected}; write it with MoExtPretrainNet.checkpoint()")
        for prefix, module in (("separator", self.separator), ("motion", self.motion)):
            part = {k[len(prefix) + 1:]: v for k, v in state.items() if k.startswith(prefix + ".")}
            try:
                module.load_state_dict(part, strict=True)
            except RuntimeError as error:  # a tensor of another shape
                raise RecipeError(f"{where} does not fit the model's {prefix}: {error}") from error


def read_checkpoint(path: str | Path) -> dict:
    """A pre-training checkpoint read with ``weights_only=True``, its format checked."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as error:
        raise RecipeError(f"moext: init checkpoint {str(path)!r} does not exist; give the file written by torch.save(MoExtPretrainNet.checkpoint(), path)") from error
    except Exception as error:  # not a torch file, or pickled objects weights_only refuses
        raise RecipeError(f"moext: init checkpoint {str(path)!r} cannot be read as a weights-only torch file ({error})") from error
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        found = checkpoint.get("format") if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise RecipeError(f"moext: init checkpoint {str(path)!r} has format {found!r}, expected {CHECKPOINT_FORMAT!r} (written by MoExtPretrainNet.checkpoint())")
    if not isinstance(checkpoint.get("settings"), dict) or not isinstance(checkpoint.get("state"), dict):
        raise RecipeError(f"moext: init checkpoint {str(path)!r} lacks its 'settings' or 'state' mapping")
    return checkpoint


@register_model("moext", info=ModelInfo(kind="torch", input=CLIPS, paper_input=(3, 2, 224, 224)))
def moext(num_classes: int, in_channels: int, width: int = 64, feature_dim: int = 512, motion: str = "extractor", dropout: float = 0.0, init: str | None = None) -> MoExt:
    """MoExt (arXiv 2407.07345): shape + motion extractors on onset/apex pairs (sampling.strategy: onset_apex); init: a pre-training checkpoint file."""
    model = MoExt(num_classes=num_classes, in_channels=in_channels, width=width, feature_dim=feature_dim, motion=motion, dropout=dropout)
    if init is not None:
        model.load_pretrained(init)
    return model
