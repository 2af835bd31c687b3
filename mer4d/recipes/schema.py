"""Typed recipe schema (DESIGN §3). Unknown keys are rejected; later issues add fields.

Every section forbids extra keys so a typo fails loudly (with a suggestion, see ``errors.py``)
instead of silently running the defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SimulatorCfg(Section):
    """The built-in simulator's dataset, used when dataset.root is absent."""

    size: str = Field("quick", description="simulator size: quick (small and fast) or published (the dataset's real counts, where the writer has one) / full")
    seed: int = Field(0, ge=0, description="seed of the simulated dataset (independent of the recipe seed, which drives training)")
    params: dict[str, Any] = Field(default_factory=dict, description="writer options (e.g. size_px: 48 for smaller frames at the published clip counts)")


class DatasetCfg(Section):
    name: str = Field(description="registered dataset ('toy', '4dme', 'casme2', ...); 'mer4d data list' names them")
    root: Path | None = Field(None, description="dataset folder; absent -> the built-in generator or simulator")
    task: Literal["emotion", "emotion_multilabel", "au"] = "emotion"
    modality: str | None = Field(None, description="which of the dataset's modalities the model sees (gray, rgb, depth, mesh); absent -> the dataset's default")
    labels: str | None = Field(None, description="label scheme of the dataset ('own', 'megc2019', ...; 'mer4d data list' shows them); absent -> its default")
    classes: list[str] | None = Field(None, description="fixed label set and order; absent -> the label scheme's")
    kind: Literal["micro", "macro", "all"] = Field("micro", description="which clips of the Index: micro- or macro-expressions, or all")
    shuffle_labels: bool = Field(False, strict=True, description="permute the labels across clips (seeded): the chance-level control a result is compared with")
    on_problem: Literal["error", "skip"] = Field("error", description="a clip with a fatal problem (missing files, no emotion): stop, or leave it out (each one logged)")
    simulator: SimulatorCfg = Field(default_factory=SimulatorCfg)
    au_min_clips: int = Field(10, ge=0, description="AU detection (and AU-graph) classes: the AUs moving in MORE than this many clips (4DME: 10)")
    pseudo_apex: int | None = Field(None, ge=1, description="macro-expression clips take onset + this as their apex (MoExt pre-training: 4, the 5th frame); micro clips keep theirs")
    params: dict[str, Any] = Field(default_factory=dict, description="dataset-specific options passed to its loader")


class FaceCfg(Section):
    """Face alignment and cropping of 2D clips (algorithms.md §13): one similarity transform per clip,
    estimated on the onset frame from stable landmarks (eyes, nose) and applied to every frame."""

    enabled: bool = Field(False, description="align and crop the face; false -> frames are only resized")
    landmarks: Literal["auto", "dataset", "mediapipe", "haar"] = Field(
        "auto", description="auto: the dataset's (or simulator's) landmark file, else MediaPipe if installed, else Haar eyes")
    crop: int = Field(150, ge=16, description="aligned face crop in pixels (4DME: 150); preprocess.size then resizes it unless equal")
    on_missing: Literal["error", "fallback"] = Field(
        "fallback", description="no face found on the onset: stop with an error, or centre-crop the clip (logged and counted)")


class PreprocessCfg(Section):
    """Spatial preprocessing of 2D clips."""

    size: int = Field(112, ge=8, description="2D clips are resized to size x size pixels (after the face crop, when on)")
    face: FaceCfg = Field(default_factory=FaceCfg)


class SamplingCfg(Section):
    strategy: Literal["uniform", "interpolate", "tim", "onset_apex", "apex_window", "adaptive"] = Field(
        "uniform", description="uniform, interpolate, tim, onset_apex, apex_window, or adaptive (key frames split between rise and fall, the DFME paper's)")
    frames: int = Field(8, ge=1)


class RenderCfg(Section):
    """How mesh clips become images (used when dataset.modality is mesh)."""

    backend: Literal["auto", "open3d", "pytorch3d"] = "open3d"
    views: list[str] = Field(default_factory=lambda: ["left", "front", "right"], description="left, front, right")
    yaw_deg: float = Field(30.0, gt=0, lt=90, description="yaw of the side views (a guess: the CCDN angles are not public)")
    domains: list[str] = Field(default_factory=lambda: ["dpi", "edpi", "texture"], description="stacked as channels of each view")
    edpi: Literal["highpass", "clahe", "mix"] = "highpass"
    align: Literal["auto", "landmarks", "icp", "none"] = "auto"
    size: int = Field(224, ge=32)
    magnify: bool = Field(False, description="add EVM-magnified copies of the training clips (4DME baseline); test clips stay unmagnified")


