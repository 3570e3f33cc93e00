"""One evaluation run: every protocol on the same data, rows ready for results.save."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vidrec.artifacts import load_artifacts, make_encoder, recommender_from
from vidrec.config import Config
from vidrec.evaluation import slices
from vidrec.evaluation.baselines import require, surprise_predictors
from vidrec.evaluation.cold import (
    among_all,
    evaluate_cold,
    evaluate_cold_titles_only,
    scale_curve,
)
from vidrec.evaluation.dislikes import dislike_rows
from vidrec.evaluation.fidelity import fidelity_rows
from vidrec.evaluation.stars import cross_validate, vidrec_predictor
from vidrec.evaluation.tags import evaluate_tagger
from vidrec.evaluation.topk import evaluate, fit_split
from vidrec.mf import warm_up
from vidrec.tags import load_vocabulary


def run_eval(
    config: Config,
    sweep: bool = True,
    baselines: bool = True,
    folds: int = 5,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[dict]:
    """Every protocol on the same data in one run: A (top-K) with the blend chosen on validation
    and its slices (few-ratings viewers, long tail, two more seeds), B (stars CV), C (cold), tags,
    the fidelity of the cards' reasons, and whether a 1★ pushes its neighbours away.
    """
    if baselines:
        require()
    say = progress or (lambda s, d, n: None)
    alphas = np.round(np.linspace(0, 1, 11), 2) if sweep else ()
    arts = load_artifacts(config, progress=say)
    say("Loading the compiled MF kernels", 0, 1)
    warm_up()  # the fits below are timed against implicit's and Surprise's: not numba's compile
    weights = {0.0, 1.0, config.item_item_weight, *slices.WEIGHTS}
    fitted = fit_split(arts, config, say, weights=weights)
    chosen, grid = slices.choose_on_validation(arts, fitted, config, say)
    tuned = config.replace(**chosen)  # the hybrid rows below use what validation chose
    fitted = slices.tuned(fitted, chosen)
    rows = evaluate(tuned, alphas=alphas, baselines=baselines, progress=say, fitted=fitted)
    rows.append(slices.mapped_row(fitted, tuned))
    rows += slices.raw_rows(fitted, tuned)
    rows += grid + slices.few_ratings(fitted, tuned, chosen)
    rows += slices.other_seeds(arts, tuned, chosen, say)
    ratings = arts.dataset.ratings
    stars_only = config.replace(
        mf_observed_weight=0.0, mf_unobserved_weight=0.0, mf_rating_weight=1.0
    )
    predictors = {
        "hybrid": vidrec_predictor(arts.dataset, config),
        "explicit MF (stars only)": vidrec_predictor(arts.dataset, stars_only),
    }
    if baselines:
        predictors.update(surprise_predictors())
    for i, (name, predict) in enumerate(predictors.items()):
        say("Protocol B: 5-fold cross-validation", i, len(predictors))
        rows.append(cross_validate(name, predict, ratings, folds))
    rows += evaluate_cold(arts, config)
    if config.dataset == "ml-100k" and config.synopses:  # only there does text give anything away
        rows += evaluate_cold(arts, config, synopsis_only=True)
        rows += evaluate_cold_titles_only(arts, config)
        rows += among_all(arts, fitted, tuned)
        say("C-all on validation: the read factors scaled", 0, 1)
        inner = slices.validation_fit(arts, fitted, tuned, weights=(tuned.item_item_weight,))
        rows += scale_curve(arts, inner, tuned)
    if config.dataset == "ml-100k":  # the personas are MovieLens films
        say("Explanation fidelity: the app's engine, ratings taken away", 0, 1)
        engine = recommender_from(arts, None, tuned)
        rows += fidelity_rows(engine, arts.dataset.ratings)
        rows += dislike_rows(engine, arts.dataset.ratings)
    if (arts.dataset.catalog["description"].str.len() > 0).any():
        rows += evaluate_tagger(make_encoder(config), arts.dataset.catalog, load_vocabulary())
    return rows
