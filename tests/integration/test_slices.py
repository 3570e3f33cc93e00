"""Evaluation slices: few-ratings viewers, the long tail, validation-chosen blend, other seeds."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from vidrec.artifacts import load_artifacts
from vidrec.evaluation import report, slices
from vidrec.evaluation.topk import (
    SplitModels,
    fit_split,
    popularity_top,
    tail_metrics,
    tail_relevant,
)


def test_cut_keeps_n_random_training_ratings_and_hides_the_rest():
    history = {1: {10: 5.0, 11: 4.0, 12: 3.0, 13: 1.0}, 2: {20: 4.0}, 3: {30: 2.0, 31: 5.0}}
    relevant = {1: {99}, 2: {98}, 3: {97}}
    kept, hidden = slices._cut(history, relevant, 2, np.random.default_rng(0))
    assert set(kept) == {1, 3}  # user 2 has only one training rating: not in the N = 2 slice
    for user in kept:
        assert len(kept[user]) == 2
        assert set(kept[user]) | hidden[user] == set(history[user])
        assert not set(kept[user]) & hidden[user]
        assert all(history[user][v] == s for v, s in kept[user].items())  # stars kept as given
    again, _ = slices._cut(history, relevant, 2, np.random.default_rng(0))
    assert again == kept


def test_shown_lists_skip_hidden_training_films_and_keep_ten():
    order = np.arange(100, 130)
    rec = SimpleNamespace(top_ids=lambda profile, k, alpha: order[:k])
    hidden = {100, 102, 104}
    assert slices._shown(rec, None, 0.0, hidden) == [101, 103, *range(105, 113)]


def test_popular_lists_skip_every_seen_film():
    rec = SimpleNamespace(video_ids=np.array([1, 2, 3, 4, 5]),
                          popularity=np.array([5.0, 4.0, 3.0, 2.0, 1.0]))  # fmt: skip
    top = popularity_top(rec, {7: {1, 3}}, {7: {5}})
    assert top == {7: [2, 4, 5]}


def _frame(pairs):
    return pd.DataFrame(pairs, columns=["user_id", "video_id"]).assign(rating=4.0)


def _fitted(train_pairs, test_pairs):
    return SplitModels(_frame(train_pairs), _frame(test_pairs), None, {}, 0.0)


def test_tail_is_held_out_films_with_at_most_twenty_training_ratings():
    head = [(u, 1) for u in range(21)]  # film 1: 21 training ratings, not tail
    tail = [(u, 2) for u in range(20)]  # film 2: 20, tail
    fitted = _fitted(head + tail, [(100, 1), (100, 2), (101, 1), (102, 3)])  # film 3: never trained
    assert tail_relevant(fitted) == {100: {2}, 102: {3}}  # user 101 held out no tail film
    m = tail_metrics({100: [2, 1], 101: [1], 102: [1, 4]}, tail_relevant(fitted))
    assert m["tail_recall@10"] == pytest.approx(0.5)  # user 100 found its tail film, 102 not
    assert m["tail_ndcg@10"] == pytest.approx(0.5)


def chosen_prior(chosen):
    return {k: chosen[k] for k in slices.PRIOR}


def test_validation_choice_is_the_best_grid_point_and_never_reads_the_test(tiny_built):
    arts = load_artifacts(tiny_built)
    fitted = fit_split(arts, tiny_built, weights={0.0, 1.0, *slices.WEIGHTS})
    poisoned = SplitModels(fitted.train, fitted.test.iloc[0:0], fitted.split, fitted.recs, 0.0)
    chosen, rows = slices.choose_on_validation(arts, poisoned, tiny_built)  # no test ratings
    grid = [r for r in rows if r["protocol"].startswith("V:")]
    priors = [r for r in rows if r["protocol"].startswith("V-prior")]
    leans = [r for r in rows if r["protocol"].startswith("V-lean")]
    assert len(grid) == len(slices.WEIGHTS) * len(slices.DISLIKES) * len(slices.ALPHAS)
    assert len(priors) == len(slices.PRIOR_WEIGHTS) * len(slices.PRIOR_FADES)
    assert [r["alpha_new"] for r in leans] == list(slices.ALPHA_NEWS)
    assert len(grid) + len(priors) + len(leans) == len(rows)
    # the prior, then a new viewer's α: the best mean nDCG@10 over viewers cut to 1, 3, 5 ratings
    prior = max(priors, key=lambda r: r["ndcg@10"])
    assert {k: chosen[k] for k in slices.PRIOR} == {k: prior[k] for k in slices.PRIOR}
    assert [r for r in priors if r.get("chosen")] == [prior]
    lean = max(leans, key=lambda r: r["ndcg@10"])
    assert chosen["alpha_new"] == lean["alpha_new"]
    assert [r for r in leans if r.get("chosen")] == [lean]
    # α 0 for a new viewer is the prior's own row: the same engine, the same lists
    assert leans[0]["ndcg@10"] == next(
        r["ndcg@10"] for r in priors if {k: r[k] for k in slices.PRIOR} == chosen_prior(chosen)
    )
    # the rule: the best liked nDCG among points within TOLERANCE of the best all-ratings nDCG
    top = max(r["ndcg@10"] for r in grid)
    near = [r for r in grid if r["ndcg@10"] >= top - slices.TOLERANCE]
    best = max(near, key=lambda r: r["liked_ndcg@10"])
    assert {k: chosen[k] for k in slices.BLEND} == {k: best[k] for k in slices.BLEND}
    assert [r for r in grid if r.get("chosen")] == [best]
    assert report.chosen({"rows": rows}) == best
    # the split's engines then rank at the chosen settings, α included (C-all uses their own)
    engines = slices.tuned(fitted, {**chosen, "alpha": 0.2})
    assert {r.config.alpha for r in engines.recs.values()} == {0.2}


def test_few_ratings_rows_per_n_and_method(tiny_built):
    arts = load_artifacts(tiny_built)
    fitted = fit_split(arts, tiny_built, weights={0.0, 1.0, *slices.WEIGHTS})
    rows = slices.few_ratings(fitted, tiny_built, {"alpha": 0.3, "item_item_weight": 0.0})
    assert {(r["n_ratings"], r["method"]) for r in rows} <= {
        (n, m) for n in slices.FEW for m in report.FEW_METHODS
    }
    assert all(0 <= r["ndcg@10"] <= 1 and 0 <= r["recall@10"] <= 1 for r in rows)
    assert {r["method"] for r in rows} == set(report.FEW_METHODS)
    frame = report.few_ratings({"rows": rows})
    assert list(frame.columns[:2]) == ["ratings per viewer", "viewers"]
    assert sorted(frame["ratings per viewer"]) == sorted({r["n_ratings"] for r in rows})


def test_few_ratings_table_by_hand():
    """The lead column against numbers worked on paper (it used to re-derive its own formula)."""
    rows = [
        {"protocol": "F", "n_ratings": n, "users": u, "method": m, "ndcg@10": v}
        for n, u, values in [(1, 30, (0.2, 0.25)), (3, 20, (0.3, 0.30012)), (5, 10, (0.0, 0.1))]
        for m, v in zip(("collaborative", "hybrid"), values)
    ] + [{"protocol": "A", "method": "hybrid", "ndcg@10": 0.9}]  # not a few-ratings row
    frame = report.few_ratings({"rows": rows})
    assert frame.columns.tolist() == [
        "ratings per viewer",
        "viewers",
        "collaborative",
        "hybrid",
        "hybrid vs collaborative",
    ]
    assert frame["ratings per viewer"].tolist() == [1, 3, 5]
    assert frame["viewers"].tolist() == [30, 20, 10]
    # 0.25 / 0.2 = +25%; 0.30012 / 0.3 = +0.04%, under the 0.05% shown; 0.1 / 0 has no ratio
    assert frame["hybrid vs collaborative"].tolist() == ["+25.0%", "±0.0%", "–"]
    assert report.few_ratings({"rows": rows[-1:]}).empty


def test_seed_table_puts_seed_42_beside_the_others():
    rows = [
        {"protocol": "A: 75/25 by item, seed 42", "method": "mf + item-item", "ndcg@10": 0.50},
        {"protocol": "A: 75/25 by item, seed 42", "method": "content", "ndcg@10": 0.12},
        {"protocol": "A: 75/25 by item, seed 42", "method": "hybrid", "ndcg@10": 0.51},
        {"protocol": "A: 75/25 by item, seed 42", "method": "mf", "ndcg@10": 0.49},  # not shown
        {"protocol": "S: seed 43", "seed": 43, "method": "collaborative", "ndcg@10": 0.48},
        {"protocol": "S: seed 43", "seed": 43, "method": "content", "ndcg@10": 0.11},
        {"protocol": "S: seed 43", "seed": 43, "method": "hybrid", "ndcg@10": 0.47},
    ]
    frame = report.seeds({"rows": rows})
    assert frame["seed"].tolist() == [42, 43]
    assert frame["hybrid − collaborative"].round(6).tolist() == [0.01, -0.01]
    assert report.seeds({"rows": rows[:4]}).empty  # seed 42 alone is no spread


def test_mapped_content_ranks_unseen_films_by_mapped_factors(tiny_built):
    arts = load_artifacts(tiny_built)
    fitted = fit_split(arts, tiny_built)
    rec = fitted.recs[tiny_built.item_item_weight]
    user, seen = next((u, h) for u, h in fitted.history.items() if len(h) >= 2)
    kept = dict(list(seen.items())[:1])
    hidden = {user: set(seen) - set(kept)}
    (top,) = slices.mapped_content(rec, {user: rec.profile(kept)}, hidden).values()
    assert not set(top) & set(seen)  # neither the kept rating nor the hidden training films
    catalog = rec.catalog
    factors, _ = slices.content_map(rec).predict(rec.embeddings, catalog["genres"], catalog["year"])
    scores = factors[rec.videos.rows_of(top)] @ rec.profile(kept).collab.preference
    assert list(scores) == sorted(scores, reverse=True)
    row = slices.mapped_row(fitted, tiny_built)
    assert row["method"] == slices.MAPPED and 0 <= row["ndcg@10"] <= 1 and "tail_recall@10" in row
