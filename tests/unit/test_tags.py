"""The zero-shot tagger: vocabulary checks, per-tag calibration, thresholds, F1."""

import numpy as np
import pytest

from vidrec.errors import DataError
from vidrec.tags import GROUPS, Tag, ZeroShotTagger, f1_scores, load_vocabulary


def test_shipped_vocabulary_is_curated():
    vocab = load_vocabulary()
    assert 150 <= len(vocab) <= 300
    assert {t.group for t in vocab} <= set(GROUPS)
    genres = [t.genre for t in vocab if t.genre]
    assert len(genres) == len(set(genres)) == 18


def test_bad_vocabulary_is_rejected(tmp_path):
    path = tmp_path / "tags.json"
    path.write_text('{"tags": [{"tag": "x", "group": "nonsense", "prompt": "p"}]}')
    with pytest.raises(DataError, match="bad group"):
        load_vocabulary(path)
    path.write_text("not json")
    with pytest.raises(DataError, match="cannot read"):
        load_vocabulary(path)


def unit(v):
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_calibration_stops_a_tag_close_to_everything_from_firing_everywhere():
    rng = np.random.default_rng(0)
    common = unit(rng.normal(size=8))
    videos = unit(common + 0.3 * rng.normal(size=(200, 8)))
    vocab = [Tag("generic", "mood", "p"), Tag("rare", "theme", "p")]
    tagger = ZeroShotTagger(vocab, unit(np.stack([common, videos[0]])), z=2.0).calibrate(videos)
    tags = tagger.tag(videos)
    assert sum("generic" in [t for t, _ in ts] for ts in tags) < 0.1 * len(videos)
    assert "rare" in [t for t, _ in tags[0]]  # the video the tag was made from gets it


def test_genre_tags_are_hidden_from_display_but_used_for_genre_predictions():
    vocab = [Tag("western", "genre", "p", genre="Western"), Tag("cowboys", "theme", "p")]
    emb = unit(np.eye(2))
    tagger = ZeroShotTagger(vocab, emb, z=0.5).calibrate(unit([[1, 0], [0, 1], [0.7, 0.7]]))
    assert [t for t, _ in tagger.tag(emb[:1])[0]] == []
    assert tagger.genre_predictions(emb[:1]) == [{"Western"}]


