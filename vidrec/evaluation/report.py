"""Results as tables: the same frames feed docs/evaluation.md and the app's Evaluation view."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from vidrec.errors import DataError
from vidrec.evaluation import results
from vidrec.evaluation.tag_audit import AUDIT_FILE, load_audit, summary

TOP_K = {
    "method": "method",
    "ndcg@10": "nDCG@10",
    "liked_ndcg@10": "liked nDCG@10",
    "disliked@10": "disliked@10",
    "precision@10": "P@10",
    "recall@10": "R@10",
    "map@10": "MAP@10",
    "coverage": "coverage",
    "diversity": "diversity",
    "rmse": "RMSE",
    "tail_recall@10": "tail R@10",
    "tail_ndcg@10": "tail nDCG",
    "fit_seconds": "fit s",
}
FEW_METHODS = ("popularity", "collaborative", "content", "content (raw reading)",
               "content → taste map", "hybrid (raw reading)", "hybrid")  # fmt: skip
STARS = {"method": "method", "rmse": "RMSE", "mae": "MAE", "fit_seconds": "fit s / fold"}
COLD = {"protocol": "protocol", "method": "method", "ndcg@10": "nDCG@10", "precision@10": "P@10",
        "recall@10": "R@10", "recall@20": "R@20"}  # fmt: skip
TAGS = {"method": "method", "films": "films", "micro_f1": "micro F1", "macro_f1": "macro F1"}
LATENCY = {"operation": "operation", "n_videos": "videos", "p50_ms": "p50 ms", "p95_ms": "p95 ms"}
LATENCY |= {"seconds": "seconds", "peak_rss_mb": "peak RSS MB", "calls": "calls"}
SCALE = {
    "n_videos": "videos",
    "operation": "operation",
    "build_s": "build s",
    "memory_mb": "memory MB",
    "p50_ms": "p50 ms",
    "p95_ms": "p95 ms",
    "recall": "recall vs exact",
    "recommend_over_retrieval": "recommend ÷ retrieval",
    "peak_rss_mb": "peak RSS MB",
}


TRAIN = {
    "n_ratings": "ratings",
    "n_users": "users",
    "n_items": "items",
    "operation": "operation",
    "seconds": "seconds",
    "per_epoch_s": "s / epoch",
    "ours_over_peer": "MF ÷ this",
    "p50_ms": "p50 ms",
    "p95_ms": "p95 ms",
    "peak_rss_mb": "peak RSS MB",
}
VIEWERS = {
    "clients": "viewers",
    "calls": "reruns",
    "p50_ms": "server p50 ms",
    "p95_ms": "server p95 ms",
    "round_trip_p50_ms": "round trip p50 ms",
    "round_trip_p95_ms": "round trip p95 ms",
    "errors": "errors",
}
COUNTS = (
    "n_videos",
    "calls",
    "films",
    "n_ratings",
    "n_users",
    "n_items",
    "clients",
    "errors",
)  # whole numbers, even in columns with gaps


def _frame(rows: list[dict], columns: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    keep = [c for c in columns if c in frame.columns]
    frame = frame[keep].astype({c: "Int64" for c in COUNTS if c in keep})
    return frame.rename(columns=columns).reset_index(drop=True)


def eval_tables(doc: dict) -> dict[str, pd.DataFrame]:
    """Protocol A (without the sweep), B, C and tagging rows as display frames."""
    rows = doc["rows"]
    by = {p: [r for r in rows if str(r.get("protocol", "")).startswith(p)] for p in "ABC"}
    top_k = [r for r in by["A"] if "α=" not in r["method"]]
    tags = [r for r in rows if "micro_f1" in r]
    return {
        "A": _frame(top_k, TOP_K),
        "B": _frame(by["B"], STARS),
        "C": _frame(by["C"], COLD),
        "tags": _frame(tags, TAGS),
    }


def few_rows(doc: dict) -> list[dict]:
    """The few-ratings protocol's rows (protocol F)."""
    return [r for r in doc["rows"] if str(r.get("protocol", "")).startswith("F")]


