"""Exports for slides: the CSV reads back as the list, the HTML page escapes and stands alone."""

import io

import pandas as pd
import pytest

from vidrec.errors import DataError
from vidrec.present import export


def recs() -> pd.DataFrame:
    return pd.DataFrame({
        "video_id": [1, 2], "title": ["Alien (1979)", "<script>alert(1)</script>"],
        "year": [1979, 2000], "genres": ["Horror|Sci-Fi", "Comedy"],
        "score": [2.5, 1.25], "content_score": [0.5, -0.25], "collab_score": [1.5, 1.0],
        "popularity_score": [0.5, 0.5], "predicted_rating": [4.26, 3.0],
        "reason": ["Because you rated Aliens (1986) 5★ — 60% of why", "Popular with viewers"],
    })  # fmt: skip


def test_the_csv_reads_back_as_the_list_with_ranks_and_tags():
    table = export.list_table(recs(), [["space", "monsters"], []])
    back = pd.read_csv(io.BytesIO(export.list_csv(table)), encoding="utf-8-sig",
                       keep_default_na=False)  # fmt: skip
    assert back["rank"].tolist() == [1, 2]
    assert back["title"].tolist() == recs()["title"].tolist()
    assert back["tags"].tolist() == ["space · monsters", ""]
    assert back["predicted stars"].tolist() == [4.3, 3.0]
    assert back["reason"].iloc[0] == "Because you rated Aliens (1986) 5★ — 60% of why"
    assert back.columns[:4].tolist() == ["rank", "title", "genres", "tags"]


def test_the_html_page_escapes_titles_and_draws_each_split():
    page = export.list_html(export.list_table(recs()), "Recommended for <b>me</b>", "α = 0.1")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "Recommended for &lt;b&gt;me&lt;/b&gt;" in page
    assert "<script" not in page.replace("&lt;script", "")  # no script of its own either
    assert "content +0.50 · collaborative +1.50 · popularity +0.50" in page
    assert "width:20.0%;background:#0072B2" in page  # 0.5 of 2.5 for the content part
    assert page.count("<tr>") == 3  # the header and two picks


def test_a_list_without_the_score_split_is_refused():
    with pytest.raises(DataError, match="content_score"):
        export.list_table(recs().drop(columns="content_score"))


def test_card_parts_read_as_shares_of_the_lift_with_exact_numbers_for_hover():
    """Issue 23: cards showed unitless "content +0.28 · collaborative +8.76"."""
    from vidrec.present.why import part_numbers, part_shares

    shares = part_shares(0.28, 8.76, 0.1)
    assert shares == "lifted by collaborative 96% · content 3% · popularity 1%"
    assert part_shares(-0.3, 2.0, -0.001) == "lifted by collaborative 100%; held back by content"
    assert part_shares(-0.5, -1.0, 0.0) == "held back by content and collaborative"
    assert part_shares(0.0, 0.0, 0.0) == "no part lifts it above the average candidate"
    assert part_numbers(0.28, 8.76, -0.001) == (
        "score +9.04 = content +0.28 + collaborative +8.76 + popularity +0.00, "
        "in weighted z-scores over the candidates"
    )
