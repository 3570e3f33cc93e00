"""Attribution: per-rating splits add up to recommend()'s scores on the real MovieLens build.

The MF terms are checked against a brute-force float64 solve, and the leave-one-out ranks
against recommend() run again without the rating.
"""

import copy

import numpy as np
import pytest

from vidrec.artifacts import load_recommender
from vidrec.attribution import (
    REASON_COLUMNS,
    Attribution,
    counterfactual,
    explain,
    reasons,
    recommend_with_reasons,
)
from vidrec.errors import DataError, UnknownVideoError

STARS = np.arange(1, 11) / 2  # 0.5 … 5


@pytest.fixture(scope="module")
def rec(built_config):
    return load_recommender(built_config, text=False)


def random_viewer(rec, rng, most=15) -> dict[int, float]:
    vids = rng.choice(rec.video_ids, int(rng.integers(1, most + 1)), replace=False)
    return {int(v): float(rng.choice(STARS)) for v in vids}


def without_item_item(rec):
    """The same engine with the item-item model dropped (collab = z(MF) alone)."""
    other = copy.copy(rec)
    other.item_item = None
    return other


def raw_reading(rec):
    """The same engine reading text raw (target attention) instead of with the trained reader."""
    other = copy.copy(rec)
    other.config = rec.config.replace(trained_reading=False)
    return other


@pytest.mark.parametrize("trained", [True, False])
@pytest.mark.parametrize("item_item", [True, False])
@pytest.mark.parametrize("alpha", [0.0, 0.1, 1.0])
def test_parts_add_up_to_the_score_columns(rec, item_item, alpha, trained):
    assert rec.reading is not None  # the build trains the reader
    engine = rec if item_item else without_item_item(rec)
    engine = engine if trained else raw_reading(engine)
    rng = np.random.default_rng(int(alpha * 10) + 100 * item_item + 1000 * trained)
    for trial in range(6):
        ratings = random_viewer(engine, rng)
        allowed = rng.random(len(rec.video_ids)) < 0.5 if trial % 2 else None
        ranking = engine.rank(ratings, engine.query(k=20, alpha=alpha, allowed=allowed))
        got = engine.table(ranking)
        att = explain(engine, ranking)
        assert got.equals(engine.recommend(ratings, k=20, alpha=alpha, allowed=allowed))
        assert att.per_rating.shape == (20, len(ratings), 3)
        assert list(att.video_ids) == got["video_id"].tolist()
        np.testing.assert_allclose(att.score, got["score"], atol=1e-5)
        np.testing.assert_allclose(att.per_rating[..., 0].sum(1), got["content_score"], atol=1e-5)
        collab = att.per_rating[..., 1:].sum(axis=(1, 2))
        np.testing.assert_allclose(collab, got["collab_score"], atol=1e-5)
        np.testing.assert_allclose(att.base[:, 0], got["popularity_score"], atol=1e-5)
        if not item_item:
            assert not att.per_rating[..., 2].any()


def test_a_viewer_without_ratings_is_all_base(rec):
    got = rec.recommend({}, k=10)
    att = explain(rec, rec.rank({}), got["video_id"])
    assert att.per_rating.shape == (10, 0, 3) and att.total_by_rating().shape == (10, 0)
    np.testing.assert_allclose(att.score, got["score"], atol=1e-5)
    np.testing.assert_allclose(att.base[:, 0], got["score"], atol=1e-5)
    assert att.cited(0) is None