def few_ratings(doc: dict, metric: str = "ndcg@10") -> pd.DataFrame:
    """Few-ratings viewers: one row per N, one column per method, and the hybrid's lead."""
    rows = few_rows(doc)
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows).pivot_table(index=["n_ratings", "users"], columns="method",
                                           values=metric).reset_index()  # fmt: skip
    frame = frame[["n_ratings", "users", *[m for m in FEW_METHODS if m in frame.columns]]]
    for peer in (p for p in ("collaborative", "popularity") if p in frame.columns):
        lead = frame["hybrid"] / frame[peer].replace(0.0, np.nan) - 1
        frame[f"hybrid vs {peer}"] = lead.map(_percent)
    frame = frame.astype({"n_ratings": "Int64", "users": "Int64"})
    return frame.rename(columns={"n_ratings": "ratings per viewer", "users": "viewers"})


def _percent(x: float) -> str:
    """A relative change as +1.2%; ±0.0% when it rounds to nothing; – when undefined."""
    if pd.isna(x):
        return "–"
    return "±0.0%" if abs(x) < 0.0005 else f"{x:+.1%}"


def seeds(doc: dict, metric: str = "ndcg@10") -> pd.DataFrame:
    """A metric of collaborative, content and the hybrid on every split seed, with the lead."""
    rows = [r for r in doc["rows"] if str(r.get("protocol", "")).startswith(("A", "S"))]
    names = {"mf + item-item": "collaborative", "content": "content", "hybrid": "hybrid"}
    names |= {"collaborative": "collaborative"}
    kept = [{"seed": r.get("seed", 42), "method": names[r["method"]], metric: r[metric]}
            for r in rows if r["method"] in names and metric in r]  # fmt: skip
    if not any(r["seed"] != 42 for r in kept):
        return pd.DataFrame()
    frame = pd.DataFrame(kept).pivot_table(index="seed", columns="method", values=metric)
    frame = frame.reset_index()[["seed", "collaborative", "content", "hybrid"]]
    frame["hybrid − collaborative"] = frame["hybrid"] - frame["collaborative"]
    return frame.astype({"seed": "Int64"})


FIDELITY_TITLE = (
    "**Explanation fidelity** (deletion test: the app's engine, 10 personas + 60 MovieLens users "
    "with their 12 latest ratings, top 3 picks each; one rating taken away, re-folded, re-ranked "
    "200 deep; a pick past 200 counts as 201)"
)
FIDELITY = {"method": "rating taken away", "picks": "picks", "left_top10": "left the top 10",
            "mean_rank_after": "mean rank after"}  # fmt: skip


DISLIKE_TITLE = (
    "**A 1★ pushes away** (the same viewers rate their top pick 1★: cards that cite it, and "
    "how far its 20 nearest item-item neighbours move among all unrated films; + = down)"
)
DISLIKE = {"viewers": "viewers", "cards citing the 1★": "cards citing the 1★",
           "neighbours' mean rank change": "neighbours' mean rank change",
           "viewers whose neighbours fell": "viewers whose neighbours fell"}  # fmt: skip


def dislike_check(doc: dict) -> pd.DataFrame:
    """The 1★ check: one row (protocol D)."""
    rows = [r for r in doc["rows"] if str(r.get("protocol", "")).startswith("D")]
    frame = _frame(rows, DISLIKE)
    if len(frame):
        frame["viewers whose neighbours fell"] = frame["viewers whose neighbours fell"].map(
            lambda x: f"{x:.0%}"
        )
    return frame


def fidelity(doc: dict) -> pd.DataFrame:
    """The deletion test of the cards' reasons: one row per way of choosing the rating."""
    rows = [r for r in doc["rows"] if str(r.get("protocol", "")).startswith("X")]
    frame = _frame(rows, FIDELITY)
    if len(frame):
        frame["left the top 10"] = frame["left the top 10"].map(lambda x: f"{x:.1%}")
    return frame


def chosen(doc: dict) -> dict | None:
    """The validation grid's chosen point (its settings and metrics), None if not run."""
    grid = [r for r in doc["rows"] if str(r.get("protocol", "")).startswith("V:")]
    marked = [r for r in grid if r.get("chosen")]
    return marked[0] if marked else max(grid, key=lambda r: r["ndcg@10"]) if grid else None


