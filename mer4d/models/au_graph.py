"""au_graph: emotions from a GCN over detected AU probabilities, on an SCA Res3D AU detector.

``algorithms.md`` §7. The pipeline:

1. :class:`~mer4d.models.sca.Res3DSCA` with K_au outputs detects the AUs of a clip: AU logits
   (B, K_au), trained with BCE on the AU targets (the joint loss below).
2. Node k of the AU graph gets the feature p_k * e_k: its detection probability p_k = sigmoid(AU
   logit k) times a learned embedding e_k (``gcn_hidden`` wide). A scalar p_k alone would make
   every node's input a multiple of the same vector after the first W; the embedding gives each
   AU its own direction, and scaling it by p_k keeps "how present" as the only clip-dependent
   input, so the graph reasons over detections, not over video features.
3. ``gcn_layers`` GCN layers (Kipf & Welling, ICLR 2017): H' = LeakyReLU_0.2(Â H W), no bias as
   in the formula (LeakyReLU as ML-GCN, so no node goes silent); default one layer.
4. The node features are flattened (B, K_au * gcn_hidden), which keeps which AU said what (mean
   pooling would blur AU identity), and a linear classifier gives the emotion logits (B, K).

**Adjacency** (ML-GCN, Chen et al., CVPR 2019; :func:`cooccurrence_adjacency`), built from the
TRAINING fold's AU table by :meth:`AUGraph.set_au_cooccurrence` (the identity until then):
pair counts M_ij (diagonal 0), P_ij = M_ij / N_i = P(AU_j | AU_i), A_ij = [P_ij >= tau]. Re-weighting
uses ML-GCN's *code* form, A' = A * p / colsum(A) + I, not the paper's row form: it is what the
published results were trained with, and it pairs with ``gen_adj``'s transpose, Â = D^-1/2 A'ᵀ
D^-1/2 (D = row sums of A', as gen_adj), so that before the D scaling node i receives a total
weight p from the AUs j that imply it (P(i | j) >= tau) and 1 from itself; the paper's
row-normalised form under that transpose would spread p by the senders' degrees instead. Exact division replaces the code's + 1e-6 (a
zero column, e.g. a never-present AU, stays 0). An AU absent from the fold (N_i = 0) has row and
column 0 and keeps its self-loop: Â_ii = 1, it passes its own feature only.

**Joint loss** (registered as ``training_loss="au_joint"``, :mod:`mer4d.losses.au_joint`; source
unverified, §7): alpha_e * BCE(AU logits, AU targets) + (1.1 - alpha_e) * loss_fn(emotion logits,
targets), alpha_e = alpha / 10^((epoch-1) // alpha_step): AU-driven first, emotion-driven later.
The model holds ``alpha`` and ``alpha_step`` and gives the AU logits with
``forward(x, return_au_logits=True)``; the loss itself lives in the losses package.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from mer4d.core.errors import DataError, RecipeError
from mer4d.core.shapes import check_shape
from mer4d.models.blocks3d import init_small_head
from mer4d.models.clip_input import CLIPS, check_int
from mer4d.models.registry import ModelInfo, register_model
from mer4d.models.sca import Res3DSCA

logger = logging.getLogger(__name__)


def _check_au_table(au_targets: object, num_aus: int | None = None) -> np.ndarray:
    """(N, K) multi-hot AU table as float64 0/1, or a DataError/ShapeError saying what is wrong."""
    table = np.asarray(au_targets)
    sizes = check_shape(table, "N K", name="au_targets", bound=None if num_aus is None else {"K": num_aus})
    if sizes["N"] == 0:
        raise DataError("au_targets: expected at least one training sample (N >= 1), got N = 0; build the graph from a non-empty fold")
    if not np.isin(table, (0, 1)).all():
        bad = table[~np.isin(table, (0, 1))].ravel()[:5]
        raise DataError(f"au_targets: expected a multi-hot table of 0/1 (or booleans), found values such as {bad.tolist()}; binarise the AU labels first")
    return table.astype(np.float64)


def cooccurrence_adjacency(au_targets: np.ndarray, tau: float = 0.4, p: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """ML-GCN adjacency from an AU table: (N, K) multi-hot -> (Â (K, K) float64, A (K, K) bool).

    A is the binarised conditional co-occurrence (A_ij: P(AU_j | AU_i) >= tau, i != j); Â is the
    normalised GCN adjacency D^-1/2 A'ᵀ D^-1/2 with A' = A * p / colsum(A) + I (ML-GCN's gen_A
    code form and gen_adj; see the module docstring). AUs never present get an isolated node.
    """
    table = _check_au_table(au_targets)
    pairs = table.T @ table                 # M_ij: samples with both AU i and AU j
    counts = np.diag(pairs).copy()          # N_i: samples with AU i
    np.fill_diagonal(pairs, 0.0)            # only pairs i != j count (as the ML-GCN pickles)
    safe = np.where(counts > 0, counts, 1.0)[:, None]
    conditional = np.where(counts[:, None] > 0, pairs / safe, 0.0)  # P_ij = M_ij / N_i, row 0 if N_i = 0
    edges = conditional >= tau
    np.fill_diagonal(edges, False)          # self-loops come from + I, whatever tau
    weights = edges.astype(np.float64)
    column = weights.sum(axis=0, keepdims=True)
    weights = np.divide(weights * p, column, out=np.zeros_like(weights), where=column > 0) + np.eye(len(counts))
    d = weights.sum(axis=1) ** -0.5          # row sums >= 1 (the self-loop), so finite
    return d[:, None] * weights.T * d[None, :], edges


class GraphConv(nn.Module):
    """One GCN layer before its nonlinearity (Kipf & Welling): H (B, K, D_in) -> Â H W (B, K, D_out)."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        # Kipf's / ML-GCN's uniform(+-1/sqrt(D_out)) init.
        bound = 1.0 / math.sqrt(out_features)
        nn.init.uniform_(self.weight, -bound, bound)

    def forward(self, h: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        """Â H W for node features h (B, K, D_in) and a normalised adjacency (K, K)."""
        sizes = check_shape(h, "B K D", name="node features", bound={"D": self.in_features})
        check_shape(adjacency, "K K", name="adjacency", bound={"K": sizes["K"]})
        return adjacency @ (h @ self.weight)


class AUGraph(nn.Module):
    """AU detector (SCA Res3D) + AU-graph GCN: (B, C, T, H, W) -> (B, K) emotion logits.

    Args:
        num_classes: emotion logits K (>= 1).
        in_channels: input channels C.
        num_aus: AU classes K_au (graph nodes); the runner sets it from the data.
        dropout, width, remove_static, sca_stages, sca_channels: of the :class:`Res3DSCA` AU detector.
        gcn_layers: GCN layers (1, the default, or 2; more are allowed).
        gcn_hidden: width of the AU embeddings and of every GCN layer.
        tau, p: ML-GCN binarisation threshold and re-weighting (see :func:`cooccurrence_adjacency`).
        alpha, alpha_step: joint-loss AU weight at epoch 1 and its divide-by-10 period in epochs
            (read by :mod:`mer4d.losses.au_joint`).

    Shapes:
        input (B, C, T, H, W); AU logits (B, K_au); node features (B, K_au, gcn_hidden);
        features (B, K_au * gcn_hidden); logits (B, K); ``adjacency`` buffer (K_au, K_au).
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 3,
        num_aus: int = 8,
        dropout: float = 0.0,
        width: int = 64,
        remove_static: bool = False,
        sca_stages: Sequence[int] = (3, 4),
        sca_channels: int = 128,
        gcn_layers: int = 1,
        gcn_hidden: int = 64,
        tau: float = 0.4,
        p: float = 0.25,
        alpha: float = 1.0,
        alpha_step: int = 30,
    ):
        super().__init__()
        for name, value in (("num_classes", num_classes), ("num_aus", num_aus), ("gcn_layers", gcn_layers), ("gcn_hidden", gcn_hidden), ("alpha_step", alpha_step)):
            check_int("au_graph", name, value, 1)
        _check_fraction("tau", tau, 0.0, 1.0, low_open=True, example="tau=0.4")
        _check_fraction("p", p, 0.0, 1.0, low_open=False, example="p=0.25")
        # alpha > 1.1 would give the emotion loss a negative weight.
        _check_fraction("alpha", alpha, 0.0, 1.1, low_open=False, example="alpha=1.0")
        self.num_aus, self.tau, self.p = num_aus, float(tau), float(p)
        self.alpha, self.alpha_step = float(alpha), alpha_step
        self.backbone = Res3DSCA(
            num_classes=num_aus, in_channels=in_channels, dropout=dropout, width=width,
            remove_static=remove_static, sca_stages=sca_stages, sca_channels=sca_channels,
        )
        self.au_embedding = nn.Parameter(torch.randn(num_aus, gcn_hidden))  # e_k, N(0, 1) as nn.Embedding
        self.gcn = nn.ModuleList(GraphConv(gcn_hidden, gcn_hidden) for _ in range(gcn_layers))
        self.act = nn.LeakyReLU(0.2)
        # Persistent buffer: saved with the weights and moved with .to(); identity = no AU graph yet.
        self.register_buffer("adjacency", torch.eye(num_aus))
        self.num_features = num_aus * gcn_hidden
        self.classifier = nn.Linear(self.num_features, num_classes)
        init_small_head(self.classifier)

    def set_au_cooccurrence(self, au_targets: np.ndarray) -> None:
        """Build the adjacency from the TRAINING fold's AU table (N, K_au) multi-hot (never the test fold).

        Logs a warning when the binarised graph has no edge (the GCN then only rescales each node)
        or every edge (every node averages all AUs): with ~10^2 samples tau is coarse (§7 pitfalls).
        """
        table = _check_au_table(au_targets, self.num_aus)
        adjacency, edges = cooccurrence_adjacency(table, self.tau, self.p)
        n_edges, possible = int(edges.sum()), self.num_aus * (self.num_aus - 1)
        if possible and n_edges == 0:
            logger.warning("au_graph: the AU co-occurrence graph is empty at tau=%g (no P(AU_j | AU_i) >= tau in %d samples); the GCN only passes each AU to itself. Lower tau.", self.tau, len(table))
        elif possible and n_edges == possible:
            logger.warning("au_graph: the AU co-occurrence graph is fully connected at tau=%g (%d samples); every AU averages all others. Raise tau.", self.tau, len(table))
        else:
            logger.info("au_graph: %d of %d directed AU edges at tau=%g from %d samples", n_edges, possible, self.tau, len(table))
        self.adjacency.copy_(torch.as_tensor(adjacency, dtype=self.adjacency.dtype))

    def au_logits(self, x: torch.Tensor) -> torch.Tensor:
        """AU logits (B, K_au) of clips (B, C, T, H, W)."""
        return self.backbone(x)

    def node_features(self, au_logits: torch.Tensor) -> torch.Tensor:
        """GCN output (B, K_au, gcn_hidden) for AU logits (B, K_au): node inputs p_k * e_k."""
        check_shape(au_logits, "B K", name="AU logits", bound={"K": self.num_aus})
        h = torch.sigmoid(au_logits).unsqueeze(-1) * self.au_embedding
        for layer in self.gcn:
            h = self.act(layer(h, self.adjacency))
        return h

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Flattened AU-node features (B, num_features) of clips (B, C, T, H, W)."""
        return self.node_features(self.au_logits(x)).flatten(1)

    def forward(self, x: torch.Tensor, return_au_logits: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Emotion logits (B, K) of clips (B, C, T, H, W); with ``return_au_logits`` also the AU logits (B, K_au)."""
        au = self.au_logits(x)
        logits = self.classifier(self.node_features(au).flatten(1))
        return (logits, au) if return_au_logits else logits

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the emotion head with a freshly initialised one giving ``num_classes`` logits (AU head kept)."""
        check_int("au_graph", "num_classes", num_classes, 1)
        device, dtype = self.classifier.weight.device, self.classifier.weight.dtype
        self.classifier = nn.Linear(self.num_features, num_classes, device=device, dtype=dtype)
        init_small_head(self.classifier)


def _check_fraction(name: str, value: object, low: float, high: float, low_open: bool, example: str) -> None:
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and (low < value if low_open else low <= value) and value <= high
    if not ok:
        bracket = "(" if low_open else "["
        raise RecipeError(f"au_graph: {name} must be a number in {bracket}{low:g}, {high:g}], got {value!r}; e.g. {example}")


@register_model("au_graph", info=ModelInfo(kind="torch", input=CLIPS, learns_aus=True, training_loss="au_joint"))
def au_graph(
    num_classes: int,
    in_channels: int,
    num_aus: int = 8,
    dropout: float = 0.0,
    width: int = 64,
    remove_static: bool = False,
    sca_stages: Sequence[int] = (3, 4),
    sca_channels: int = 128,
    gcn_layers: int = 1,
    gcn_hidden: int = 64,
    tau: float = 0.4,
    p: float = 0.25,
    alpha: float = 1.0,
    alpha_step: int = 30,
) -> AUGraph:
    """AU-graph: SCA Res3D AU detector, GCN over AU probabilities (ML-GCN co-occurrence graph), emotion head."""
    return AUGraph(**locals())  # the options are named above (for recipe checks) and passed on unchanged
