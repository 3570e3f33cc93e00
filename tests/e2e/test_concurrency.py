"""Eight viewers' sessions on threads share one Demo: own ratings only, shared bytes unchanged.

Streamlit runs each browser session's script on its own thread against the cached Demo; this
drives the same library calls a rerun makes (fold-in, rank, explain, search, add a video) from
eight threads at once. (AppTest itself cannot run on threads: it swaps a process-wide mock
runtime per run; tests/e2e/test_browser_concurrent.py drives eight real tabs instead.)
"""

import hashlib
from concurrent.futures import ThreadPoolExecutor

import faiss
import numpy as np

from vidrec.coldstart import new_video, next_video_id, with_videos
from vidrec.viewer.demo import load_demo
from vidrec.viewer.session import ViewerSession
from vidrec.viewer.store import ViewerStore, new_viewer_id

VIEWERS, RATINGS = 8, 20


def fingerprint(demo) -> dict[str, str]:
    """SHA-256 of every shared object's bytes: catalog, embeddings, index, MF, item-item, map."""
    rec, mf = demo.rec, demo.rec.mf
    parts = {
        "catalog": rec.catalog.to_csv(index=False).encode(),
        "embeddings": np.ascontiguousarray(rec.embeddings).tobytes(),
        "index": faiss.serialize_index(rec.index._index).tobytes(),
        "mf": b"".join(t.numpy().tobytes() for t in (mf.item_factors, mf.item_bias)),
        "item_item": rec.item_item.weights.tobytes(),
        "coords": np.ascontiguousarray(demo.coords).tobytes(),
    }
    return {k: hashlib.sha256(v).hexdigest() for k, v in parts.items()}


def viewer(demo, store: ViewerStore, i: int) -> tuple[ViewerSession, list[int]]:
    """One viewer: a persona, rating the top card again and again, searching, adding a video."""
    persona = demo.personas[i % len(demo.personas)]
    seed = demo.persona_ratings[persona.id]
    session = ViewerSession.start("persona", persona.id, persona.name, seed)
    session.saved_as(store, new_viewer_id())
    for j in range(RATINGS):
        top = demo.rec.recommend(session.ratings, k=10)
        session.rate(int(top["video_id"].iloc[j % 10]), 1 + (i + j) % 5)
        demo.rec.attention(session.ratings, top["video_id"].tolist())
        demo.rec.videos.search(f"{persona.name} night {j}", k=5)
    video = new_video(demo.rec, f"Viewer {i} film", "A heist on a train.", ["Action"],
                      next_video_id(demo.rec, []), tagger=demo.tagger)  # fmt: skip
    session.add_video(video)
    mine = with_videos(demo.rec, session.added).recommend(session.ratings, k=10)
    return session, mine["video_id"].tolist()


def test_eight_threads_share_the_engine_without_leaks(built_config, tmp_path):
    demo = load_demo(built_config)
    store = ViewerStore(tmp_path / "viewers.sqlite3")
    before = fingerprint(demo)
    with ThreadPoolExecutor(VIEWERS) as pool:
        results = list(pool.map(lambda i: viewer(demo, store, i), range(VIEWERS)))
    assert fingerprint(demo) == before
    for session, shown in results:
        assert store.load(session.viewer_id).ratings == session.ratings
        alone = with_videos(demo.rec, session.added).recommend(session.ratings, k=10)
        assert shown == alone["video_id"].tolist()  # the same list as with nobody else around
        assert len(session.ratings) == len(session.seed) + RATINGS
    assert len({tuple(shown) for _, shown in results}) > VIEWERS // 2