def test_mf_terms_match_a_brute_force_solve(rec):
    """Rating j's MF term is c·t_j·V_iᵀA⁻¹V_j, centred over the candidates and over the std;
    t_j is 1 for a rating of 3★ or more, −dislike_weight below (issue 23)."""
    ratings = random_viewer(rec, np.random.default_rng(7), most=12)
    prof = rec.profile(ratings)
    cand = np.setdiff1d(np.arange(len(rec.video_ids)), prof.rows)  # small catalog: all unrated
    p = rec.mf.params
    V = rec.mf.item_factors.numpy().astype(np.float64)  # (n_items, d)
    Vr = V[prof.rows]  # (m, d)
    A = p.unobserved_weight * V.T @ V + p.observed_weight * Vr.T @ Vr + p.reg * np.eye(V.shape[1])
    t = np.where(np.array(list(ratings.values())) >= 3, 1.0, -rec.config.dislike_weight)
    T = (
        (p.unobserved_weight + p.observed_weight) * V[cand] @ np.linalg.inv(A) @ Vr.T * t
    )  # (n_c, m)
    np.testing.assert_allclose(T.sum(1), V[cand] @ prof.collab.preference, rtol=1e-4, atol=1e-6)
    z = (T - T.mean(0)) / T.sum(1).std()
    alpha, w = 0.1, rec.config.item_item_weight
    shown = rec.recommend(ratings, k=15, alpha=alpha)["video_id"].to_numpy()
    att = explain(rec, rec.rank(prof, rec.query(k=15, alpha=alpha)), shown)
    at = np.searchsorted(cand, rec.videos.rows_of(shown))
    np.testing.assert_allclose(att.per_rating[..., 1], (1 - alpha) * (1 - w) * z[at], atol=1e-5)


def test_counterfactual_ranks_are_what_recommend_shows(rec):
    ratings = random_viewer(rec, np.random.default_rng(3), most=10) | {50: 5.0, 172: 5.0}
    depth = 100
    top = rec.recommend(ratings, k=depth)["video_id"].tolist()
    cf = counterfactual(rec, rec.rank(ratings), top[4], depth=depth)
    assert cf.rank == 5 and cf.video_id == top[4] and len(cf.ranks_without) == len(ratings)
    moved = [abs((r or depth + 1) - cf.rank) for r in cf.ranks_without]
    j = int(np.argmax(moved))  # check the rating whose removal moves the video most
    rest = {v: s for v, s in ratings.items() if v != cf.rated_ids[j]}
    again = rec.recommend(rest, k=depth)["video_id"].tolist()
    expected = again.index(top[4]) + 1 if top[4] in again else None
    assert cf.ranks_without[j] == expected
    below = rec.recommend(ratings, k=depth + 20)["video_id"].iat[depth + 10]
    assert counterfactual(rec, rec.rank(ratings), below, depth=depth).rank is None


def test_cited_takes_the_largest_lift_over_all_positive_terms():
    att = Attribution(
        video_ids=np.array([1]),
        rated_ids=np.array([10, 20, 30]),
        stars=np.array([5.0, 1.0, 4.0]),
        score=np.array([1.5]),
        per_rating=np.array([[[0.5, 0.5, 0.0], [-0.5, 0.0, 0.0], [0.25, 0.25, 0.0]]]),
        base=np.array([[0.5]]),
    )
    j, share = att.cited(0)
    assert j == 0 and share == pytest.approx(1.0 / (1.0 + 0.5 + 0.5))


def test_bad_videos_raise_errors_that_say_why(rec):
    ranking = rec.rank({50: 5.0, 172: 4.0})
    with pytest.raises(UnknownVideoError, match="999999"):
        explain(rec, ranking, [999_999])
    with pytest.raises(DataError, match="video 50 is rated"):
        explain(rec, ranking, [50])
    with pytest.raises(DataError, match="video 50 is rated"):
        counterfactual(rec, ranking, 50)
    allowed = np.zeros(len(rec.video_ids), dtype=bool)
    with pytest.raises(DataError, match="outside the filter"):
        explain(rec, rec.rank(ranking.profile, rec.query(allowed=allowed)), [1])
    with pytest.raises(DataError, match="filter mask"):
        rec.query(allowed=np.ones(3, dtype=bool))
    with pytest.raises(DataError, match="k must be"):
        counterfactual(rec, ranking, 1, depth=0)


