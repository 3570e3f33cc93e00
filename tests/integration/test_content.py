"""ContentEncoder with the real bundled MiniLM model (loaded once for the module)."""

from __future__ import annotations

import socket

import huggingface_hub
import numpy as np
import pytest
import torch
import transformers
from transformers import AutoModel, AutoTokenizer

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


def test_embedding_is_the_normalised_mean_of_real_token_states(encoder):
    """Pin the pooling against the model's own hidden states, computed here one text at a time.

    Batched together the texts are padded to the longest, so averaging over padding, taking
    the first ([CLS]) state, or skipping the L2 normalisation all give different vectors.
    """
    texts = ["Fargo", ALIEN, TOY_STORY, "a much longer description of a film " * 4]
    path = resolve_model(BUNDLED_MODEL)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, attn_implementation="eager").eval()
    lengths = [len(tokenizer(t)["input_ids"]) for t in texts]
    assert len(set(lengths)) == len(texts)  # one batch of four different lengths: padding
    expected = []
    for text in texts:
        with torch.inference_mode():
            ids = tokenizer(text, return_tensors="pt")  # alone: every token is real
            states = model(**ids).last_hidden_state[0].double().numpy()  # (T, dim)
        mean = states.mean(axis=0)
        expected.append(mean / np.sqrt((mean**2).sum()))
    got = encoder.encode(texts)  # batch_size=4: all four in one padded batch
    np.testing.assert_allclose(got, np.array(expected), atol=1e-5)
    np.testing.assert_allclose(encoder.encode_query(texts[1]), expected[1], atol=1e-5)


def test_head_average_and_rollout_on_a_hand_case():
    # one layer, one head, two tokens: A = [[.75, .25], [.5, .5]]
    one = TokenAttention(
        tokens=["a", "b"],
        weights=np.array([[[[0.75, 0.25], [0.5, 0.5]]]], dtype=np.float32),
        hidden_norms=np.ones(2, dtype=np.float32),
    )
    np.testing.assert_allclose(one.head_average(0), [[0.75, 0.25], [0.5, 0.5]])
    # A + I = [[1.75, .25], [.5, 1.5]], each row sums to 2 -> halve
    np.testing.assert_allclose(one.rollout(), [[0.875, 0.125], [0.25, 0.75]], atol=1e-7)

    # two layers, two heads: the heads are averaged, and later layers multiply on the left
    two = TokenAttention(
        tokens=["a", "b"],
        weights=np.array(
            [
                [[[0.5, 0.5], [0.0, 1.0]], [[1.0, 0.0], [1.0, 0.0]]],  # mean [[.75,.25],[.5,.5]]
                [[[0.0, 1.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]],  # mean [[0, 1], [0, 1]]
            ],
            dtype=np.float32,
        ),
        hidden_norms=np.ones(2, dtype=np.float32),
    )
    np.testing.assert_allclose(two.head_average(0), [[0.75, 0.25], [0.5, 0.5]])
    # layer 0: M0 = [[.875, .125], [.25, .75]] (as above)
    # layer 1: A + I = [[1, 1], [0, 2]], rows sum to 2 -> M1 = [[.5, .5], [0, 1]]
    # rollout = M1 @ M0 = [[.5*.875 + .5*.25, .5*.125 + .5*.75], [.25, .75]]
    np.testing.assert_allclose(two.rollout(), [[0.5625, 0.4375], [0.25, 0.75]], atol=1e-7)
    assert one.rollout().dtype == two.rollout().dtype == np.float32  # for the plots, like weights


def test_rollout_renormalises_rows_not_columns():
    """Rows of A + I are divided by their own sums, whatever the attention rows add up to.

    With row-stochastic A every row of A + I sums to 2, so dividing rows or columns agrees; a map
    whose rows do not sum to 1 (here 1 and 0.5) tells the two apart.
    """
    att = TokenAttention(
        tokens=["a", "b"],
        weights=np.array([[[[0.75, 0.25], [0.25, 0.25]]]], dtype=np.float32),
        hidden_norms=np.ones(2, dtype=np.float32),
    )
    # A + I = [[1.75, .25], [.25, 1.25]], row sums 2 and 1.5
    # rows: [[.875, .125], [1/6, 5/6]]; columns would give [[.875, 1/6], [.125, 5/6]]
    np.testing.assert_allclose(att.rollout(), [[0.875, 0.125], [1 / 6, 5 / 6]], atol=1e-7)


def test_pooled_token_weights_are_hidden_norms_over_their_sum():
    att = TokenAttention(
        tokens=["[CLS]", "toy", "[SEP]"],
        weights=np.full((1, 1, 3, 3), 1 / 3, dtype=np.float32),
        hidden_norms=np.array([2.0, 1.0, 1.0], dtype=np.float32),
    )
    pooled = att.pooled_token_weights()
    np.testing.assert_allclose(pooled, [0.5, 0.25, 0.25])
    assert pooled.dtype == np.float32


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


class NetworkTouched(Exception):
    """Raised by the socket spies; not an OSError, so no retry loop treats it as a flaky link."""


def test_bogus_model_fails_fast_offline(tmp_path, monkeypatch):
    """Offline, a missing model fails at once: the hub is never asked for files, so it cannot
    spend a minute retrying an unreachable host (as it does without VIDREC_OFFLINE)."""
    monkeypatch.setenv("VIDREC_OFFLINE", "1")
    touched = []

    def no_network(*args, **kwargs):
        touched.append(args[:2])
        raise NetworkTouched(args)

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    # huggingface_hub 2.x fetches an "agent harnesses" registry once per process when it first
    # builds request headers, local_files_only or not; let that fail on the spy before counting.
    huggingface_hub.utils.build_hf_headers()
    touched.clear()
    loads = []
    real_load = transformers.AutoTokenizer.from_pretrained

    def spy_load(path, **kwargs):
        loads.append((path, kwargs.get("local_files_only")))
        return real_load(path, **kwargs)

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", spy_load)
    with pytest.raises(ConfigError, match="no-such-org/no-such-model.*VIDREC_MODEL"):
        ContentEncoder("no-such-org/no-such-model")
    with pytest.raises(ConfigError, match="does not hold"):
        ContentEncoder(str(tmp_path))  # a folder without model files
    assert touched == []
    assert loads == [("no-such-org/no-such-model", True), (str(tmp_path), True)]
