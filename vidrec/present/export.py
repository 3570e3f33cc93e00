"""The current list, ready for a slide: a CSV table and a self-contained HTML page.

Both carry what the card shows (rank, title, genres, predicted stars, the score split and the
reason), so a presenter can paste the list into a deck after the demo. The HTML page has its
styles inline and no scripts: it opens anywhere, offline, and a title cannot run code in it.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

import pandas as pd

from vidrec.errors import DataError
from vidrec.present.style import COLLAB, CONTENT, POPULAR

COLUMNS = {  # recommend_with_reasons column -> exported name
    "title": "title",
    "genres": "genres",
    "predicted_rating": "predicted stars",
    "score": "score",
    "content_score": "content",
    "collab_score": "collaborative",
    "popularity_score": "popularity",
    "reason": "reason",
}
PARTS = (("content", CONTENT), ("collaborative", COLLAB), ("popularity", POPULAR))


def list_table(recs: pd.DataFrame, tags: list[list[str]] | None = None) -> pd.DataFrame:
    """The list as the export's rows: rank first, then what each card shows."""
    missing = set(COLUMNS) - set(recs.columns)
    if missing:
        raise DataError(f"the list lacks column(s) {sorted(missing)}")
    table = recs[list(COLUMNS)].rename(columns=COLUMNS).reset_index(drop=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    if tags is not None:
        table.insert(3, "tags", [" · ".join(t) for t in tags])
    return table.round({"predicted stars": 1, "score": 3, **{p: 3 for p, _ in PARTS}})


def list_csv(table: pd.DataFrame) -> bytes:
    """UTF-8 CSV with a byte-order mark, so spreadsheet programs read ★ and accents right."""
    return table.to_csv(index=False).encode("utf-8-sig")


def list_html(table: pd.DataFrame, heading: str, settings: str) -> str:
    """A standalone page: heading, settings line, and one row per pick with its split bar."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows = "\n".join(_html_row(row) for row in table.to_dict("records"))
    legend = " ".join(f'<span style="color:{c}">■</span> {p}' for p, c in PARTS)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(heading)}</title>
<style>
body {{font-family: system-ui, sans-serif; margin: 2rem; color: #222}}
table {{border-collapse: collapse; width: 100%}}
td, th {{padding: .45rem .6rem; border-bottom: 1px solid #ddd; text-align: left;
         vertical-align: top}}
.bar {{display: flex; height: 8px; width: 160px; border-radius: 4px; overflow: hidden;
       background: #eee; margin-top: .3rem}}
.muted {{color: #666; font-size: .9rem}}
</style></head><body>
<h1>{html.escape(heading)}</h1>
<p class="muted">{html.escape(settings)} · exported {when} · score split: {legend}</p>
<table><thead><tr><th>#</th><th>title</th><th>predicted</th><th>score split</th>
<th>reason</th></tr></thead><tbody>
{rows}
</tbody></table></body></html>
"""


def _html_row(row: dict) -> str:
    parts = [abs(float(row[p])) for p, _ in PARTS]
    total = sum(parts) or 1.0
    cells = "".join(
        f'<div style="width:{100 * v / total:.1f}%;background:{c}"></div>'
        for v, (_, c) in zip(parts, PARTS)
    )
    numbers = " · ".join(f"{p} {float(row[p]):+.2f}" for p, _ in PARTS)
    tags = f'<br><span class="muted">{html.escape(row["tags"])}</span>' if row.get("tags") else ""
    return (
        f"<tr><td>{row['rank']}</td><td><b>{html.escape(str(row['title']))}</b><br>"
        f'<span class="muted">{html.escape(str(row["genres"]).replace("|", " · "))}</span>'
        f"{tags}</td><td>{float(row['predicted stars']):.1f}★</td>"
        f'<td><span class="muted">{numbers}</span><div class="bar">{cells}</div></td>'
        f"<td>{html.escape(str(row['reason']))}</td></tr>"
    )
