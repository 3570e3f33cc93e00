"""Small helpers every view uses: safe text, stars, and an error boundary."""

from __future__ import annotations

import logging
import re
import time
from contextlib import contextmanager

import streamlit as st

from vidrec.errors import VidrecError
from vidrec.present.style import COLLAB, CONTENT, POPULAR

log = logging.getLogger(__name__)
RUN_STARTED = "_run_started"  # set by every full run; a fragment-only rerun finds it gone
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def md(text: object) -> str:
    """Escape text for st.markdown so titles and typed input show literally, never as markup."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def plural(count: int, noun: str) -> str:
    """1 -> "1 rating", 2 -> "2 ratings", 1500 -> "1,500 ratings"."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def stars(value: float) -> str:
    """4.3 -> '★★★★☆ 4.3'."""
    full = int(round(float(value)))
    return "★" * full + "☆" * (5 - full) + f" {float(value):.1f}"


@contextmanager
def errors_shown():
    """User errors as st.error, anything unexpected as a short message: never a traceback."""
    try:
        yield
    except VidrecError as exc:
        st.error(str(exc), icon="⚠️")
    except Exception as exc:  # noqa: BLE001 - the UI must not show a traceback
        log.exception("unexpected error in the UI")
        st.error(
            f"Something went wrong ({type(exc).__name__}: {exc}). Details are in the server log.",
            icon="🛑",
        )


def safely(fn):
    """A widget callback that keeps its error for the next run to show, not as a traceback."""

    def call(*args, **kwargs):
        try:
            fn(*args, **kwargs)
        except VidrecError as exc:
            st.session_state["callback_error"] = str(exc)
        except Exception as exc:  # noqa: BLE001 - the UI must not show a traceback
            log.exception("unexpected error in a callback")
            st.session_state["callback_error"] = f"Something went wrong ({type(exc).__name__})."

    return call


def show_callback_error() -> None:
    """The error a callback of the last interaction kept, once."""
    message = st.session_state.pop("callback_error", None)
    if message:
        st.error(message, icon="⚠️")


def loop_caption(rec, session, recs) -> None:
    """The product loop in one line, with this viewer's live numbers."""
    ms = f"{session.last_update_ms:.0f} ms" if session.last_update_ms is not None else "–"
    st.caption(
        f"**Content understanding** · {len(rec.catalog):,} videos read by a Transformer "
        f"→ **Interest mapping** · {plural(len(session.ratings), 'rating')} folded into your "
        f"vector → **Recommendation** · {plural(len(recs), 'pick')} re-ranked in {ms} "
        f"→ **Feedback** · rate anything and watch the list move"
    )


def run_started() -> float:
    """When this run began: the full run's start, or now for a fragment-only rerun.

    Read once per run (at the start of a fragment, or at the end of a full run's page): the
    full run's mark is taken away, so a fragment rerun after it never finds a stale one.
    """
    return st.session_state.pop(RUN_STARTED, None) or time.perf_counter()


def server_time(started: float) -> None:
    """This run's server time so far, where the browser tests and the load test read it."""
    ms = (time.perf_counter() - started) * 1000
    st.container(key="server_time").caption(f"Server time for this page: {ms:.0f} ms")


def split_bar(content: float, collab: float, popular: float) -> str:
    """A thin three-colour bar of the score parts' shares (numbers only, so HTML is safe)."""
    parts = [abs(content), abs(collab), abs(popular)]
    total = sum(parts) or 1.0
    cells = "".join(
        f'<div style="width:{100 * p / total:.1f}%;background:{c}"></div>'
        for p, c in zip(parts, (CONTENT, COLLAB, POPULAR))
    )
    return (
        '<div style="display:flex;height:8px;border-radius:4px;overflow:hidden;'
        f'background:rgba(128,128,128,.2);margin:2px 0 4px 0">{cells}</div>'
    )


CHART_FORMAT = "chart_format"  # the sidebar's choice: what a chart's camera button saves


def chart(fig, key: str, where=None) -> None:
    """A plotly chart whose toolbar camera saves it for a slide, as PNG or SVG (sidebar choice)."""
    fmt = st.session_state.get(CHART_FORMAT, "PNG").lower()
    options = {"format": fmt, "filename": f"vidrec-{key}", "scale": 2}
    config = {"toImageButtonOptions": options, "displaylogo": False}
    (where or st).plotly_chart(fig, key=key, theme="streamlit", config=config)
