"""Linear Eulerian video magnification (EVM; Wu et al., SIGGRAPH 2012), ``algorithms.md`` §3.

With I(x, t) = f(x + delta(t)), a temporal band-pass of the frames is B ~ delta(t) f'(x), so
I + alpha B ~ f(x + (1 + alpha) delta(t)): small motions in the pass band grow by 1 + alpha. The
first-order reasoning holds while (1 + alpha) delta < lambda / 8 for spatial wavelength lambda,
hence the per-level attenuation of alpha (MIT ``amplify_spatial_lpyr_temporal_iir.m`` as ported by
QtEVM ``LyprIIRProcessor.cpp``).

Every stage is linear: the Laplacian pyramid acts on each frame, the temporal filter on each
pixel's time series, so they commute. We therefore filter the frames once along T (one (T, T)
matrix product: IIR, ideal and Butterworth filters are all linear maps of the clip), decompose the
filtered clip, weight its levels and collapse it. That equals "pyramid, then filter every level"
of the reference code and needs one pyramid instead of two.

Layout: frames ``(..., T, C, H, W)`` floating point in [0, 1], ``C`` = 1 (gray / luma, the usual
choice for micro-expressions) or 3 (RGB; the added signal's chroma is attenuated in YIQ).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from kornia.geometry.transform import pyrdown, pyrup

from mer4d.core.errors import DataError, RecipeError, ShapeError
from mer4d.core.optional import require
from mer4d.core.shapes import check_shape

#: ``EVMSettings.temporal_filter`` choices (``algorithms.md`` §3 step 3).
TEMPORAL_FILTERS = ("iir", "ideal", "butterworth")

# RGB -> YIQ (NTSC). Gray (R = G = B) has zero I and Q, so chroma attenuation leaves gray clips alone.
_RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]])


@dataclass(frozen=True)
class EVMSettings:
    """Linear EVM parameters; defaults are the MIT "baby" IIR setting, also MEB's default (§3 Defaults).

    Attributes:
        alpha: amplification; motions in the band grow by about ``1 + alpha``. §3 suggests 8-20 for
            micro-expressions, searched inside the training folds only.
        lambda_c: spatial cut-off wavelength in pixels; levels whose wavelength is below it get a
            reduced alpha (``delta = lambda_c / (8 (1 + alpha))``).
        levels: pyramid images including the low-pass residual (``levels - 1`` halvings, like MEB's
            multiple-of-2^(n-1) sizing). The finest and the coarsest are never amplified.
        temporal_filter: ``"iir"`` (difference of two first-order low-passes, causal),
            ``"ideal"`` (FFT mask on [f_low, f_high]) or ``"butterworth"`` (zero-phase, filtfilt).
        r1, r2: IIR low-pass coefficients (dimensionless, r1 > r2); only for ``"iir"``.
        band_hz: (f_low, f_high) in Hz for ``"ideal"`` / ``"butterworth"``. None: the §3 heuristic
            for micro-expressions, 0.05 to 0.4 of the Nyquist frequency fps / 2.
        butter_order: Butterworth order (doubled in effect by the forward-backward pass).
        chrom_attenuation: factor on the I and Q channels of the added signal (RGB only).
        exaggeration: the factor xi of the per-level alpha rule.
        clip: clip the output to [0, 1] (and check the input lies there).
    """

    alpha: float = 10.0
    lambda_c: float = 16.0
    levels: int = 6
    temporal_filter: str = "iir"
    r1: float = 0.4
    r2: float = 0.05
    band_hz: tuple[float, float] | None = None
    butter_order: int = 1
    chrom_attenuation: float = 0.1
    exaggeration: float = 2.0
    clip: bool = True

    def __post_init__(self) -> None:
        if self.temporal_filter not in TEMPORAL_FILTERS:
            raise RecipeError(f"EVMSettings: unknown temporal_filter {self.temporal_filter!r}; expected one of {', '.join(TEMPORAL_FILTERS)}")
        if isinstance(self.levels, bool) or not isinstance(self.levels, int) or self.levels < 3:
            raise RecipeError(f"EVMSettings: levels must be an integer >= 3 (finest and coarsest are not amplified), got {self.levels!r}")
        if isinstance(self.butter_order, bool) or not isinstance(self.butter_order, int) or self.butter_order < 1:
            raise RecipeError(f"EVMSettings: butter_order must be an integer >= 1, got {self.butter_order!r}")
        for name in ("alpha", "chrom_attenuation"):
            if not getattr(self, name) >= 0:
                raise RecipeError(f"EVMSettings: {name} must be >= 0, got {getattr(self, name)!r}")
        for name in ("lambda_c", "exaggeration"):
            if not getattr(self, name) > 0:
                raise RecipeError(f"EVMSettings: {name} must be > 0, got {getattr(self, name)!r}")
        if not 0 < self.r2 < self.r1 <= 1:
            raise RecipeError(f"EVMSettings: IIR coefficients need 0 < r2 < r1 <= 1, got r1={self.r1!r}, r2={self.r2!r}")
        if self.band_hz is not None and (len(self.band_hz) != 2 or not 0 < self.band_hz[0] < self.band_hz[1]):
            raise RecipeError(f"EVMSettings: band_hz must be (f_low, f_high) with 0 < f_low < f_high, got {self.band_hz!r}")

    def band(self, fps: float) -> tuple[float, float]:
        """The pass band in Hz at ``fps``: ``band_hz``, or the §3 heuristic (0.05-0.4) x fps / 2."""
        if self.band_hz is not None:
            return float(self.band_hz[0]), float(self.band_hz[1])
        return 0.05 * fps / 2.0, 0.4 * fps / 2.0


def magnify(frames: torch.Tensor, fps: float, settings: EVMSettings | None = None) -> torch.Tensor:
    """Magnify small temporal variations of a clip (linear EVM, Laplacian pyramid).

    Apply it after face alignment and cropping: residual head motion is amplified too (§3 pitfalls).

    Args:
        frames: (..., T, C, H, W) floating tensor in [0, 1], C in {1, 3}, onset -> offset order;
            ``min(H, W) >= 2 ** settings.levels``. Frames are padded (edge replicated) to a multiple of
            ``2 ** (levels - 1)`` for the pyramid and cropped back, rather than resized as MEB does,
            so that motion is not resampled.
        fps: frame rate in Hz (used by the "ideal" and "butterworth" filters).
        settings: :class:`EVMSettings`; None means the defaults.

    Returns:
        (..., T, C, H, W) tensor of the input's dtype and device: ``frames`` plus the weighted band,
        clipped to [0, 1] when ``settings.clip``. With the IIR filter frame 0 is returned unchanged
        (its filter state starts at frame 0).

    Raises:
        ShapeError: wrong number of dimensions, C not 1 or 3, frames too small for the levels.
        DataError: integer frames, values outside [0, 1] (with clipping on), or a band the clip
            cannot resolve.
        RecipeError: bad fps or a band above the Nyquist frequency.
    """
    settings = settings or EVMSettings()
    sizes = check_shape(frames, "... T C H W", name="frames")
    if not isinstance(frames, torch.Tensor) or not frames.is_floating_point():
        raise DataError(f"frames: expected a floating-point torch tensor in [0, 1], got {getattr(frames, 'dtype', type(frames).__name__)}; convert with x.float() / 255")
    if sizes["C"] not in (1, 3):
        raise ShapeError(f"frames: expected C = 1 (gray) or 3 (RGB) in (..., T, C, H, W), got shape {tuple(frames.shape)}", "... T C H W", tuple(frames.shape))
    if min(sizes["H"], sizes["W"]) < 2 ** settings.levels:
        most = max(int(math.log2(min(sizes["H"], sizes["W"]))), 0)
        raise ShapeError(f"frames: {settings.levels} pyramid levels need H, W >= {2 ** settings.levels}, got shape {tuple(frames.shape)}; use levels <= {most}", "... T C H W", tuple(frames.shape))
    if settings.clip and frames.numel() and (frames.min() < 0 or frames.max() > 1):
        raise DataError(f"frames: expected values in [0, 1] (EVM clips its output there), got [{float(frames.min()):.4g}, {float(frames.max()):.4g}]; divide 8-bit frames by 255")
    matrix = torch.from_numpy(temporal_filter_matrix(sizes["T"], fps, settings)).to(device=frames.device, dtype=frames.dtype)
    count, lead = sizes["T"], frames.shape[:-4]
    band = torch.matmul(matrix, frames.reshape(-1, count, sizes["C"] * sizes["H"] * sizes["W"]))
    band = band.reshape(-1, sizes["C"], sizes["H"], sizes["W"])
    gains = level_gains(sizes["H"], sizes["W"], settings)
    added = _weighted_band(band, gains)
    if sizes["C"] == 3 and settings.chrom_attenuation != 1.0:
        added = torch.einsum("ij,njhw->nihw", _chroma_matrix(settings.chrom_attenuation, added), added)
    out = frames + added.reshape(*lead, count, sizes["C"], sizes["H"], sizes["W"])
    return out.clamp(0.0, 1.0) if settings.clip else out


def temporal_filter_matrix(num_frames: int, fps: float, settings: EVMSettings) -> np.ndarray:
    """The temporal band-pass as a (T, T) float64 matrix M: ``band[t] = sum_s M[t, s] frames[s]``.

    * ``"iir"``: ``L(r1) - L(r2)`` where ``L(r)`` is ``y_t = r x_t + (1 - r) y_{t-1}``, ``y_0 = x_0``
      (lower triangular, causal; frame 0 gives a zero band).
    * ``"ideal"``: zero the DFT bins with ``|f|`` outside [f_low, f_high] (circular, non-causal).
    * ``"butterworth"``: ``scipy.signal.filtfilt`` of a band-pass Butterworth filter (zero phase).

    Raises:
        RecipeError: fps <= 0, or f_high above the Nyquist frequency fps / 2.
        DataError: T < 2, or (ideal) no DFT bin of a T-frame clip falls inside the band.
    """
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.number)) or not fps > 0:
        raise RecipeError(f"magnify: fps must be a positive number, got {fps!r}")
    if num_frames < 2:
        raise DataError(f"magnify: a temporal band-pass needs T >= 2 frames, got {num_frames}")
    if settings.temporal_filter == "iir":
        return _iir_lowpass(num_frames, settings.r1) - _iir_lowpass(num_frames, settings.r2)
    low, high = settings.band(float(fps))
    if high > fps / 2.0 or (settings.temporal_filter == "butterworth" and high >= fps / 2.0):
        raise RecipeError(f"magnify: band ({low:g}, {high:g}) Hz exceeds the Nyquist frequency {fps / 2.0:g} Hz of a {fps:g} fps clip")
    identity = np.eye(num_frames)
    if settings.temporal_filter == "ideal":
        freqs = np.abs(np.fft.fftfreq(num_frames, d=1.0 / fps))
        keep = (freqs >= low) & (freqs <= high)
        if not keep.any():
            raise DataError(f"magnify: no frequency of a {num_frames}-frame clip at {fps:g} fps (resolution {fps / num_frames:.3g} Hz) lies in the band ({low:g}, {high:g}) Hz; widen the band or use a longer clip")
        return np.fft.ifft(keep[:, None] * np.fft.fft(identity, axis=0), axis=0).real
    signal = require("scipy.signal", purpose="the Butterworth EVM filter")
    numer, denom = signal.butter(settings.butter_order, [low, high], btype="bandpass", fs=float(fps))
    # filtfilt is linear in its input, so filtering the identity gives the matrix column by column.
    padlen = min(3 * max(len(numer), len(denom)), num_frames - 1)
    return np.ascontiguousarray(signal.filtfilt(numer, denom, identity, axis=0, padlen=padlen))


def level_gains(height: int, width: int, settings: EVMSettings) -> list[float]:
    """Per-level amplification, finest level first (MIT / QtEVM rule, ``algorithms.md`` §3 step 4).

    ``delta = lambda_c / (8 (1 + alpha))``; lambda starts at ``sqrt(H^2 + W^2) / 3`` at the coarsest
    level and halves per finer level; ``alpha_l = xi (lambda / (8 delta) - 1)``, kept in [0, alpha];
    the finest and the coarsest (residual) levels get 0. H and W are the frame's own size (before
    any padding for the pyramid).
    """
    delta = settings.lambda_c / (8.0 * (1.0 + settings.alpha))
    wavelength = math.hypot(height, width) / 3.0
    coarse_to_fine = []
    for level in range(settings.levels - 1, -1, -1):
        level_alpha = settings.exaggeration * (wavelength / (8.0 * delta) - 1.0)
        if level in (0, settings.levels - 1):
            coarse_to_fine.append(0.0)
        else:
            # Clamped at 0: the MIT code lets alpha_l go negative for levels finer than about
            # lambda_c / (1 + alpha), which would reverse their motion instead of damping it.
            coarse_to_fine.append(float(max(0.0, min(settings.alpha, level_alpha))))
        wavelength /= 2.0
    return coarse_to_fine[::-1]


def laplacian_pyramid(images: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Laplacian pyramid of (N, C, H, W) images, finest first: ``levels - 1`` band-pass images
    (``x - pyrup(pyrdown(x))``) and the low-pass residual. H and W must be divisible by
    ``2 ** (levels - 1)`` so every ``pyrup`` lands on its level's size."""
    check_shape(images, "N C H W", name="images")
    if images.shape[-1] % 2 ** (levels - 1) or images.shape[-2] % 2 ** (levels - 1):
        raise ShapeError(f"images: H and W must be multiples of 2**(levels-1) = {2 ** (levels - 1)}, got {tuple(images.shape)}", "N C H W", tuple(images.shape))
    pyramid, current = [], images
    for _ in range(levels - 1):
        smaller = pyrdown(current)
        pyramid.append(current - pyrup(smaller))
        current = smaller
    pyramid.append(current)
    return pyramid


