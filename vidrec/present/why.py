"""The exact split and the what-ifs in words and tables, for the app and the command line.

vidrec.attribution computes; this module only phrases and lays out what it computed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vidrec.attribution import BASE, PARTS, Attribution, Counterfactual
from vidrec.present.style import signed
from vidrec.recommender import HybridRecommender


def top_terms(att: Attribution, i: int, rec: HybridRecommender, n: int = 3) -> list[dict]:
    """Video i's n largest per-rating terms (title, stars, contribution): compact JSON."""
    totals = att.total_by_rating()[i]  # (m,)
    titles = _titles(rec, att.rated_ids)
    order = np.argsort(-totals, kind="stable")[:n]
    return [
        {"title": str(titles[j]), "stars": float(att.stars[j]), "contribution": round(totals[j], 4)}
        for j in order
    ]


def split_table(att: Attribution, what_if: Counterfactual, rec: HybridRecommender) -> pd.DataFrame:
    """One video's score, one row per rating and one per base term: the rows add up to it.

    ``rank_without`` is where the video would rank after taking that rating away (a re-fold).
    """
    parts = att.per_rating[0]  # (m, 3)
    titles = _titles(rec, att.rated_ids)
    rows = pd.DataFrame({"term": [f"{t} {s:g}★" for t, s in zip(titles, att.stars)]})
    for name, column in zip(PARTS, parts.T):
        rows[name] = column
    rows["total"] = parts.sum(axis=1)
    rows["rank_without"] = pd.array(what_if.ranks_without, dtype="Int64")
    rows = rows.sort_values("total", ascending=False, kind="stable")
    base = pd.DataFrame({"term": [f"{b} prior" for b in BASE], "total": att.base[0]})
    return pd.concat([rows, base], ignore_index=True)


def what_if_text(cf: Counterfactual, rec: HybridRecommender, k: int = 10) -> str:
    """The what-if in words: the removal that moves the pick most, and those that drop it out."""
    if cf.rank is None or not len(cf.rated_ids):
        return "This video is not in your list; there is nothing to take away."
    titles = _titles(rec, cf.rated_ids)
    fallen = [(r or cf.depth + 1) for r in cf.ranks_without]
    j = int(np.argmax(fallen))
    where = f"#{cf.ranks_without[j]}" if cf.ranks_without[j] else f"below #{cf.depth}"
    head = (
        f"Without your rating of *{titles[j]}* this pick would move from #{cf.rank} to {where}."
        if fallen[j] != cf.rank
        else f"No single rating moves this pick from #{cf.rank}."
    )
    out = [t for t, r in zip(titles, fallen) if r > k]
    if out:
        return f"{head} Taking away any one of these takes it out of your top {k}: " + "; ".join(
            f"*{t}*" for t in out
        )
    return f"{head} No single rating taken away takes it out of your top {k}."


def what_if_table(cf: Counterfactual, rec: HybridRecommender) -> pd.DataFrame:
    """Each rated video, the pick's rank without it, and the change (+ = falls)."""
    titles = _titles(rec, cf.rated_ids)
    without = pd.array(cf.ranks_without, dtype="Int64")
    frame = pd.DataFrame({"without your rating of": titles, "rank": without})
    frame["falls by"] = frame["rank"].fillna(cf.depth + 1) - (cf.rank or 0)
    frame["rank"] = [f"#{r}" if pd.notna(r) else f"> {cf.depth}" for r in without]
    return frame.sort_values("falls by", ascending=False, kind="stable").reset_index(drop=True)


def _titles(rec: HybridRecommender, video_ids) -> np.ndarray:
    """Titles of catalog videos, in the order given."""
    return rec.catalog["title"].to_numpy()[rec.videos.rows_of(video_ids)]


PART_NAMES = ("content", "collaborative", "popularity")  # a card's three score parts


def part_shares(content: float, collab: float, popular: float) -> str:
    """A pick's score parts as shares of what lifts it: "collaborative 91% · content 9%".

    Each part is measured against the average candidate, so a part can hold a pick back; those
    are named after the lifting shares. Exact numbers belong in a tooltip (part_numbers).
    """
    parts = dict(zip(PART_NAMES, (content, collab, popular)))
    lift = sum(v for v in parts.values() if v > 0)
    up = sorted(((v, k) for k, v in parts.items() if v > 0), key=lambda p: (-p[0], p[1]))
    down = [k for k, v in parts.items() if float(signed(v, 2)) < 0]  # not those that round to 0
    held = f"held back by {' and '.join(down)}" if down else ""
    if not lift:
        return held or "no part lifts it above the average candidate"
    text = "lifted by " + " · ".join(f"{name} {v / lift:.0%}" for v, name in up)
    return f"{text}; {held}" if held else text


def part_numbers(content: float, collab: float, popular: float) -> str:
    """The exact parts in score units (z-scores over the candidates, weighted), for a tooltip."""
    values = (content, collab, popular)
    shown = " + ".join(f"{name} {signed(v, 2)}" for name, v in zip(PART_NAMES, values))
    return f"score {signed(sum(values), 2)} = {shown}, in weighted z-scores over the candidates"
