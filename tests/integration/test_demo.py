"""Tests for vidrec.viewer.demo: the collaborative map and the taste trail, on the tiny catalog."""

from __future__ import annotations

import numpy as np
import pytest

from vidrec.coldstart import new_video, next_video_id, with_videos
from vidrec.viewer.demo import load_demo


@pytest.fixture(scope="module")
def demo(tiny_built):
    return load_demo(tiny_built)


def test_the_collaborative_map_is_a_pca_of_the_item_factors(demo):
    factors = demo.rec.mf.float_factors()  # (n_items, d)
    assert demo.collab_coords.shape == (len(demo.rec.catalog), 2)
    np.testing.assert_allclose(demo.collab_coords, demo.collab_projection.transform(factors))
    distances = np.linalg.norm(factors - demo.collab_projection.mean, axis=1)
    assert distances.mean() < demo.collab_radius <= distances.max()  # drawn among outer items


def test_a_viewer_is_placed_by_direction_alone(demo):
    u = np.random.default_rng(0).normal(size=(1, demo.rec.mf.params.factors))  # (1, d)
    xy = demo.place(u)  # (1, 2)
    np.testing.assert_allclose(demo.place(0.01 * u), xy)  # the fold-in's shrinkage moves nothing
    unit = u[0] / np.linalg.norm(u[0])
    np.testing.assert_allclose(xy[0], demo.collab_radius * demo.collab_projection.components @ unit)


def test_the_trail_refolds_after_each_rating_in_rating_order(demo):
    ratings = {7: 5.0, 1: 4.0, 4: 1.0}  # in the order rated
    profile = demo.rec.profile(ratings)
    trail = demo.taste_trail(demo.rec, profile)
    assert trail.steps == [1, 2, 3]
    assert trail.rows == demo.rec.videos.rows_of([7, 1, 4]).tolist()
    first = demo.rec.profile({7: 5.0}).collab.preference
    np.testing.assert_allclose(trail.xy[0], demo.place(first[None])[0], atol=1e-6)
    np.testing.assert_allclose(trail.xy[-1], demo.place(profile.collab.preference[None])[0])


def test_the_trail_keeps_only_the_last_steps(demo):
    profile = demo.rec.profile({7: 5.0, 1: 4.0, 4: 1.0, 2: 3.0})
    trail = demo.taste_trail(demo.rec, profile, steps=2)
    assert trail.steps == [3, 4] and trail.rows == demo.rec.videos.rows_of([4, 2]).tolist()
    assert trail.xy.shape == (2, 2)


def test_a_viewer_without_ratings_has_no_trail(demo):
    trail = demo.taste_trail(demo.rec, demo.rec.profile({}))
    assert trail.xy.shape == (0, 2) and trail.steps == [] and trail.rows == []


def test_added_videos_join_both_maps_by_the_same_projections(demo):
    video = new_video(demo.rec, "Night Train", "A heist on a train.", ["Action"],
                      next_video_id(demo.rec, []), tagger=demo.tagger)  # fmt: skip
    rec = with_videos(demo.rec, [video])
    n = len(demo.rec.catalog)
    collab, content = demo.collab_map(rec), demo.content_map(rec)
    assert collab.shape == content.shape == (n + 1, 2)
    np.testing.assert_allclose(collab[:n], demo.collab_coords)
    new_factors = rec.mf.float_factors()[n:]  # (1, d): mapped from the video's embedding
    np.testing.assert_allclose(collab[n:], demo.collab_projection.transform(new_factors))
    np.testing.assert_allclose(content[n:], demo.projection.transform(rec.embeddings[n:]))
    assert demo.collab_map(demo.rec) is demo.collab_coords  # nothing added: nothing copied
