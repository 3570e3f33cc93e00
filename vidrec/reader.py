"""The taste-trained reader: the feedback loop's way back into content understanding.

The Transformer stays frozen; its final token states are cached once per video
(content.TokenStates). A small head learns from the training ratings which words matter for
taste: a learned attention pooling over the tokens (a few query vectors) feeds, with the
video's genres and year, a projection onto the MF item side (factors and rating bias). The
objective is the CB2CF/DropoutNet one, regression onto the collaborative position, weighted by
how well each film's position is known; the epoch is chosen on held-out warm films.
Its output is the *trained reading*: where the text says a video sits among viewers' tastes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file

from vidrec.content import TokenStates
from vidrec.errors import DataError
from vidrec.mapping import CONFIDENCE_HALF, CatalogSide
from vidrec.mf import BiasedMF

# pooling query vectors: 1 / 2 / 4 tied on validation cold films carved from protocol C's warm
# films (nDCG@10 0.475 / 0.473 / 0.472 among films with a synopsis, 0.462 / 0.466 / 0.465 among
# all); one costs least
QUERIES = 1
RANK = 64  # token states are pooled in their top principal directions: 6× less work per epoch
HOLD_OUT = 0.1  # share of rated films held out to choose the epoch
MAX_EPOCHS = 400
PATIENCE = 20  # epochs without a better held-out loss before stopping
LEARNING_RATE = 3e-3
WEIGHT_DECAY = 1e-4


class _Head(torch.nn.Module):
    """Attention pooling over token states, then a linear map with the side features.

    Texts are ragged: the states of all texts lie in one (tokens, dim) matrix and ``seg``
    says which text owns each row, so no compute is spent on padding (most texts are short).
    """

    def __init__(self, basis: torch.Tensor, side: int, out: int, queries: int):
        super().__init__()
        dim, rank = basis.shape
        self.basis: torch.Tensor
        self.register_buffer("basis", basis)  # (dim, rank) the states' principal directions
        self.queries = torch.nn.Parameter(torch.zeros(queries, rank))  # zero: mean pooling first
        self.project = torch.nn.Linear(queries * rank + dim + side, out)

    def reduce(self, states: torch.Tensor) -> torch.Tensor:
        """(tokens, rank) token states in the principal basis: what the pooling reads."""
        return states @ self.basis

    def weights(self, states: torch.Tensor, seg: torch.Tensor, n: int) -> torch.Tensor:
        """(tokens, queries) each query's softmax weight on each token within its text."""
        logits = states @ self.queries.T / states.shape[-1] ** 0.5  # (tokens, q)
        index = seg[:, None].expand_as(logits)
        top = torch.zeros(n, logits.shape[1]).scatter_reduce(
            0, index, logits.detach(), "amax", include_self=False
        )
        e = torch.exp(logits - top[seg])
        return e / torch.zeros_like(top).index_add(0, seg, e)[seg]

    def forward(self, states, seg, mean, side) -> torch.Tensor:
        """Outputs (n, out) from reduced states (tokens, rank), owners, mean pools, side."""
        n, w = len(mean), self.weights(states, seg, len(mean))
        pooled = [torch.zeros(n, states.shape[1]).index_add(0, seg, w[:, [q]] * states)
                  for q in range(w.shape[1])]  # fmt: skip
        return self.project(torch.cat([*pooled, mean, side], dim=1)) if n else mean[:, :0]