class ModelCfg(Section):
    name: str = Field(description="registered model; 'mer4d models list' names them")
    params: dict[str, Any] = Field(default_factory=dict, description="keyword arguments of the model factory")


class LossCfg(Section):
    """``train.loss``: a name alone (``loss: ce``) or the mapping; class-balanced options apply to those losses only."""

    name: Literal["ce", "bce", "class_balanced", "class_balanced_focal"] = Field(
        "ce", description="ce (single-label), bce (multi-label), or Cui et al.'s class-balanced losses weighted from the training fold")
    variant: Literal["softmax", "sigmoid"] = Field("softmax", description="class-balanced form: softmax CE or per-class sigmoid terms (focal: Cui et al. use sigmoid)")
    beta: float = Field(0.9999, ge=0, lt=1, description="effective-number beta: 0 no reweighting, towards 1 inverse frequency")
    gamma: float = Field(2.0, ge=0, description="focal exponent of class_balanced_focal")


class TrainCfg(Section):
    epochs: int = Field(10, ge=1, description="fixed budget, or the maximum with early stopping")
    batch_size: int = Field(16, ge=1, description="clips per optimiser step; under torchrun the global batch, each process taking its share")
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    schedule: Literal["none", "step", "cosine"] = "none"
    step_size: int = Field(30, ge=1, description="epochs between decays for schedule 'step'")
    gamma: float = Field(0.1, gt=0, le=1)
    loss: LossCfg = Field(default_factory=LossCfg, description="ce, bce, class_balanced or class_balanced_focal (a name, or a mapping with variant / beta / gamma)")
    resample: Literal["none", "uniform"] = "none"
    crop: int | None = Field(None, ge=8, description="random crop x crop pixels of each training clip, centre crop at test (4DME: 112 from 150)")
    hflip: bool = Field(False, description="mirror training clips left-right at random; only for labels a mirror keeps (emotions, not L/R AUs)")
    class_weight: Literal["none", "balanced"] = Field("none", description="balanced: weight the loss by inverse class frequency of the training fold")
    val_fraction: float = Field(0.0, ge=0, lt=1, description=">0: early stopping on this share of the *training* subjects")
    patience: int = Field(5, ge=1)
    amp: Literal[False, "fp16", "bf16"] = Field(
        "fp16", description="mixed precision: fp16 (true means fp16; CUDA only, with a GradScaler), bf16 (CUDA, or the CPU when asked), false (float32)")
    channels_last: bool = Field(False, description="convolution weights and inputs in channels-last memory (tensor cores); same numbers up to rounding")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    workers: int = Field(0, ge=0, description="clip-loading worker processes (persistent; pinned memory on CUDA); 0 loads in the training process")
    keep_checkpoints: bool = Field(False, strict=True, description="save each fold's trained weights (and what rebuilds the model) as an "
                                   "artifact of its fold run, for analyses such as mer4d analyze cam; torch models only")

    @field_validator("loss", mode="before")
    @classmethod
    def _loss_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @field_validator("amp", mode="before")
    @classmethod
    def _amp_true_is_fp16(cls, value: Any) -> Any:
        # amp was a boolean before bf16 existed: true (fp16 autocast on CUDA) keeps its meaning
        if value is True:
            return "fp16"
        if isinstance(value, str) and value.strip().lower() in ("false", "off", "none", "no"):
            return False
        return value


class ProtocolCfg(Section):
    kind: Literal["loso", "subject_kfold", "split_column", "leave_one_dataset_out", "sample_kfold"] = Field(
        "loso", description="sample_kfold: clip-level k-fold sharing subjects between train and test (the DFME paper's); needs subject_overlap: true")
    folds: int | None = Field(None, ge=2, description="k for subject_kfold and sample_kfold")
    column: str = Field("fold", description="Index column holding the split for split_column")
    train_only: list[str] = Field(default_factory=list, description="split_column values that only ever train (DFME's official split: [train]); each other value is a test set")
    subject_overlap: bool = Field(False, strict=True, description="allow a protocol whose folds share subjects (sample_kfold); the run is tagged mer4d.subject_overlap")