def collapse_pyramid(pyramid: list[torch.Tensor], gains: list[float] | None = None) -> torch.Tensor:
    """Invert :func:`laplacian_pyramid` (exactly, up to rounding), weighting level l by ``gains[l]``."""
    gains = [1.0] * len(pyramid) if gains is None else gains
    if len(gains) != len(pyramid):
        raise ShapeError(f"collapse_pyramid: expected one gain per level ({len(pyramid)}), got {len(gains)}", "levels", (len(gains),))
    current = pyramid[-1] * gains[-1]
    for level in range(len(pyramid) - 2, -1, -1):
        current = pyrup(current) + pyramid[level] * gains[level]
    return current


def _weighted_band(band: torch.Tensor, gains: list[float]) -> torch.Tensor:
    """Pad (edge replicated) to the pyramid's size multiple, decompose, weight, collapse, crop."""
    height, width = band.shape[-2:]
    multiple = 2 ** (len(gains) - 1)
    pad_h, pad_w = -height % multiple, -width % multiple
    padded = F.pad(band, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else band
    # Fold frames into channels: kornia blurs channels as one grouped convolution, which runs a few
    # times faster on CPU than the same convolution looped over a batch of single-channel images.
    folded = padded.reshape(1, -1, *padded.shape[-2:])
    out = collapse_pyramid(laplacian_pyramid(folded, len(gains)), gains).reshape(padded.shape)
    return out[..., :height, :width]


def _iir_lowpass(num_frames: int, rate: float) -> np.ndarray:
    """Matrix of ``y_t = r x_t + (1 - r) y_{t-1}`` with ``y_0 = x_0``."""
    lag = np.subtract.outer(np.arange(num_frames), np.arange(num_frames))
    matrix = np.where(lag >= 0, rate * (1.0 - rate) ** np.maximum(lag, 0), 0.0)
    matrix[:, 0] = (1.0 - rate) ** np.arange(num_frames)  # the initial state y_0 = x_0 decays geometrically
    return matrix


def _chroma_matrix(attenuation: float, like: torch.Tensor) -> torch.Tensor:
    """RGB -> YIQ, scale I and Q, back to RGB, as one 3x3 matrix on the added signal."""
    matrix = np.linalg.inv(_RGB_TO_YIQ) @ np.diag([1.0, attenuation, attenuation]) @ _RGB_TO_YIQ
    return torch.from_numpy(matrix).to(device=like.device, dtype=like.dtype)
