"""The command line on a tiny catalog: eval, bench, report run and save; bad input is one line."""

import json
import shutil
import sqlite3
import subprocess
import sys
from types import SimpleNamespace

import pytest

from vidrec.benchmarks import training
from vidrec.cli import main
from vidrec.data.schema import ADDED_ID_START
from vidrec.evaluation import charts as evalcharts
from vidrec.evaluation import report, results, runner
from vidrec.tags import load_vocabulary
from vidrec.viewer.store import STORE_FILE, ViewerStore, new_viewer_id


@pytest.fixture
def tiny_cli(tiny_built, monkeypatch, tmp_path):
    """Arguments that point the CLI at the tiny catalog, and a results folder of its own."""
    monkeypatch.setenv("VIDREC_FACTORS", str(tiny_built.factors))
    monkeypatch.setenv("VIDREC_MF_EPOCHS", str(tiny_built.mf_epochs))
    out = tmp_path / "results"
    return ["--home", str(tiny_built.home), "--dataset", tiny_built.dataset], out


GENRE_TAGS = [t for t in load_vocabulary() if t.genre]  # the tags the tag protocol scores


def test_eval_saves_every_protocol_with_baselines(tiny_cli, capsys, monkeypatch):
    """Every protocol on the tiny catalog with the smallest settings (2 folds; the tag protocol
    reads only the genre tags it scores, not all ~290 prompts)."""
    monkeypatch.setattr(runner, "load_vocabulary", lambda: GENRE_TAGS)
    base, out = tiny_cli
    assert main([*base, "eval", "--sweep", "--folds", "2", "--out", str(out), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by = {(r["protocol"][0], r["method"]): r for r in rows}
    for method in ("popularity", "content", "mf", "hybrid", "implicit BPR (tuned)"):
        row = by["A", method]
        assert 0 <= row["ndcg@10"] <= 1 and 0 <= row["coverage"] <= 1
        assert row["fit_seconds"] >= 0
    assert ("A", "hybrid α=0.5") in by
    assert {("F", "hybrid"), ("S", "hybrid"), ("S", "collaborative")} <= set(by)  # the slices
    chosen = report.chosen({"rows": rows})
    assert by["A", "hybrid"]["alpha"] == chosen["alpha"]  # the hybrid row uses what it chose
    for method in ("hybrid", "surprise SVD", "surprise SVD++"):
        assert 0 < by["B", method]["rmse"] < 4
    tagger = [r for r in rows if r["method"].startswith("zero-shot tagger")]
    assert len(tagger) == 1 and 0 <= tagger[0]["micro_f1"] <= 1
    saved = results.load("eval", out)
    assert saved["rows"] == rows and "eval --sweep" in saved["command"]
    tables = report.eval_tables(saved)  # what the evaluation page and the app's view show
    hybrid = tables["A"].set_index("method").loc["hybrid"]
    assert hybrid["nDCG@10"] == by["A", "hybrid"]["ndcg@10"]
    assert "hybrid α=0.5" not in set(tables["A"]["method"])  # the sweep is drawn, not tabled
    sweep = evalcharts.alpha_sweep(saved, 0.1).data[0]
    assert list(sweep.x) == [a / 10 for a in range(11)]
    assert sweep.y[5] == by["A", "hybrid α=0.5"]["ndcg@10"]
    points = evalcharts.quality_vs_speed(saved).data
    assert {m for trace in points for m in trace.y} == {
        m for (p, m) in by if p == "A" and "α=" not in m
    }
    assert sorted(x for trace in points for x in trace.x)[-1] == max(
        r["ndcg@10"] for (p, m), r in by.items() if p == "A" and "α=" not in m
    )


def test_bench_and_report_regenerate_the_evaluation_page(tiny_cli, capsys, tmp_path):
    base, out = tiny_cli
    assert main([*base, "bench", "--repeat", "3", "--scale", "200", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "fold-in + recommend top-10" in printed and "HNSW" in printed
    for kind in set(results.KINDS) - {"bench", "scale"}:  # the page needs every run: the
        shutil.copy(results.RESULTS / f"{kind}.json", out)  # committed ones, beside the new two
    page = tmp_path / "evaluation.md"
    page.write_text(f"# x\n\n{results.START}\nSTALE-TABLE\n{results.END}\n\ntail\n")
    assert main(["report", "--doc", str(page), "--results", str(out)]) == 0
    assert capsys.readouterr().out == f"{page}: updated\n"
    text = page.read_text()
    assert "STALE-TABLE" not in text and text.endswith("tail\n")
    assert "fold-in + recommend top-10" in text
    assert _report_again(page, out, capsys) == f"{page}: already up to date\n"


TINY_SHAPE = {3_000: (100, 120)}  # ratings -> (users, items): the bench's own code, in 2 s


class InProcessPool:
    """The bench runs each size in a spawned process; a spawned process re-imports the module
    and would not see the tiny shape, so here the size runs in the test's own process."""

    def __init__(self, processes):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def apply(self, fn, args):
        return fn(*args)


def test_train_scale_bench_measures_mf_beside_implicit_and_keeps_the_latency_rows(
    tiny_cli, capsys, tmp_path, monkeypatch
):
    """The training bench on a tiny synthetic shape: the same rows and arithmetic as at 100K."""
    monkeypatch.setattr(training, "SHAPES", {**training.SHAPES, **TINY_SHAPE})
    context = SimpleNamespace(Pool=InProcessPool)  # what multiprocessing.get_context gives
    fake = SimpleNamespace(get_context=lambda kind: context)
    monkeypatch.setattr(training, "multiprocessing", fake)
    (n_ratings,) = TINY_SHAPE
    base, out = tiny_cli
    out = tmp_path / "results"
    out.mkdir()
    (out / "bench.json").write_text("{}")  # an earlier latency run: the training bench keeps it
    argv = [*base, "bench", "--train-scale", str(n_ratings), "--repeat", "3", "--out", str(out)]
    assert main(argv) == 0
    assert (out / "bench.json").read_text() == "{}"
    rows = {r["operation"]: r for r in results.load("train", out)["rows"]}
    once = rows["MF fit, 1 epoch (set-up, one epoch, exact user step)"]["seconds"]
    four = rows["MF fit, 4 epochs"]
    assert four["per_epoch_s"] == pytest.approx((four["seconds"] - once) / 3)
    for peer in (
        "implicit ALS, CG (its default), 3 iterations",
        "implicit ALS, exact, 3 iterations",
    ):
        assert rows[peer]["ours_over_peer"] == pytest.approx(
            four["per_epoch_s"] / rows[peer]["per_epoch_s"]
        )
    full = next(r for op, r in rows.items() if op.startswith("MF full fit"))
    assert full["seconds"] > 0 and full["epochs"] >= 2  # validated epochs, then the refit
    assert rows["fold-in, 20 ratings"]["calls"] == 3
    assert rows["item-item fit (EASE, λ chosen)"]["seconds"] > 0
    assert rows["peak RSS of this size's process"]["peak_rss_mb"] > 0
    assert all(
        (r["n_ratings"], r["n_users"], r["n_items"]) == (3_000, 100, 120) for r in rows.values()
    )
    assert "Training scale" in capsys.readouterr().out


def _report_again(page, out, capsys) -> str:
    main(["report", "--doc", str(page), "--results", str(out)])
    return capsys.readouterr().out


def test_recommend_json_cites_a_rating_and_explain_adds_up_to_the_score(
    tiny_cli, capsys, monkeypatch
):
    base, _ = tiny_cli
    # a prior that does not outweigh one rating (the default's 2 does), so the pick cites it
    monkeypatch.setenv("VIDREC_POPULARITY_WEIGHT", "0.5")
    rate = ["--rate", "Space Robots=5"]
    assert main([*base, "recommend", *rate, "--k", "3", "--json"]) == 0
    top = json.loads(capsys.readouterr().out)[0]
    assert top["because_id"] >= 0 and 0 < top["because_share"] <= 1
    assert top["attribution"][0]["title"] == "Space Robots"
    assert top["reason"].startswith("Because you rated Space Robots 5★")
    assert main([*base, "explain", *rate, top["title"], "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["term"] for r in rows] == ["Space Robots 5★", "popularity prior"]
    assert sum(r["total"] for r in rows) == pytest.approx(top["score"], abs=1e-4)
    assert main([*base, "explain", *rate, top["title"]]) == 0
    assert f"{top['title']}: score {top['score']:+.3f}, #1 of the unrated videos" in (
        capsys.readouterr().out
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["eval", "--folds", "1"], "--folds must be from 2 to 10"),
        (["bench", "--repeat", "0"], "--repeat must be from 1 to 100000"),
        (["bench", "--scale", "lots"], "give sizes like 100000,1000000"),
        (["bench", "--train-scale", "5000"], "choose from 100000 (943 users × 1,682 items)"),
        (["report", "--doc", "/nonexistent/evaluation.md"], "no page to update at"),
        (["recommend", "--rate", "Nope (1900)=5"], "Nope (1900)"),
        (["recommend", "--rate", "Space Robots=11"], "stars must be a number from 0.5 to 5"),
        (["explain", "--rate", "Space Robots=5", "Space Robots"], "only unrated videos"),
    ],
)
def test_bad_arguments_print_one_line_and_exit_2(tiny_cli, capsys, args, message):
    base, _ = tiny_cli
    assert main([*base, *args]) == 2
    err = capsys.readouterr().err  # progress bars may come first, on lines ended by \r
    last = err.strip().splitlines()[-1].strip()
    assert "Traceback" not in err and last.startswith("error:") and message in last


def test_explain_without_ratings_says_so_instead_of_printing_nan(tiny_cli, capsys):
    """Regression (issue 25): `explain` with no ratings printed NaN and <NA> cells."""
    base, _ = tiny_cli
    assert main([*base, "explain", "Space Robots"]) == 0
    out = capsys.readouterr().out
    assert "No ratings given, so the score is the popularity prior alone" in out
    rate = ["--rate", "Space Robots=5", "--rate", "Haunted Hollow=1"]
    assert main([*base, "explain", *rate, "Moon Base"]) == 0
    out += capsys.readouterr().out
    assert "popularity prior" in out
    for bad in ("NaN", "<NA>", "nan", "-0.000"):
        assert bad not in out


def test_an_error_after_a_progress_bar_starts_on_its_own_line(tmp_path):
    """Regression (issue 25): "Loading data: 0%| | 0/1 …error: Dataset …" on one line."""
    env = {"VIDREC_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "vidrec", "--dataset", "/nonexistent/folder", "recommend"],
        capture_output=True,  # bytes: text mode would turn each \r into a line end
        env=env,
        timeout=120,
    )
    err = done.stderr.decode()
    assert done.returncode == 2 and "Loading data" in err  # a bar was drawn first
    lines = err.split("\n")  # as a log file or `less` shows it: \r does not end a line
    errors = [line for line in lines if "error:" in line]
    assert len(errors) == 1 and errors[0].startswith("error: Dataset '/nonexistent/folder'")


def test_a_bad_environment_setting_is_one_line_not_a_traceback(tmp_path):
    env = {"VIDREC_ALPHA": "lots", "VIDREC_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "vidrec", "search", "space"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "error: VIDREC_ALPHA='lots' is not a valid float"


# ---- forget ------------------------------------------------------------------------------------
@pytest.fixture
def saved_viewers(tmp_path):
    """A home holding two saved viewers, one with an added video."""
    store = ViewerStore(tmp_path / STORE_FILE)
    ids = [new_viewer_id(), new_viewer_id()]
    for vid in ids:
        store.start(vid, "new", "", "New viewer", {1: 4.0})
    store.add_video(ids[0], ADDED_ID_START, "Our wedding video", "", ["Drama"])
    return tmp_path, store, ids


def test_forget_erases_one_viewer_and_says_so(saved_viewers, capsys):
    home, store, (gone, kept) = saved_viewers
    assert main(["--home", str(home), "forget", gone]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith(f"forgot viewer {gone}")
    assert store.load(gone) is None and store.load(kept) is not None
    data = (home / STORE_FILE).read_bytes()
    assert gone.encode() not in data and b"Our wedding video" not in data


@pytest.mark.parametrize(
    "args, message",
    [
        (["forget", "nobody"], "'nobody' is not a viewer id"),
        (["forget", "' OR 1=1; --"], "is not a viewer id"),
        (["forget"], "give a viewer id, or --idle-days N"),
        (["forget", "--idle-days", "0"], "--idle-days must be from 1"),
    ],
)
def test_forget_refuses_bad_input_in_one_line(saved_viewers, capsys, args, message):
    home, store, ids = saved_viewers
    assert main(["--home", str(home), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error:") and message in err
    assert all(store.load(vid) is not None for vid in ids)


def test_forget_an_unknown_viewer_or_a_home_without_viewers_is_an_error(saved_viewers, capsys):
    home, _, _ = saved_viewers
    stranger = new_viewer_id()
    assert main(["--home", str(home), "forget", stranger]) == 2
    assert capsys.readouterr().err.startswith(f"error: no saved viewer has id {stranger}")
    empty = home / "empty-home"
    assert main(["--home", str(empty), "forget", stranger]) == 2
    assert capsys.readouterr().err.startswith("error: no saved viewers at")
    assert not empty.exists()  # forget never creates a store


def test_forget_idle_days_erases_the_viewers_idle_that_long(saved_viewers, capsys):
    home, store, (old, recent) = saved_viewers
    with sqlite3.connect(home / STORE_FILE) as conn:  # a fake clock: make one viewer 40 days idle
        conn.execute("UPDATE viewers SET updated = updated - 40 * 86400 WHERE id = ?", (old,))
    assert main(["--home", str(home), "forget", "--idle-days", "30"]) == 0
    assert capsys.readouterr().out.startswith("forgot 1 viewer(s) idle for 30 days or more")
    assert store.load(old) is None and store.load(recent) is not None
