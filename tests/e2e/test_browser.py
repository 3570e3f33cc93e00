"""Real browser: Debian's Chromium drives `streamlit run app.py` through the main flow."""

import re

import pytest
from browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    as_laid_out,
    built_config_with_chromium,
    card_ids,
    settle,
    shot,
    streamlit_server,
    viewer_id,
)
from playwright.sync_api import sync_playwright

from vidrec.ui.loader import STORE_FILE
from vidrec.viewer.store import ViewerStore


@pytest.fixture(scope="module")
def browser_page(request):
    built_config = built_config_with_chromium(request)
    with streamlit_server(built_config.home) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 1600})
        page.js_errors = []
        page.on("pageerror", lambda e: page.js_errors.append(str(e)))
        page.goto(url)
        settle(page)
        yield page
        browser.close()


@pytest.fixture(scope="module")
def home(request):
    return built_config_with_chromium(request).home


@pytest.fixture(scope="module")
def engine(request):
    """The engine loaded afresh from disk: what the server's lists must equal."""
    built_config_with_chromium(request)
    return request.getfixturevalue("real_engine")


def view(page, name):
    """Open a view from the switcher (the sidebar's guided start names views too)."""
    page.locator(".st-key-view").get_by_text(name, exact=True).click()
    settle(page)


def no_errors(page):
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.js_errors == []


def choose(page, key, option):
    page.locator(f".st-key-{key} [role='combobox']").click()
    page.get_by_role("option", name=option).first.click()
    settle(page)


def shown_viewer(page, home):
    """The viewer behind the page as the server saved it (seed and current ratings)."""
    return ViewerStore(home / STORE_FILE).load(viewer_id(page))


def test_main_flow(browser_page, engine, home):
    page = browser_page
    assert len(card_ids(page)) == 10
    shot(page, "01_opened")

    choose(page, "viewer_choice", "Horror hound")
    assert page.get_by_text("Recommended for Horror hound").is_visible()
    saved = shown_viewer(page, home)
    assert saved.key == "horror-hound" and saved.ratings == saved.seed
    before = card_ids(page)
    assert before == as_laid_out(engine.recommend(saved.seed, k=10)["video_id"].tolist())
    shot(page, "02_persona")

    first = before[0]  # rank 1
    page.locator(f".st-key-card_{first} [data-testid='stFeedback'] button").nth(4).click()
    settle(page)
    mine = {**saved.seed, first: 5.0}
    assert shown_viewer(page, home).ratings == mine  # exactly the 5★ just given
    after = card_ids(page)
    assert first not in after
    assert after == as_laid_out(engine.recommend(mine, k=10)["video_id"].tolist())
    assert page.get_by_text(re.compile(r"^(NEW|↑\d+|↓\d+)$")).count() >= 1  # what moved
    shot(page, "03_rated")
    no_errors(page)

    view(page, "Why these?")
    assert page.locator("[data-testid='stPlotlyChart']").count() >= 2
    shot(page, "04_why")

    view(page, "Interest map")
    assert page.locator("[data-testid='stPlotlyChart']").count() >= 2
    shot(page, "05_interest_map")
    no_errors(page)


@pytest.mark.parametrize(
    "width, height, present", [(1366, 768, False), (1920, 1080, False), (1366, 768, True)]
)
def test_a_projector_screen_shows_four_whole_cards_and_no_deploy_button(
    browser_page, width, height, present
):
    page = browser_page.context.browser.new_page(viewport={"width": width, "height": height})
    page.goto(browser_page.url.split("?")[0] + ("?present=1" if present else ""))
    settle(page)
    assert page.locator("[data-testid='stSidebar']").is_visible() != present
    boxes = [c.bounding_box() for c in page.locator("[class*='st-key-card_']").all()]
    whole = [b for b in boxes if b and b["y"] >= 0 and b["y"] + b["height"] <= height]
    shot(page, f"projector_{width}x{height}{'_present' if present else ''}", full_page=False)
    assert len(whole) >= 4, f"{len(whole)} whole cards in the first {width}×{height} screen"
    assert page.get_by_text("Deploy", exact=True).count() == 0
    page.close()