def hand_attribution(per_rating, base) -> Attribution:
    per_rating, base = np.asarray(per_rating, float), np.asarray(base, float)
    return Attribution(
        video_ids=np.arange(len(base)),
        rated_ids=np.arange(per_rating.shape[1]) + 10,
        stars=np.array([5.0, 1.0, 4.0, 4.0, 4.0, 4.0][: per_rating.shape[1]]),
        score=per_rating.sum(axis=(1, 2)) + base.sum(1),
        per_rating=per_rating,
        base=base,
    )


def test_reasons_say_what_lifted_each_pick():
    one, none = [0.0, 0.0, 0.0], [-0.1, 0.0, 0.0]
    att = hand_attribution(
        [
            [[0.6, 0.2, 0.0], [0.1, 0.1, 0.0]] + [none] * 4,  # rating 10: 0.8 of 1.0 lift
            [[0.1, 0.0, 0.0], [0.1, 0.0, 0.0]] + [none] * 4,  # popularity: 0.8 of 1.0
            [[0.1, 0.0, 0.0]] * 6,  # six ratings lift it alike: 1/6 each
            [none] * 6,  # nothing lifts it
            [one] * 6,  # nothing moves it at all
        ],
        [[0.0], [0.8], [0.0], [-0.3], [0.0]],
    )
    titles = ["Alien (1979)", "Clueless (1995)"] + ["Other"] * 4
    got = reasons(att, titles)
    assert got.columns.tolist() == list(REASON_COLUMNS)
    assert got["reason"].tolist() == [
        "Because you rated Alien (1979) 5★ — 80% of why",
        "Popular with viewers",
        "Fits your overall taste: no single rating gives over 17%",
        "Fits your overall taste",
        "Fits your overall taste",
    ]
    assert got["because_id"].tolist() == [10, -1, 10, -1, -1]
    assert got["because_share"].iloc[0] == pytest.approx(0.8)


def test_the_cited_rating_is_the_one_whose_terms_lift_the_pick_most(rec):
    ratings = {50: 5.0, 172: 5.0, 181: 4.0, 1: 3.0, 98: 5.0, 127: 1.0}  # Star Wars … Godfather 1★
    ranking = rec.rank(ratings)
    got = recommend_with_reasons(rec, ranking)
    att = explain(rec, ranking, got["video_id"])
    np.testing.assert_allclose(att.score, got["score"], atol=1e-5)
    named = got[got["because_id"] >= 0]
    assert len(named) >= 5  # most picks of a clear taste have one main reason
    totals = att.total_by_rating()
    for i in named.index:
        assert att.rated_ids[totals[i].argmax()] == got.at[i, "because_id"]
        assert got.at[i, "reason"].startswith("Because you rated ")
    new_viewer = rec.rank({}, rec.query(k=5))
    assert recommend_with_reasons(rec, new_viewer)["reason"].eq("Popular with viewers").all()


def test_what_if_says_which_removal_moves_the_pick_and_which_drop_it_out(rec):
    from vidrec.attribution import Counterfactual
    from vidrec.present.why import what_if_table, what_if_text

    ids = np.array([50, 172, 181])  # Star Wars, Empire Strikes Back, Return of the Jedi
    cf = Counterfactual(video_id=1, depth=200, rank=2, rated_ids=ids, ranks_without=(14, 3, None))
    text = what_if_text(cf, rec, k=10)
    assert text.startswith("Without your rating of *Return of the Jedi (1983)* this pick would")
    assert "from #2 to below #200" in text
    assert text.endswith("top 10: *Star Wars (1977)*; *Return of the Jedi (1983)*")
    table = what_if_table(cf, rec)
    assert table["rank"].tolist() == ["> 200", "#14", "#3"]
    assert table["falls by"].tolist() == [199, 12, 1]
    still = Counterfactual(video_id=1, depth=200, rank=4, rated_ids=ids, ranks_without=(4, 4, 4))
    assert what_if_text(still, rec) == (
        "No single rating moves this pick from #4. "
        "No single rating taken away takes it out of your top 10."
    )