@dataclass
class TasteReader:
    """A trained head: token states (+ genres, year) → predicted item factors and bias."""

    head: _Head
    side: CatalogSide
    scale: float  # output factors are multiplied by this so their norms match real ones
    epochs: int  # chosen on held-out warm films

    def read(self, states: TokenStates, genres, years) -> tuple[np.ndarray, np.ndarray]:
        """Predicted factors (n, d) and biases (n,) of the texts behind ``states``."""
        side = torch.as_tensor(self.side.features(genres, years), dtype=torch.float32)
        flat, seg, mean = _flat(states)
        with torch.inference_mode():
            out = self.head(self.head.reduce(flat), seg, mean, side).numpy().astype(np.float32)
        return out[:, :-1] * self.scale, out[:, -1]

    def reading(self, mf: BiasedMF, states: TokenStates, catalog: pd.DataFrame) -> Reading:
        """The trained reading of a catalog (rows aligned with ``states``)."""
        factors, bias = self.read(states, catalog["genres"], catalog["year"])
        return Reading(self, states, reading_model(mf, factors, bias))

    def token_weights(self, states: np.ndarray) -> np.ndarray:
        """(T,) the trained pooling's weight on each token of one text, averaged over queries."""
        x = torch.as_tensor(np.asarray(states, np.float32))
        with torch.inference_mode():
            one = torch.zeros(len(x), dtype=torch.long)
            return self.head.weights(self.head.reduce(x), one, 1).mean(1).numpy()

    def save(self, path: Path) -> None:
        meta = {"scale": self.scale, "epochs": self.epochs, "side": self.side.as_json()}
        tensors = {k: v.contiguous() for k, v in self.head.state_dict().items()}
        save_file(tensors, str(path), metadata={"reader": json.dumps(meta)})

    @classmethod
    def load(cls, path: Path) -> TasteReader:
        from safetensors import safe_open

        with safe_open(str(path), "pt") as f:
            meta = json.loads((f.metadata() or {}).get("reader", "null"))
        tensors = load_file(str(path))
        if not meta or not {"basis", "queries", "project.weight"} <= set(tensors):
            raise ValueError(f"{path} is not a taste-reader file")
        queries, rank = tensors["queries"].shape
        dim = tensors["basis"].shape[0]
        out, width = tensors["project.weight"].shape
        head = _Head(tensors["basis"], width - queries * rank - dim, out, queries)
        head.load_state_dict(tensors)
        side = CatalogSide.from_json(meta["side"])
        return cls(head.eval(), side, float(meta["scale"]), int(meta["epochs"]))


