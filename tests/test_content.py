"""ContentEncoder with the real bundled MiniLM model (loaded once for the module)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from vidrec.config import BUNDLED_MODEL
from vidrec.content import ContentEncoder, TokenAttention, resolve_model
from vidrec.errors import ConfigError, DataError

TOY_STORY = "Toy Story (1995). Genres: Animation, Children's, Comedy."
ALIEN = "Alien (1979). Genres: Horror, Sci-Fi."


@pytest.fixture(scope="module")
def encoder() -> ContentEncoder:
    return ContentEncoder(batch_size=4)


def test_shape_norm_and_identity(encoder):
    assert encoder.dim == 384 and encoder.model_id == BUNDLED_MODEL
    vectors = encoder.encode([TOY_STORY, ALIEN, "x"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_deterministic(encoder):
    np.testing.assert_array_equal(encoder.encode_query(TOY_STORY), encoder.encode_query(TOY_STORY))
    np.testing.assert_array_equal(
        encoder.encode([TOY_STORY, ALIEN]), encoder.encode([TOY_STORY, ALIEN])
    )


def test_batch_matches_single(encoder):
    texts = [TOY_STORY, ALIEN, "a", "a much longer description " * 20, "Heat (1995)", "Fargo"]
    batched = encoder.encode(texts)  # batch_size=4 with mixed lengths: padding and two batches
    for text, row in zip(texts, batched, strict=True):
        np.testing.assert_allclose(encoder.encode_query(text), row, atol=1e-5)


def test_empty_list_and_progress(encoder):
    assert encoder.encode([]).shape == (0, 384)
    calls = []
    encoder.encode(["a"] * 9, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(4, 9), (8, 9), (9, 9)]


def test_semantic_sanity(encoder):
    query = encoder.encode_query("a cartoon about toys that come alive")
    toy, alien = encoder.encode([TOY_STORY, ALIEN])
    assert query @ toy > query @ alien


def test_attentions(encoder):
    att = encoder.attentions("A cartoon about toys")
    n_tokens = len(encoder._tokenizer("A cartoon about toys")["input_ids"])
    assert isinstance(att, TokenAttention)
    assert att.weights.shape == (6, 12, n_tokens, n_tokens) and len(att.tokens) == n_tokens
    assert att.tokens[0] == "[CLS]" and att.tokens[-1] == "[SEP]"
    np.testing.assert_allclose(att.weights.sum(axis=-1), 1.0, atol=1e-4)
    assert att.head_average(2).shape == (n_tokens, n_tokens)
    rollout = att.rollout()
    assert rollout.shape == (n_tokens, n_tokens)
    np.testing.assert_allclose(rollout.sum(axis=1), 1.0, atol=1e-4)
    pooled = att.pooled_token_weights()
    assert pooled.shape == (n_tokens,) and (pooled >= 0).all()
    assert pooled.sum() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(
    "text",
    [
        "🎬🍿 movie night 🤖👾",
        "فيلم رسوم متحركة عن الألعاب",
        "tab\there\x00null\x07bell\x1bescape\r\nline",
        "long text " * 10_000,  # 100 KB
    ],
)
def test_odd_text(encoder, text):
    vector = encoder.encode_query(text)
    assert vector.shape == (384,) and np.isfinite(vector).all()
    assert encoder.encode([text]).shape == (1, 384)
    assert len(encoder.attentions(text).tokens) <= encoder.max_tokens


@pytest.mark.parametrize("text", ["", "   \n\t", "\x00\x01"])
def test_empty_query_rejected(encoder, text):
    with pytest.raises(DataError, match="empty"):
        encoder.encode_query(text)


def test_non_string_query_rejected(encoder):
    with pytest.raises(DataError):
        encoder.encode_query(None)  # type: ignore[arg-type]


def test_resolve_model(tmp_path):
    assert resolve_model(BUNDLED_MODEL).endswith("model")
    assert resolve_model(str(tmp_path)) == str(tmp_path)
    assert resolve_model("org/some-model") == "org/some-model"


def test_bogus_model_fails_fast_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDREC_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(ConfigError, match="no-such-org/no-such-model.*VIDREC_MODEL"):
        ContentEncoder("no-such-org/no-such-model")
    with pytest.raises(ConfigError, match="does not hold"):
        ContentEncoder(str(tmp_path))  # a folder without model files
    assert time.monotonic() - start < 10