def new_viewer(doc: dict) -> str:
    """ ", popularity prior … and a new viewer's α …": validation's choices for viewers with few
    ratings, as a clause ("" when eval did not choose them)."""
    marked = {
        p: r
        for r in doc["rows"]
        if r.get("chosen")
        for p in ("V-prior", "V-lean")
        if str(r.get("protocol", "")).startswith(p)
    }
    if "V-prior" not in marked:
        return ""
    prior = marked["V-prior"]
    said = (
        f", popularity prior {prior['popularity_weight']:g} fading over "
        f"{prior['popularity_fade']:g} ratings"
    )
    if "V-lean" in marked:
        said += f" and a new viewer's α at least {marked['V-lean']['alpha_new']:g}, fading alike"
    return said + " (on validation viewers cut to 1, 3 and 5 ratings)"


def sweep(doc: dict) -> pd.DataFrame:
    """The α sweep: alpha, nDCG@10, P@10 (empty when eval ran without --sweep)."""
    rows = [r for r in doc["rows"] if str(r.get("method", "")).startswith("hybrid α=")]
    frame = pd.DataFrame(rows, columns=["alpha", "ndcg@10", "precision@10"])
    return frame.sort_values("alpha").reset_index(drop=True)


def latency_frame(doc: dict) -> pd.DataFrame:
    """Library and app latencies."""
    return _frame(doc["rows"], LATENCY)


def scale_frame(doc: dict) -> pd.DataFrame:
    """Synthetic-catalog scale rows."""
    return _frame(doc["rows"], SCALE)


def train_frame(doc: dict) -> pd.DataFrame:
    """Synthetic rating-set training rows."""
    return _frame(doc["rows"], TRAIN)


def viewer_frame(doc: dict) -> pd.DataFrame:
    """Load-test rows: the app's own server time and the clients' round trip per rerun."""
    return _frame(doc["rows"], VIEWERS)