def test_two_tabs_are_two_independent_viewers(browser_page):
    page = browser_page
    other = page.context.browser.new_page(viewport={"width": 1366, "height": 1600})
    other.js_errors = []
    other.on("pageerror", lambda e: other.js_errors.append(str(e)))
    other.goto(page.url.split("?")[0])  # no viewer id: a new visitor
    settle(other)
    view(page, "For you")

    def rated_count(p):
        heading = p.get_by_text(re.compile(r"^Your ratings \(\d+\)$")).inner_text()
        return int(re.search(r"\d+", heading).group())

    base = rated_count(other)
    first = card_ids(other)[0]
    choose(page, "viewer_choice", "Sci-fi fan")  # both tabs now show the same persona
    assert first in card_ids(page)
    page.locator(f".st-key-card_{first} [data-testid='stFeedback'] button").nth(3).click()
    settle(page)
    assert rated_count(page) == base + 1
    for name in ("How it works", "For you"):  # reruns in the other tab's own session
        view(other, name)
    assert rated_count(other) == base  # the other tab's viewer did not get this rating
    assert first in card_ids(other)
    no_errors(other)
    other.close()


def test_a_reload_brings_the_same_viewer_back(browser_page):
    page = browser_page
    view(page, "For you")
    first = card_ids(page)[0]
    page.locator(f".st-key-card_{first} [data-testid='stFeedback'] button").nth(1).click()
    settle(page)
    assert "viewer=" in page.url
    mine = page.locator("[class*='st-key-mine_row_']").count()
    page.reload()
    settle(page)
    assert page.locator(f".st-key-mine_row_{first}").count() == 1
    assert page.locator("[class*='st-key-mine_row_']").count() == mine
    no_errors(page)


def test_html_in_a_title_is_shown_as_text_never_run(browser_page):
    page = browser_page
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    title = "<img src=x onerror=alert(1)>"
    description = "<script>alert(2)</script> **bold** [click](javascript:alert(3)) $x$"
    view(page, "Add a video")
    page.locator(".st-key-add_title input").fill(title)
    page.locator(".st-key-add_description textarea").fill(description)
    page.get_by_role("button", name="Add to my catalog").click()
    settle(page)
    page.wait_for_timeout(1000)  # give any injected handler the chance to fire
    assert dialogs == []
    assert page.get_by_text(title, exact=False).first.is_visible()
    assert page.locator("img[src='x']").count() == 0 and page.locator("main script").count() == 0
    shot(page, "06_injection")
    no_errors(page)


def test_export_then_import_restores_the_ratings(browser_page, tmp_path):
    page = browser_page
    view(page, "For you")
    exported = export_csv(page, tmp_path / "ratings.csv")
    mine = page.locator("[class*='st-key-mine_row_']").count()
    assert exported.read_text().count("\n") == mine + 1  # header + one line per rating

    bad = tmp_path / "bad.csv"
    bad.write_text("video_id,title,stars\n1,,9\n999999,,3\n")
    page.locator(".st-key-import_file input[type='file']").set_input_files(str(bad))
    settle(page)
    page.locator(".st-key-import_go button").click()
    settle(page)
    error = page.locator("[data-testid='stAlertContentError']").inner_text()
    assert "999999" in error and "9" in error
    assert page.locator("[class*='st-key-mine_row_']").count() == mine  # nothing applied

    page.locator(".st-key-reset_viewer button").first.click()  # change something, then import back
    settle(page)
    first = card_ids(page)[0]
    page.locator(f".st-key-card_{first} [data-testid='stFeedback'] button").nth(0).click()
    settle(page)
    open_transfer(page)
    page.locator(".st-key-import_file input[type='file']").set_input_files(str(exported))
    settle(page)
    page.locator(".st-key-import_go button").click()
    settle(page)
    page.get_by_text(f"Imported {mine} ratings.").wait_for(state="visible", timeout=60_000)
    assert page.locator("[class*='st-key-mine_row_']").count() == mine
    again = export_csv(page, tmp_path / "again.csv")
    assert again.read_text() == exported.read_text()  # exactly the exported ratings are back
    no_errors(page)


def open_transfer(page):
    """Open the export/import panel unless a rerun left it open (a click would close it)."""
    settle(page)
    if not page.locator(".st-key-export_csv button").is_visible():
        page.get_by_text("Export / import ratings").click()
    page.locator(".st-key-export_csv button").wait_for(state="visible")


def export_csv(page, path):
    open_transfer(page)
    with page.expect_download(timeout=120_000) as download:
        page.locator(".st-key-export_csv button").click()
    download.value.save_as(path)
    return path
