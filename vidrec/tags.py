"""Tag generation from the same Transformer: zero-shot scores, and tags grounded in keywords.

Each tag has a short descriptive prompt in assets/tags.json. A video's zero-shot score for a
tag is the cosine between its embedding and the prompt's, standardised over the catalog (so a
tag whose prompt happens to sit close to everything does not fire everywhere). On their own
those scores follow loose word associations (navy → pirates), so the tags cards show are
*grounded*: backed by the film's own team-written keywords (``ZeroShotTagger.grounded``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidrec.config import ASSETS
from vidrec.errors import DataError

TAGS_FILE = ASSETS / "tags.json"
GROUPS = ("theme", "mood", "setting", "audience", "genre")
# Display threshold, in standard deviations above the catalog mean: stricter than the F1-best
# genre threshold (1.0, README), so cards show only the tags the tagger is surest of.
DEFAULT_Z = 2.0
# Grounded tags (catalog cards): a film's own team-written keyword backs a tag when it says the
# same thing as the tag's name (cosine ≥ SAME, in practice the same words), or says something
# close (≥ NEAR) while the whole text's zero-shot reading also clears DEFAULT_Z. Chosen by
# reading twelve films drawn with another seed (one, Breakfast at Tiffany's, is also in the
# audit sample); the audit (results/tag_audit.csv) measures them.
SAME, NEAR = 0.85, 0.7
SHOWN = 3  # tags per card, at most
# Scores are compared on a grid of this many decimals: a keyword equal to a tag's name scores 1.0
# give or take 1e-7, and that noise moves with BLAS threads and CPU, so comparing raw floats let
# the order of tied tags, and which of them made the cut, differ from machine to machine.
DECIMALS = 3


@dataclass(frozen=True)
class Tag:
    """One vocabulary entry; ``genre`` names the MovieLens genre it stands for, if any."""

    tag: str
    group: str
    prompt: str
    genre: str | None = None
    aliases: tuple[str, ...] = ()  # other words a keyword may use for the same thing


def load_vocabulary(path: Path = TAGS_FILE) -> list[Tag]:
    """The curated tags, validated (unique names, known groups, non-empty prompts)."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))["tags"]
        tags = [
            Tag(t["tag"], t["group"], t["prompt"], t.get("genre"), tuple(t.get("aliases", ())))
            for t in raw
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"cannot read the tag vocabulary {path}: {exc}") from exc
    names = [t.tag for t in tags]
    if len(set(names)) != len(names):
        raise DataError(f"{path}: tag names must be unique")
    bad = [
        t.tag
        for t in tags
        if t.group not in GROUPS
        or not t.prompt.strip()
        or not all(isinstance(a, str) and a.strip() for a in t.aliases)
    ]
    if bad:
        raise DataError(f"{path}: bad group, empty prompt or alias for {', '.join(bad[:5])}")
    return tags


def tag_texts(vocabulary: Sequence[Tag]) -> list[str]:
    """What a tagger embeds: every prompt, then every name, then every alias."""
    aliases = [a for t in vocabulary for a in t.aliases]
    return [t.prompt for t in vocabulary] + [t.tag for t in vocabulary] + aliases


