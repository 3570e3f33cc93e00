"""Presenter mode, the guided start and the list exports, driven through AppTest."""

from vidrec.ui import guide, presenter


def styles(at) -> str:
    return " ".join(h.proto.body for h in at.get("html"))


def test_presenter_mode_hides_the_sidebar_and_comes_back(app):
    assert presenter.ROOM_CSS not in styles(app)
    next(b for b in app.button if b.key == "presenter_on").click().run()
    assert app.query_params[presenter.PARAM] == "1" and presenter.ROOM_CSS in styles(app)
    next(b for b in app.button if b.key == "presenter_off").click().run()
    assert presenter.PARAM not in app.query_params and presenter.ROOM_CSS not in styles(app)
    assert not app.exception


def steps(at) -> str:
    return next(m.value for m in at.sidebar.markdown if "Pick a persona" in m.value)


def test_the_guided_start_ticks_steps_off_and_stays_dismissed(app):
    assert steps(app).count("✅") == 1  # the first persona is picked; nothing rated yet
    first = next(f for f in app.get("feedback") if f.key.startswith("stars_"))
    first.set_value(4).run()
    app.segmented_control(key="view").set_value("Why these?").run()
    assert steps(app).count("✅") == 4 and "⬜ Open **Compare**" in steps(app)
    next(b for b in app.button if b.key == "guide_off").click().run()
    assert app.query_params["guide"] == "off"
    assert not [m for m in app.sidebar.markdown if "Pick a persona" in m.value]
    assert guide.VISITED in app.session_state


def test_the_list_downloads_as_csv_and_as_a_web_page(app):
    """What the files hold is tested in test_export; here: both buttons are on For you."""
    labels = [b.proto.label for b in app.get("download_button")]
    assert labels[:2] == ["⬇ List as CSV", "⬇ List as a web page"]  # then the ratings export


def test_charts_save_as_the_format_the_sidebar_picks(app):
    app.segmented_control(key="view").set_value("Evaluation").run()
    configs = [c.proto.config for c in app.get("plotly_chart")]
    assert configs and all('"format": "png"' in c for c in configs)
    app.sidebar.radio(key="chart_format").set_value("SVG").run()
    configs = [c.proto.config for c in app.get("plotly_chart")]
    assert all('"format": "svg"' in c and '"filename": "vidrec-eval_' in c for c in configs)
