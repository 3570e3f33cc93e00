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
