"""One viewer's state in the demo: who they are, what they rated, what they added, what moved.

Plain Python (no Streamlit), so the feedback loop is testable on its own; the app keeps one
``ViewerSession`` per browser session.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from vidrec.coldstart import AddedVideo
from vidrec.errors import DataError

NEW, SAME = "new", "="


@dataclass
class ViewerSession:
    """A viewer: a persona, a real MovieLens user or a new viewer, plus their live ratings."""

    kind: str = "new"  # "persona" | "movielens" | "new"
    key: str = ""  # persona id or MovieLens user id
    label: str = "New viewer"
    seed: dict[int, float] = field(default_factory=dict)  # ratings the viewer started with
    ratings: dict[int, float] = field(default_factory=dict)
    added: list[AddedVideo] = field(default_factory=list)
    last_update_ms: float | None = None  # server time of the latest re-rank
    _shown: tuple = ()  # (signature, ids) of the list last shown
    _before: dict[int, int] = field(default_factory=dict)  # ranks in the list before that

    @classmethod
    def start(cls, kind: str, key: str, label: str, seed: dict[int, float]) -> ViewerSession:
        """A fresh session for a viewer, starting from their seed ratings."""
        return cls(kind=kind, key=str(key), label=label, seed=dict(seed), ratings=dict(seed))

    def rate(self, video_id: int, stars: float) -> None:
        """Record (or change) a rating of 1–5 stars."""
        value = float(stars)
        if not math.isfinite(value) or not 1 <= value <= 5:
            raise DataError(f"stars must be from 1 to 5, got {stars!r}")
        self.ratings[int(video_id)] = value

    def unrate(self, video_id: int) -> None:
        """Forget a rating (no error if there was none)."""
        self.ratings.pop(int(video_id), None)

    def reset(self) -> None:
        """Back to the seed ratings, with no added videos."""
        self.ratings = dict(self.seed)
        self.added = []
        self._shown, self._before = (), {}

    def add_video(self, video: AddedVideo) -> None:
        """Keep a cold-start video in this session only."""
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