class ZeroShotTagger:
    """Scores videos against every tag prompt; per-tag mean/std come from a reference catalog."""

    def __init__(
        self,
        vocabulary: Sequence[Tag],
        tag_embeddings: np.ndarray,
        z: float = DEFAULT_Z,
        name_embeddings: np.ndarray | None = None,
        alias_embeddings: np.ndarray | None = None,
    ):
        self.vocabulary = list(vocabulary)
        self.tag_embeddings = tag_embeddings  # (n_tags, dim) unit rows: the prompts
        self.name_embeddings = name_embeddings  # (n_tags, dim) unit rows: the names, if read
        self.alias_embeddings = alias_embeddings  # (n_aliases, dim), in vocabulary order
        self.alias_owner = np.array(
            [i for i, t in enumerate(self.vocabulary) for _ in t.aliases], dtype=np.int64
        )  # (n_aliases,) the tag each alias row stands for
        self.z = z
        self.mean = np.zeros(len(vocabulary), np.float32)
        self.std = np.ones(len(vocabulary), np.float32)

    @classmethod
    def from_encoder(cls, encoder, vocabulary: Sequence[Tag], z: float = DEFAULT_Z):
        """Embed each tag's prompt, name and aliases with the catalog's encoder."""
        return cls.from_vectors(vocabulary, encoder.encode(tag_texts(vocabulary)), z)

    @classmethod
    def from_vectors(cls, vocabulary: Sequence[Tag], out: np.ndarray, z: float = DEFAULT_Z):
        """The tagger from tag_texts(vocabulary) already embedded (e.g. read from a cache)."""
        n = len(vocabulary)  # out: (2 · n_tags + n_aliases, dim)
        return cls(vocabulary, out[:n], z, out[n : 2 * n], out[2 * n :])

    def calibrate(self, embeddings: np.ndarray) -> ZeroShotTagger:
        """Per-tag mean and spread of cosine scores over a catalog: the tag's own baseline."""
        raw = embeddings @ self.tag_embeddings.T  # (n, n_tags)
        self.mean, self.std = raw.mean(axis=0), np.maximum(raw.std(axis=0), 1e-6)
        return self

    def scores(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, n_tags) standardised scores: how unusually close each video is to each tag."""
        return (np.atleast_2d(embeddings) @ self.tag_embeddings.T - self.mean) / self.std

    def tag(self, embeddings: np.ndarray, top: int = 5, exclude_genres: bool = True):
        """Per video, up to ``top`` (tag, score) pairs that clear the threshold, best first.

        Genre tags are left out by default: the catalog already lists genres.
        """
        z = on_grid(self.scores(embeddings))
        usable = np.array([not (exclude_genres and t.genre) for t in self.vocabulary])
        out = []
        for row in z:
            # equal scores keep vocabulary order (a stable sort), so ties break the same everywhere
            order = [i for i in np.argsort(-row, kind="stable") if usable[i] and row[i] >= self.z]
            out.append([(self.vocabulary[i].tag, float(row[i])) for i in order[:top]])
        return out

    def grounded(self, embeddings: np.ndarray, keywords, encode, top: int = SHOWN):
        """Per video, up to ``top`` (tag, backing) pairs its own keywords back, best first.

        A video without keywords gets none: a guess from the text alone was right about one
        time in four on the cards (audit in docs/evaluation.md), and no tag beats a wrong one. Genre
        tags are left out: the card lists genres already. A keyword backs only its nearest tag.
        Scores are compared on the ``DECIMALS`` grid, and tags backed equally keep vocabulary
        order (themes before moods before settings), so every machine shows the same card.
        """
        vocab = sorted({k for words in keywords for k in words})
        if not vocab or self.name_embeddings is None:
            return [[] for _ in keywords]
        at = {k: i for i, k in enumerate(vocab)}
        words = encode(vocab)  # (n_keywords, dim)
        match = words @ self.name_embeddings.T  # (n_keywords, n_tags)
        # a tag is backed by its name or any of its aliases
        if len(self.alias_owner) and self.alias_embeddings is not None:
            np.maximum.at(match.T, self.alias_owner, (words @ self.alias_embeddings.T).T)
        match = on_grid(match)
        # a keyword backs only the tag it is closest to: "1930s" must not back "1920s" too
        nearest = match.argmax(axis=1)  # (n_keywords,) the first of equals: vocabulary order
        match = np.where(np.arange(match.shape[1]) == nearest[:, None], match, 0.0)
        z = on_grid(self.scores(embeddings))  # (n, n_tags)
        usable = np.array([t.genre is None for t in self.vocabulary])
        out = []
        for row, words in zip(z, keywords):
            backing = match[[at[k] for k in words]].max(axis=0) if words else np.zeros(len(row))
            agreed = (backing >= SAME) | ((backing >= NEAR) & (row >= self.z))
            order = [i for i in np.argsort(-backing, kind="stable") if usable[i] and agreed[i]]
            out.append([(self.vocabulary[i].tag, float(backing[i])) for i in order[:top]])
        return out

    def genre_predictions(self, embeddings: np.ndarray, z: float | None = None) -> list[set[str]]:
        """MovieLens genres predicted through the genre tags (for measuring the tagger).

        Raw scores here: a threshold alone has no ties to break, and a grid would only move
        the cut by half a step (and the recorded tag F1 with it).
        """
        scores = self.scores(embeddings)
        cut = self.z if z is None else z
        genre_cols = [(i, t.genre) for i, t in enumerate(self.vocabulary) if t.genre]
        return [{g for i, g in genre_cols if row[i] >= cut} for row in scores]


def on_grid(scores: np.ndarray) -> np.ndarray:
    """Scores rounded to ``DECIMALS`` (in float64), so equal-in-meaning scores compare equal."""
    return np.round(np.asarray(scores, dtype=np.float64), DECIMALS)


def f1_scores(predicted: Sequence[set[str]], truth: Sequence[set[str]], labels: Sequence[str]):
    """Micro and macro F1 of multi-label predictions."""
    tp = {g: 0 for g in labels}
    fp, fn = dict(tp), dict(tp)
    for pred, true in zip(predicted, truth):
        for g in labels:
            tp[g] += g in pred and g in true
            fp[g] += g in pred and g not in true
            fn[g] += g not in pred and g in true
    micro = _f1(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    macro = float(np.mean([_f1(tp[g], fp[g], fn[g]) for g in labels]))
    return {"micro_f1": micro, "macro_f1": macro}


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0
