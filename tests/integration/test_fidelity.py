"""Explanation fidelity on the real build: the cited rating is the one whose removal hurts."""

import pytest

from vidrec.artifacts import load_artifacts, recommender_from
from vidrec.evaluation import fidelity, report


@pytest.fixture(scope="module")
def rows(built_config):
    arts = load_artifacts(built_config)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fidelity, "ML_VIEWERS", 10)  # the personas and 10 users keep it quick
        return fidelity.fidelity_rows(recommender_from(arts, None, built_config),
                                      arts.dataset.ratings)  # fmt: skip


def test_the_cited_rating_comes_close_to_the_best_possible_and_beats_chance(rows):
    by = {r["method"]: r for r in rows}
    assert list(by) == list(fidelity.CHOICES) and {r["picks"] for r in rows} == {60}
    best, cited = by["best possible"], by["cited by the card"]
    for other in rows:  # the best single removal is an upper bound for every choice
        assert other["mean_rank_after"] <= best["mean_rank_after"]
        assert other["left_top10"] <= best["left_top10"]
    assert cited["mean_rank_after"] >= 0.8 * best["mean_rank_after"]
    assert cited["mean_rank_after"] > by["random rating"]["mean_rank_after"]
    assert cited["mean_rank_after"] > by["content-nearest rating"]["mean_rank_after"]


def test_the_report_table_shows_the_four_rows(rows):
    table = report.fidelity({"rows": rows})
    assert table["rating taken away"].tolist() == list(fidelity.CHOICES)
    assert table["left the top 10"].str.endswith("%").all()
