"""One viewer's state in the demo: who they are, what they rated, what they added, what moved.

Plain Python (no Streamlit), so the feedback loop is testable on its own; the app keeps one
``ViewerSession`` per browser session. With a ``ViewerStore`` attached, every change is saved
before it is applied, so a failed save changes nothing and a saved change is never lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vidrec.coldstart import AddedVideo
from vidrec.data.schema import genre_list, parse_stars
from vidrec.errors import DataError, video_id_of
from vidrec.viewer.store import SavedViewer, ViewerStore

NEW, SAME = "new", "="


@dataclass
class ViewerSession:
    """A viewer: a persona, a real MovieLens user or a new viewer, plus their live ratings."""

    kind: str = "new"  # "persona" | "movielens" | "new"
    key: str = ""  # persona id or MovieLens user id
    label: str = "New viewer"
    seed: dict[int, float] = field(default_factory=dict)  # ratings the viewer started with
    ratings: dict[int, float] = field(default_factory=dict)  # oldest first, as the store
    added: list[AddedVideo] = field(default_factory=list)
    viewer_id: str = ""  # the id in the page URL; "" when not saved
    store: ViewerStore | None = field(default=None, repr=False, compare=False)
    last_update_ms: float | None = None  # server time of the latest re-rank
    _shown: tuple = ()  # (signature, ids) of the list last shown
    _before: dict[int, int] = field(default_factory=dict)  # ranks in the list before that

    @classmethod
    def start(cls, kind: str, key: str, label: str, seed: dict[int, float]) -> ViewerSession:
        """A fresh session for a viewer, starting from their seed ratings."""
        return cls(kind=kind, key=str(key), label=label, seed=dict(seed), ratings=dict(seed))

    def saved_as(self, store: ViewerStore, viewer_id: str) -> ViewerSession:
        """Save this viewer afresh under ``viewer_id``; later changes are saved as they happen."""
        store.start(viewer_id, self.kind, self.key, self.label, self.seed)  # ratings = seed
        if self.ratings != self.seed:
            store.replace_ratings(viewer_id, self.ratings)
        self.store, self.viewer_id = store, viewer_id
        return self

    @classmethod
    def restore(cls, saved: SavedViewer, store: ViewerStore, viewer_id: str, added=()):
        """A saved viewer back as it was; ``added`` are its videos re-created from their text."""
        session = cls(saved.kind, saved.key, saved.label, dict(saved.seed), dict(saved.ratings))
        session.added = list(added)
        session.store, session.viewer_id = store, viewer_id
        return session

    def rate(self, video_id: int, stars: float) -> None:
        """Record (or change) a rating of 1–5 stars; either way it becomes the newest rating."""
        vid = video_id_of(video_id)
        value = parse_stars(stars, text=True, low=1.0)  # whole-star widgets: 1–5
        if value is None:
            raise DataError(f"stars must be from 1 to 5, got {str(stars)[:40]!r}")
        if self.store is not None:
            self.store.set_rating(self.viewer_id, vid, value)
        self.ratings.pop(vid, None)  # a dict keeps a changed key in place; "newest" moves it
        self.ratings[vid] = value

    def replace(self, ratings: dict[int, float]) -> None:
        """Swap in a whole set of ratings (an import, half stars allowed): all or nothing."""
        clean = {video_id_of(v): parse_stars(s, text=True) for v, s in ratings.items()}
        bad = [v for v, s in clean.items() if s is None]
        if bad:
            raise DataError(f"stars must be from 0.5 to 5 (videos {bad[:5]})")
        if self.store is not None:
            self.store.replace_ratings(self.viewer_id, clean)
        self.ratings = clean

    def unrate(self, video_id: int) -> None:
        """Forget a rating (no error if there was none)."""
        vid = video_id_of(video_id)
        if self.store is not None:
            self.store.remove_rating(self.viewer_id, vid)
        self.ratings.pop(vid, None)

    def reset(self) -> None:
        """Back to the seed ratings, with no added videos."""
        if self.store is not None:
            self.store.reset(self.viewer_id)
        self.ratings = dict(self.seed)
        self.added = []
        self._shown, self._before = (), {}

    def forget(self) -> None:
        """Erase this viewer from the store for good; the session is left unsaved and empty."""
        if self.store is not None:
            self.store.forget(self.viewer_id)
        self.store, self.viewer_id = None, ""
        self.ratings, self.added = {}, []
        self._shown, self._before = (), {}

    def add_video(self, video: AddedVideo) -> None:
        """Keep a cold-start video for this viewer only (saved as the text that re-creates it)."""
        if self.store is not None:
            self.store.add_video(
                self.viewer_id,
                video.video_id,
                video.title,
                video.description,
                genre_list(video.genres),
            )
        self.added.append(video)

    def moves(self, signature: tuple, ids: list[int]) -> list[str]:
        """How each listed video moved since the list shown before the last change.

        ``signature`` names what the list depends on (ratings, controls); when it differs from
        the last call, the last list becomes the reference. Returns "new", "↑n", "↓n" or "=".
        """
        if self._shown and self._shown[0] != signature:
            self._before = {v: r for r, v in enumerate(self._shown[1])}
        self._shown = (signature, list(ids))
        return [_move(self._before, v, rank) for rank, v in enumerate(ids)]


def _move(before: dict[int, int], video_id: int, rank: int) -> str:
    if not before:
        return ""
    if video_id not in before:
        return NEW
    delta = before[video_id] - rank
    return f"↑{delta}" if delta > 0 else f"↓{-delta}" if delta < 0 else SAME