def markdown(frame: pd.DataFrame, bold: str | None = None) -> str:
    """A markdown table; the row whose method is ``bold`` is emphasised."""
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    for _, row in frame.iterrows():
        cells = [cell(v) for v in row]
        if bold is not None and row.iloc[0] == bold:
            cells[0] = f"**{cells[0]}**"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cell(value) -> str:
    """One table value as text: – for missing, thousands separators, about 3 digits."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float):  # 3 significant digits, at least; never more than 3 decimals
        size = abs(value)
        text = f"{value:,.{0 if size >= 100 else 1 if size >= 10 else 2 if size >= 1 else 3}f}"
        return text[1:] if text.startswith("-") and not text.strip("-0.,") else text  # no -0.000
    return str(value).replace("|", "\\|")


def results_section(
    evals: dict | None = None,
    bench: dict | None = None,
    scale: dict | None = None,
    train: dict | None = None,
    viewers: dict | None = None,
) -> str:
    """The generated tables of each given run, under the command and date it came from."""
    parts = []
    if evals:
        t = eval_tables(evals)
        parts += [
            _source(evals),
            "**Protocol A: top-10** (α = 0 is MF only, 1 is content only)",
            markdown(t["A"], bold="hybrid"),
            "**Protocol B: stars, 5-fold cross-validation**",
            markdown(t["B"], bold="hybrid"),
            "**Protocol C: cold items**",
            markdown(t["C"]),
        ]
        parts += _slices(evals)
        sw = sweep(evals)
        if len(sw):
            points = " · ".join(f"{a:g}: {n:.3f}" for a, n in zip(sw["alpha"], sw["ndcg@10"]))
            parts.append(f"nDCG@10 by α (0 = collaborative, 1 = content): {points}.")
        if len(t["tags"]):
            parts += ["**Tags: genre F1 of the zero-shot tagger**", markdown(t["tags"])]
        if AUDIT_FILE.exists():
            parts.append(audit_text(summary(load_audit())))
    for doc, title, frame in (
        (bench, "**Latency** (p50/p95 over many calls)", latency_frame),
        (scale, "**Scale** (synthetic clustered catalogs)", scale_frame),
        (train, "**Training scale** (synthetic MovieLens-shaped rating sets)", train_frame),
        (viewers, "**Many viewers** (websocket clients on one server, no browser)", viewer_frame),
    ):
        if doc:
            parts += [_source(doc), title, markdown(frame(doc))]
    return "\n\n".join(parts)


def audit_text(s: dict) -> str:
    """The displayed-tag audit in one paragraph."""
    return (
        f"**Tags on cards** (`results/tag_audit.csv`: {s['films']} films drawn at random, every "
        f"tag a card shows judged against what the film is): {s['tags_shown']} tags shown, "
        f"{s['precision']:.0%} correct; films without a team-written synopsis show none "
        f"({s['tags_without_synopsis']} tags); {s['share_with_two_or_more']:.0%} of the "
        f"{s['films_with_synopsis']} films with a synopsis show two or more."
    )


def _slices(doc: dict) -> list[str]:
    """The validation choice, the few-ratings tables and the seed spread, where they ran."""
    best, few, spread = chosen(doc), few_ratings(doc), seeds(doc)
    parts = []
    if best:
        settings = f"α = {best['alpha']:g}, item-item share = {best['item_item_weight']:g}"
        if "dislike_weight" in best:
            settings += f", dislike weight = {best['dislike_weight']:g}"
        settings += new_viewer(doc)
        rule = "" if "liked_ndcg@10" not in best else (
            f", liked nDCG@10 {best['liked_ndcg@10']:.4f}: the best liked-protocol nDCG among "
            "settings within 0.005 of the best all-ratings nDCG"
        )  # fmt: skip
        parts.append(
            f"Blend chosen on a validation split of the training ratings (never the test): "
            f"{settings} (validation nDCG@10 {best['ndcg@10']:.4f}{rule}); the hybrid rows "
            "use these."
        )
    if len(few):
        parts += ["**Few-ratings viewers: nDCG@10** (each test viewer keeps N training ratings)",
                  markdown(few), "**Few-ratings viewers: recall@10**",
                  markdown(few_ratings(doc, "recall@10"))]  # fmt: skip
        if "liked_ndcg@10" in few_rows(doc)[0]:
            parts += ["**Few-ratings viewers, liked protocol: nDCG@10** (relevant = 4–5★)",
                      markdown(few_ratings(doc, "liked_ndcg@10")),
                      "**Few-ratings viewers: disliked@10** (share of picks rated 1–2★)",
                      markdown(few_ratings(doc, "disliked@10"))]  # fmt: skip
    if len(spread):
        parts += ["**Protocol A on three split seeds: nDCG@10**", markdown(spread)]
    for metric, title in (("liked_ndcg@10", "liked nDCG@10"), ("disliked@10", "disliked@10")):
        if len(table := seeds(doc, metric)):
            parts += [f"**Three split seeds: {title}**", markdown(table)]
    if len(fidelity(doc)):
        parts += [FIDELITY_TITLE, markdown(fidelity(doc))]
    if len(dislike_check(doc)):
        parts += [DISLIKE_TITLE, markdown(dislike_check(doc))]
    return parts


def _source(doc: dict) -> str:
    return f"_`{doc['command']}` · {doc['generated']} · {doc.get('machine', '')}_"


def regenerate(doc: Path, folder: Path) -> bool:
    """Rewrite ``doc``'s generated block from the runs in ``folder``; True when the page changed.

    Every results file must be there, parse, have rows and make its tables, and the page must
    take the block, before anything is written: a refusal (DataError) leaves every file as it was.
    """
    runs = {kind: results.require(kind, folder) for kind in results.KINDS}
    _made(AUDIT_FILE, lambda: audit_text(summary(load_audit())))
    parts = []
    for kind in results.KINDS:  # one run at a time, so an error names its file
        alone = [runs[kind] if k == kind else None for k in results.KINDS]
        parts.append(_made(folder / f"{kind}.json", partial(results_section, *alone)))
    return results.write_section(doc, "\n\n".join(parts))


def _made(source: Path, make: Callable[[], str]) -> str:
    """What ``make`` returns, or DataError naming the input it could not be made from."""
    try:
        return make()
    except (OSError, KeyError, TypeError, ValueError, AttributeError) as exc:
        why = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise DataError(f"cannot make tables from {source} ({why})") from None