class PretrainCfg(Section):
    """``pretrain``: the self-supervised stage of a two-stage method (MoExt, arXiv 2407.07345 §3.1, §3.5, §4.1.2),
    run by ``mer4d pretrain`` on onset/apex pairs of ``dataset`` and ``extra_datasets``."""

    extra_datasets: list[DatasetCfg] = Field(default_factory=list, description="further pre-training sources next to dataset (MoExt: CASME II with CAS(ME)^3 Part A)")
    epochs: int = Field(30, ge=1)
    batch_size: int = Field(20, ge=2, description="pairs per batch (the shape-texture anchor is the batch mean, so at least 2)")
    lr: float = Field(1e-4, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    views: int = Field(3, ge=1, le=4, description="m: instances per expansion set, the frame plus m-1 of noise / contrast / grayscale (MoExt: 3)")
    margin: float = Field(0.3, gt=0, description="epsilon of both contrastive losses (MoExt: in [0.2, 0.5])")
    alpha_st: float = Field(0.5, ge=0, description="weight of the shape-texture loss L_st (MoExt alpha_1)")
    alpha_oa: float = Field(1.0, ge=0, description="weight of the onset-apex shape loss L_oa / L_ss (MoExt alpha_2)")
    examples: int = Field(4, ge=1, le=16, description="pairs shown in the reconstruction image (onset, apex, reconstruction, |difference|)")


class TrackingCfg(Section):
    experiment: str | None = Field(None, description="MLflow experiment; absent -> the recipe name")
    uri: str | None = Field(None, description="tracking URI; MLFLOW_TRACKING_URI wins; absent -> sqlite:///mlruns/mlflow.db")


class Recipe(Section):
    name: str
    description: str = ""
    stage: Literal["train", "pretrain"] = Field("train", description="train: the protocol's folds (mer4d run); pretrain: the self-supervised stage (mer4d pretrain)")
    seed: int = 0
    repeats: int | list[int] | None = Field(
        None, description="run the whole protocol once per seed: N (seeds seed..seed+N-1) or a list of distinct seeds; "
                          "mer4d run --seeds overrides it. Absent: one run with seed")
    control: Literal["none", "shuffled"] = Field(
        "none", description="shuffled: permute the labels of each fold's training clips (seeded by seed and fold), test labels untouched; "
                            "the chance-level control of the same protocol (mer4d run --control shuffled)")
    dataset: DatasetCfg
    preprocess: PreprocessCfg = Field(default_factory=PreprocessCfg)
    sampling: SamplingCfg = Field(default_factory=SamplingCfg)
    render: RenderCfg = Field(default_factory=RenderCfg)
    model: ModelCfg
    train: TrainCfg = Field(default_factory=TrainCfg)
    protocol: ProtocolCfg = Field(default_factory=ProtocolCfg)
    pretrain: PretrainCfg | None = Field(None, description="the pre-training stage's settings (stage: pretrain)")
    tracking: TrackingCfg = Field(default_factory=TrackingCfg)
    profiles: dict[str, dict[str, Any]] = Field(default_factory=dict, description="named partial overrides ('quick', ...)")

    @field_validator("repeats", mode="before")
    @classmethod
    def _repeats_not_bool(cls, value: Any) -> Any:
        if isinstance(value, bool) or (isinstance(value, list) and any(isinstance(v, bool) for v in value)):
            raise ValueError("repeats must be a number of seeds (e.g. 3) or a list of seeds (e.g. [0, 1, 2]), not a boolean")
        return value

    @field_validator("repeats")
    @classmethod
    def _repeats(cls, value: int | list[int] | None) -> int | list[int] | None:
        if isinstance(value, int) and value < 1:
            raise ValueError(f"repeats: {value} runs no seed; give a number of seeds >= 1 (3 = seeds seed..seed+2) or a list of seeds")
        if isinstance(value, list):
            if not value:
                raise ValueError("repeats: [] runs no seed; give a list of seeds such as [0, 1, 2], or leave repeats out")
            if any(v < 0 for v in value):
                raise ValueError(f"repeats: seeds must be >= 0, got {value}")
            dup = sorted({v for v in value if value.count(v) > 1})
            if dup:
                raise ValueError(f"repeats: seed(s) {dup} listed twice; each seed runs once")
        return value

    def seeds(self) -> list[int]:
        """The seeds the protocol runs with: ``repeats`` resolved (one seed, ``seed``, when absent)."""
        if self.repeats is None:
            return [self.seed]
        if isinstance(self.repeats, int):
            return list(range(self.seed, self.seed + self.repeats))
        return list(self.repeats)


# Sections whose values are free-form mappings: --set may create new keys below them.
FREE_FORM_KEYS = {("dataset", "params"), ("dataset", "simulator", "params"), ("model", "params"), ("profiles",)}