def test_f1_scores_hand_computed():
    out = f1_scores([{"A"}, {"A", "B"}], [{"A"}, {"B"}], ["A", "B"])
    assert out["micro_f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 0))
    assert out["macro_f1"] == pytest.approx((2 / 3 + 1.0) / 2)


def _grounded_tagger(z_of_film):
    """Four tags on orthogonal axes; prompts and names share the axes; z-scores given per film."""
    vocab = [Tag("western", "genre", "p", genre="Western"), Tag("revenge", "theme", "p"),
             Tag("pirates", "theme", "p"), Tag("paris", "setting", "p"),
             Tag("sequel", "audience", "p")]  # fmt: skip
    axes = unit(np.eye(5))
    tagger = ZeroShotTagger(vocab, axes, z=2.0, name_embeddings=axes)
    tagger.scores = lambda emb: np.asarray(z_of_film, dtype=np.float32)  # the text's reading
    return tagger


def _encode(words):
    """Keywords as vectors: "same" words sit on a tag's axis, "near" ones at cosine 0.75."""
    table = {"revenge": [0, 1, 0, 0, 0], "western": [1, 0, 0, 0, 0], "sequel": [0, 0, 0, 0, 1],
             "navy": [0, 0, 0.75, 0, 0.661], "france": [0, 0, 0, 0.75, 0.661],
             "toys": [0.3, 0, 0, 0, 0.1]}  # fmt: skip
    return unit([table[w] for w in words])


def test_grounded_tags_come_from_the_films_own_keywords():
    z = [[0, 0, 0, 0, 0], [0, 0, 0, 2.5, 0], [0, 0, 1.0, 0, 0], [3, 3, 3, 3, 3]]
    keywords = [["revenge", "western", "toys"], ["france"], ["navy"], []]
    tags = _grounded_tagger(z).grounded(np.zeros((4, 5)), keywords, _encode)
    assert [t for t, _ in tags[0]] == ["revenge"]  # the same words; the genre tag stays off
    assert [t for t, _ in tags[1]] == ["paris"]  # near, and the whole text agrees (z 2.5)
    assert tags[2] == []  # near (navy ~ pirates) but the text does not agree: no guess
    assert tags[3] == []  # no keywords, however high the zero-shot scores: none


def test_grounded_tags_are_at_most_three_best_backed_first():
    vocab = [Tag(f"t{i}", "theme", "p") for i in range(5)]
    axes = unit(np.eye(5))
    tagger = ZeroShotTagger(vocab, axes, name_embeddings=axes)
    backing = {"a": [1, 0, 0, 0, 0], "b": [0, 1, 0, 0, 0], "c": [0, 0, 1, 0, 0],
               "d": [0, 0, 0, 1, 0.2]}  # fmt: skip
    encode = lambda words: unit([backing[w] for w in words])  # noqa: E731
    tags = tagger.grounded(np.zeros((1, 5)), [["d", "c", "b", "a"]], encode)
    assert [t for t, _ in tags[0]] == ["t0", "t1", "t2"]  # "d" backs t3 at 0.98: fourth
    assert ZeroShotTagger(vocab, axes).grounded(np.zeros((1, 5)), [["a"]], None) == [[]]


@pytest.mark.parametrize("seed", range(8))
def test_tags_backed_equally_keep_vocabulary_order_whatever_the_float_noise(seed):
    """Issue 22: keywords equal to tag names back them at 1.0 give or take 1e-7, and that noise
    (BLAS threads, CPU) used to pick the order and which three of four tied tags a card showed:
    The Godfather showed loyalty · mafia · 1940s on one machine, 1940s · loyalty · mafia on
    another. Now ties show in vocabulary order on every machine."""
    vocab = [Tag(f"t{i}", "theme", "p") for i in range(5)]
    axes = unit(np.eye(5))
    tagger = ZeroShotTagger(vocab, axes, name_embeddings=axes)
    scale = 1 + np.random.default_rng(seed).normal(scale=1e-6, size=(4, 1))  # unit ± float noise
    encode = lambda words: unit(np.eye(5)[["abcd".index(w) for w in words]]) * scale  # noqa: E731
    tags = tagger.grounded(np.zeros((1, 5)), [["d", "b", "a", "c"]], encode)
    assert tags == [[("t0", 1.0), ("t1", 1.0), ("t2", 1.0)]]  # t3, tied too, is the fourth


@pytest.mark.parametrize("seed", range(8))
def test_zero_shot_tags_compare_scores_on_a_grid(seed):
    """Cold-start cards: near-equal scores keep vocabulary order and meet the cut alike."""
    vocab = [Tag(n, "theme", "p") for n in ("a", "b", "c", "d")]
    tagger = ZeroShotTagger(vocab, unit(np.eye(4)), z=2.0)
    noise = np.random.default_rng(seed).normal(scale=1e-6, size=4)
    tagger.scores = lambda emb: np.array([[2.0, 3.0, 3.0, 1.9]]) + noise  # b, c tie; a at the cut
    assert tagger.tag(np.zeros((1, 4))) == [[("b", 3.0), ("c", 3.0), ("a", 2.0)]]


def test_a_keyword_backs_only_the_tag_it_is_closest_to():
    """Regression: Raiders of the Lost Ark's keyword "1930s" showed as "1920s" too."""
    vocab = [Tag("1920s", "setting", "p"), Tag("1930s", "setting", "p")]
    names = unit([[1, 0.6], [0.6, 1]])
    tagger = ZeroShotTagger(vocab, names, z=2.0, name_embeddings=names)
    tagger.scores = lambda emb: np.full((1, 2), 3.0, np.float32)  # the text agrees with both
    encode = lambda words: unit([[0.8, 1]] * len(words))  # noqa: E731
    assert [t for t, _ in tagger.grounded(np.zeros((1, 2)), [["1930s"]], encode)[0]] == ["1930s"]


def test_an_alias_backs_its_tag_as_the_name_does():
    vocab = [Tag("holiday season", "theme", "p", aliases=("christmas",)), Tag("x", "theme", "p")]
    axes = unit(np.eye(3))
    tagger = ZeroShotTagger(vocab, axes[:2], name_embeddings=axes[:2], alias_embeddings=axes[2:])
    encode = lambda words: unit([{"christmas": [0, 0, 1], "other": [0, 1, 0]}[w] for w in words])  # noqa: E731
    assert [t for t, _ in tagger.grounded(np.zeros((1, 3)), [["christmas"]], encode)[0]] == [
        "holiday season"
    ]
    assert list(tagger.alias_owner) == [0]


def test_aliases_must_be_words(tmp_path):
    path = tmp_path / "tags.json"
    path.write_text('{"tags": [{"tag": "x", "group": "theme", "prompt": "p", "aliases": [""]}]}')
    with pytest.raises(DataError, match="alias"):
        load_vocabulary(path)
