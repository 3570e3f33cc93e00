"""Shared helpers for real-browser tests: start `streamlit run app.py`, drive Debian's Chromium."""

from __future__ import annotations

import os
import re
import shutil
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from vidrec.benchmarks import viewers
from vidrec.config import REPO

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-quic",
]  # fmt: skip
SHOTS = REPO / "test-artifacts"


def in_ci() -> bool:
    """True under CI (.ci/run exports CI=true), where a missing browser is a failure."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_chromium() -> None:
    """Fail under CI when Chromium is missing; elsewhere skip, with the reason shown by -ra."""
    if shutil.which(CHROMIUM) is not None:
        return
    message = f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    if in_ci():
        pytest.fail(f"{message}; CI installs it, so the browser tests must run", pytrace=False)
    pytest.skip(f"{message}; browser tests not run")


def built_config_with_chromium(request):
    """The ``built_config`` fixture, asked for only once Chromium is known to be there, so a
    machine without a browser skips (or CI fails) at once instead of first building MovieLens."""
    require_chromium()
    return request.getfixturevalue("built_config")


def streamlit_server(home: Path):
    """The app on a free loopback port for a with-block (its log kept in ``home``)."""
    return viewers.streamlit_server(home, log_dir=home)


def settle(page, timeout: float = 120_000) -> None:
    """Wait until the script run triggered by the last action has finished rendering."""
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']",
                           timeout=timeout)  # fmt: skip
    page.wait_for_timeout(300)  # let the rerun start before waiting for it to finish
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']",
                           timeout=timeout)  # fmt: skip
    page.wait_for_function(
        "document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0", timeout=timeout
    )


def shot(page, name: str, full_page: bool = True) -> Path:
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def card_ids(page) -> list[int]:
    """The recommendation cards' video ids in page order."""
    classes = page.locator("[class*='st-key-card_']").evaluate_all(
        "els => els.map(e => e.className)"
    )
    return [int(re.search(r"st-key-card_(\d+)", c).group(1)) for c in classes]


def as_laid_out(ranked: list[int]) -> list[int]:
    """A ranked list in the page's order: two columns, odd ranks first, then even ones."""
    return ranked[0::2] + ranked[1::2]


def viewer_id(page) -> str:
    """The saved viewer's id, from the page's address."""
    return urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)["viewer"][0]