@dataclass(frozen=True)
class Reading:
    """A catalog as the trained reader sees it: an MF item side whose rows come from text."""

    reader: TasteReader
    tokens: TokenStates  # rows as the catalog
    items: BiasedMF  # the read factors and biases, with the interest model's settings

    def token_weights(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """Token ids (T,) of a catalog row's text and the trained pooling's weight on each."""
        states, ids = self.tokens.of_text(row)
        return ids, self.reader.token_weights(states)

    def with_rows(self, states: list[np.ndarray], ids: list[np.ndarray], factors, bias):
        """A copy with videos appended (their token states, read factors and biases)."""
        tokens = self.tokens.appended(states, ids)
        old = self.items
        factors = np.vstack([old.item_factors.numpy(), np.asarray(factors)])
        bias = np.concatenate([old.item_bias.numpy(), np.asarray(bias)])
        return Reading(self.reader, tokens, reading_model(old, factors, bias))


def reading_model(mf: BiasedMF, factors: np.ndarray, bias: np.ndarray) -> BiasedMF:
    """An MF model with ``mf``'s settings whose item rows are the given (read) ones."""
    dtype = mf.item_factors.dtype
    return BiasedMF.from_item_side(
        mf.params, torch.as_tensor(factors, dtype=dtype), torch.as_tensor(bias, dtype=dtype),
        mf.global_mean,
    )  # fmt: skip


def train_reader(
    states: TokenStates,
    catalog: pd.DataFrame,
    factors: np.ndarray,
    bias: np.ndarray,
    counts: np.ndarray,
    seed: int = 0,
    queries: int = QUERIES,
) -> TasteReader:
    """Fit the head on the rated films (rows aligned with ``catalog`` and ``states``).

    A seeded HOLD_OUT of the rated films stops the training at its best epoch (a refit on
    all films cost as much again for no validation gain). Films nobody rated carry no
    collaborative signal: left out.
    """
    rated = np.flatnonzero(np.asarray(counts) > 0)
    if len(rated) < 2:
        raise DataError("the taste-trained reader needs at least two rated videos")
    side = CatalogSide.of(catalog)
    rng = np.random.default_rng(seed)
    held = np.zeros(len(rated), bool)
    held[rng.choice(len(rated), max(1, int(HOLD_OUT * len(rated))), replace=False)] = True
    data = _Data.of(states, catalog, side, factors, bias, counts)
    head, epochs = _fit(data, rated[~held], rated[held], MAX_EPOCHS, seed, queries)
    pred = data.predict(head).detach().numpy()[rated, :-1]
    real = np.average(np.linalg.norm(factors[rated], axis=1), weights=data.weight[rated])
    fitted = np.average(np.linalg.norm(pred, axis=1), weights=data.weight[rated])
    return TasteReader(head.eval(), side, float(real / max(fitted, 1e-9)), epochs)


@dataclass(frozen=True)
class _Data:
    """Training tensors: every text's states (flat), side features, targets and weights."""

    states: torch.Tensor  # (tokens, rank) reduced once: training never touches full states
    basis: torch.Tensor  # (dim, rank)
    seg: torch.Tensor  # (tokens,) the text each token belongs to
    mean: torch.Tensor  # (n, dim) unit mean-pooled embeddings
    side: torch.Tensor  # (n, side)
    target: torch.Tensor  # (n, d + 1) factors and bias
    weight: np.ndarray  # (n,)

    @classmethod
    def of(cls, states, catalog, side: CatalogSide, factors, bias, counts) -> _Data:
        flat, seg, mean = _flat(states)
        basis = _principal(flat, RANK)
        target = np.hstack([factors, np.asarray(bias)[:, None]]).astype(np.float32)
        feats = side.features(catalog["genres"], catalog["year"]).astype(np.float32)
        weight = np.asarray(counts, np.float64) / (np.asarray(counts) + CONFIDENCE_HALF)
        target_t, feats_t = torch.as_tensor(target), torch.as_tensor(feats)
        return cls(flat @ basis, basis, seg, mean, feats_t, target_t, weight)

    def predict(self, head: _Head) -> torch.Tensor:
        """(n, d + 1) the head's output for every text."""
        return head(self.states, self.seg, self.mean, self.side)

    def loss(self, out: torch.Tensor, rows: np.ndarray) -> torch.Tensor:
        """Confidence-weighted squared error of some rows' outputs."""
        r = torch.as_tensor(rows)
        w = torch.as_tensor(self.weight[rows], dtype=torch.float32)[:, None]
        return (w * (out[r] - self.target[r]) ** 2).sum() / w.sum()


def _fit(data: _Data, rows, held, epochs: int, seed: int, queries: int) -> tuple[_Head, int]:
    """Full-batch AdamW on the weighted squared error, stopped at the best held-out epoch."""
    torch.manual_seed(seed)
    head = _Head(data.basis, data.side.shape[1], data.target.shape[1], queries)
    opt = torch.optim.AdamW(head.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    best, best_epoch, best_state = np.inf, epochs, None
    for epoch in range(1, epochs + 1):
        opt.zero_grad()
        out = data.predict(head)  # every text at once: the held-out rows cost no extra pass
        loss = data.loss(out, rows)
        score = float(data.loss(out.detach(), held))
        if score < best:
            best, best_epoch = score, epoch - 1  # the loss of the weights before this step
            best_state = {k: v.clone() for k, v in head.state_dict().items()}
        elif epoch - 1 - best_epoch >= PATIENCE:
            break
        loss.backward()
        opt.step()
    if best_state is not None:
        head.load_state_dict(best_state)
    return head, best_epoch


def _principal(x: torch.Tensor, rank: int) -> torch.Tensor:
    """(dim, rank) the top principal directions of the token states (sign fixed, so the
    basis is the same on every machine)."""
    centred = x - x.mean(0)
    _, vectors = torch.linalg.eigh((centred.T @ centred).double())
    top = vectors[:, -rank:].flip(1)  # (dim, rank) largest eigenvalue first
    signs = torch.sign(top[top.abs().argmax(0), torch.arange(top.shape[1])])
    return (top * signs).float()


def _flat(states: TokenStates) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(tokens, dim) float32 states, (tokens,) owner of each, (n, dim) unit mean pools."""
    x = torch.as_tensor(np.asarray(states.states, np.float32))
    lengths = torch.as_tensor(np.diff(states.offsets))
    seg = torch.repeat_interleave(torch.arange(len(lengths)), lengths)
    summed = torch.zeros(len(lengths), x.shape[1]).index_add(0, seg, x)
    pooled = summed / lengths.clamp(min=1)[:, None]
    return x, seg, torch.nn.functional.normalize(pooled, dim=1)
