"""Commands that write refuse a place they cannot write before any work starts (issue 25)."""

from pathlib import Path

import pandas as pd
import pytest

from vidrec import artifacts, cli
from vidrec.benchmarks import latency
from vidrec.evaluation import runner


@pytest.fixture
def no_work(monkeypatch):
    """Every long job a writing command could start, replaced by a failure: none may run."""

    def started(*args, **kwargs):
        raise AssertionError("the work started before the destination was checked")

    monkeypatch.setattr(runner, "run_eval", started)
    monkeypatch.setattr(latency, "run_bench", started)
    monkeypatch.setattr(artifacts, "load_artifacts", started)
    monkeypatch.setattr(cli, "_recommender", started)


def _unwritable(tmp_path) -> list[Path]:
    """Places no one can write, even root: under /proc, and under a file."""
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    return [Path("/proc/vidrec-results"), a_file / "inside", a_file]


@pytest.mark.parametrize(
    "command",
    [["eval"], ["eval", "--sweep", "--json"], ["bench"], ["bench", "--scale", "200"]],
)
def test_eval_and_bench_refuse_an_unwritable_out_before_running(command, tmp_path, capsys, no_work):
    for out in _unwritable(tmp_path):
        assert cli.main(["--home", str(tmp_path), *command, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: cannot write to the results folder")
        assert str(out) in err


def test_build_refuses_a_home_it_cannot_create_or_write(tmp_path, capsys, no_work):
    for home in _unwritable(tmp_path):
        assert cli.main(["--home", str(home), "build"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: cannot write to the home folder")


def test_the_check_creates_a_missing_folder_and_leaves_no_probe_behind(tmp_path):
    folder = tmp_path / "new" / "results"
    assert cli.writable_folder(folder, "the results folder") == folder
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_no_table_cell_reads_nan_or_minus_zero():
    """Regression (issue 25): `explain` printed NaN and <NA>; a rounded -0.0001 read -0.000."""
    frame = pd.DataFrame(
        {
            "term": ["A 5★", "popularity prior"],
            "content": [-0.0001, float("nan")],
            "total": [1.23456, -0.0],
            "rank": pd.array([3, None], dtype="Int64"),
        }
    )
    text = cli.readable_table(frame).to_string(index=False)
    assert "NaN" not in text and "<NA>" not in text and "-0.000" not in text
    assert cli.readable_table(frame).to_dict("list") == {
        "term": ["A 5★", "popularity prior"],
        "content": ["0.000", ""],
        "total": ["1.235", "0.000"],
        "rank": ["3", ""],
    }
