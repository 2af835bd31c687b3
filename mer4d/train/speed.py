"""Speed settings of the training loop (DESIGN §9): mixed precision, channels-last memory, loading.

- ``train.amp``: ``fp16`` (the default; ``true`` means the same) autocasts to float16 on CUDA
  with a GradScaler (float16's narrow exponent underflows small gradients, so the loss is scaled
  up before backward and the step skipped when a gradient overflows); on the CPU it is off, as
  float16 CPU kernels are slow. ``bf16`` autocasts to bfloat16, which has float32's exponent, so
  it needs no scaler; it runs on CUDA (GPUs with bf16 support) and, asked for explicitly, on the
  CPU too (fast on CPUs with AVX512-BF16 / AMX). ``false``: float32 throughout.
- ``train.channels_last``: convolution weights and input batches in channels-last memory
  (``channels_last`` for 4-D tensors, ``channels_last_3d`` for 5-D), the layout tensor cores
  want; the numbers are the same up to float rounding, on any device.
- ``train.workers``: clips loaded by that many worker processes, persistent across epochs, into
  pinned memory when training on CUDA; each worker seeds NumPy and ``random`` from its torch
  seed. Loading draws nothing random and the batch order is drawn in the main process
  (:class:`mer4d.train.batches.EpochOrder`), so results do not depend on ``workers``.
"""

from __future__ import annotations

import random
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from mer4d.core.errors import RecipeError

FORMATS = {4: torch.channels_last, 5: torch.channels_last_3d}
CONV_LAYOUTS = ("B C T H W", "B C H W")  # input layouts whose dimension after B is the convolutions' channels


@dataclass(frozen=True)
class Precision:
    """The autocast dtype (None: float32) and whether a GradScaler guards the steps."""

    dtype: torch.dtype | None = None
    scaler: bool = False

    @classmethod
    def of(cls, amp: str | bool, device: torch.device) -> Precision:
        """``train.amp`` on ``device``."""
        if amp is True or amp == "fp16":
            return cls(torch.float16, True) if device.type == "cuda" else cls()
        if amp == "bf16":
            if device.type == "cuda" and not torch.cuda.is_bf16_supported():
                raise RecipeError(f"train.amp=bf16, but {torch.cuda.get_device_name(device)} has no bfloat16 support; use train.amp=fp16 (or false)")
            return cls(torch.bfloat16, False)
        if amp is False or amp in ("false", "none"):
            return cls()
        raise RecipeError(f"train.amp must be false, fp16 or bf16, got {amp!r}")

    def autocast(self, device: torch.device) -> AbstractContextManager:
        return nullcontext() if self.dtype is None else torch.autocast(device_type=device.type, dtype=self.dtype)

    def grad_scaler(self, device: torch.device) -> torch.amp.GradScaler:
        return torch.amp.GradScaler(device.type, enabled=self.scaler)


def to_channels_last(model: nn.Module) -> nn.Module:
    """``model``'s 4-D tensors (Conv2d weights) in ``channels_last`` memory and its 5-D ones
    (Conv3d weights) in ``channels_last_3d``, in place; the values do not change. Done per tensor,
    because ``Module.to(memory_format=...)`` takes one format for all and models mixing 2-D and
    3-D convolutions (MoExt) would fail."""
    with torch.no_grad():
        for module in model.modules():
            for param in module.parameters(recurse=False):
                if param.dim() in FORMATS:
                    param.data = param.data.contiguous(memory_format=FORMATS[param.dim()])
            for name, buffer in module.named_buffers(recurse=False):
                if buffer is not None and buffer.dim() in FORMATS:
                    setattr(module, name, buffer.contiguous(memory_format=FORMATS[buffer.dim()]))
    return model


def channels_last_input(batch: torch.Tensor, layout: str) -> torch.Tensor:
    """``batch`` in channels-last memory when its ``layout`` has the convolutions' channels second
    (clips, images); others (e.g. CCDN's views ``B V C H W``) are left to the model."""
    if layout in CONV_LAYOUTS and batch.dim() in FORMATS:
        return batch.contiguous(memory_format=FORMATS[batch.dim()])
    return batch


def seed_worker(worker_id: int) -> None:
    """A loader worker's NumPy and ``random`` seeds, from the torch seed DataLoader gave it (base seed
    + worker id), so any randomness in loading is reproducible per worker."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def loader_options(workers: int, device: torch.device) -> dict[str, object]:
    """DataLoader keywords for ``train.workers`` on ``device``."""
    if workers == 0:
        return {"num_workers": 0}
    return {"num_workers": workers, "persistent_workers": True, "pin_memory": device.type == "cuda", "worker_init_fn": seed_worker}
