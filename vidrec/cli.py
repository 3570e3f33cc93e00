"""Command line: build, recommend, explain, search, similar, eval, bench, forget (`-h` for help).

Commands that write check where they write before any work starts, so a bad ``--out`` or
``--home`` fails in a second with one line, not after a five-minute run.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

import pandas as pd

from vidrec.config import Config
from vidrec.data.schema import parse_stars
from vidrec.errors import VidrecError, shown

log = logging.getLogger(__name__)
OUTPUT_COLUMNS = [
    "video_id",
    "title",
    "score",
    "content_score",
    "collab_score",
    "popularity_score",
    "predicted_rating",
    "reason",
]
JSON_COLUMNS = [*OUTPUT_COLUMNS, "because_id", "because_share", "attribution"]


def main(argv: list[str] | None = None) -> int:
    """Run one command; user errors print one line and exit 2, never a traceback."""
    args = _parser().parse_args(argv)
    args.argv = argv
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        config = Config.from_env(home=args.home, dataset=args.dataset, model=args.model)
        return args.run(args, config)
    except VidrecError as exc:
        _end_progress(own_line=True)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _end_progress(own_line=True)
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        _end_progress(own_line=False)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vidrec", description=__doc__)
    p.add_argument("--home", help="cache folder (default $VIDREC_HOME or ~/.cache/vidrec)")
    p.add_argument("--dataset", help="'ml-100k' or a folder of your own data")
    p.add_argument("--model", help="Transformer: hub id or local folder")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(required=True, metavar="command")

    b = sub.add_parser("build", help="download data, embed, index, train; cache it all")
    b.add_argument("--force", action="store_true", help="rebuild even if a valid cache exists")
    b.add_argument(
        "--engine",
        choices=("local", "spark"),
        default="local",
        help="where embedding and MF training run: this process, or Spark (needs pyspark, Java)",
    )
    b.add_argument("--master", help="Spark master URL with --engine spark (default local[2])")
    b.set_defaults(run=cmd_build)

    r = sub.add_parser("recommend", help="top-k for some ratings or a MovieLens user")
    r.add_argument("--rate", action="append", default=[], metavar="TITLE=STARS")
    r.add_argument("--user", type=int, help="recommend for this MovieLens user id")
    r.add_argument(
        "--alpha",
        type=float,
        help="1 = content only, 0 = collaborative only (raised "
        "for a viewer with few ratings: VIDREC_ALPHA_NEW)",
    )
    r.add_argument("--diversity", type=float, default=0.0, help="MMR trade-off, 0..1")
    _add_k_json(r)
    r.set_defaults(run=cmd_recommend)

    s = sub.add_parser("search", help="find videos by a plain-language description")
    s.add_argument("text")
    _add_k_json(s)
    s.set_defaults(run=cmd_search)

    x = sub.add_parser("explain", help="one video's score split per rating, and what-ifs")
    x.add_argument("title", help="the (unrated) video to explain")
    x.add_argument("--rate", action="append", default=[], metavar="TITLE=STARS")
    x.add_argument("--user", type=int, help="explain for this MovieLens user id")
    x.add_argument(
        "--alpha",
        type=float,
        help="1 = content only, 0 = collaborative only (raised "
        "for a viewer with few ratings: VIDREC_ALPHA_NEW)",
    )
    x.add_argument("--json", action="store_true", help="print JSON instead of a table")
    x.set_defaults(run=cmd_explain)

    m = sub.add_parser("similar", help="videos whose content is nearest to a title's")
    m.add_argument("title")
    _add_k_json(m)
    m.set_defaults(run=cmd_similar)

    e = sub.add_parser("eval", help="protocols A (top-K), B (stars CV), C (cold items), tags")
    e.add_argument("--sweep", action="store_true", help="also evaluate α from 0 to 1")
    e.add_argument("--no-baselines", action="store_true", help="skip implicit and Surprise")
    e.add_argument("--folds", type=int, default=5, help="protocol B folds (2-10)")
    _add_out_json(e)
    e.set_defaults(run=cmd_eval)

    n = sub.add_parser("bench", help="latency of the online paths (p50/p95), build, scale")
    n.add_argument("--repeat", type=int, default=200, help="timed calls per operation (1-100000)")
    n.add_argument("--app", action="store_true", help="also time app reruns after a rating")
    n.add_argument("--build", action="store_true", help="also time a cold build in a temp home")
    n.add_argument("--scale", metavar="N,N", help="synthetic catalog sizes, e.g. 100000,1000000")
    n.add_argument(
        "--train-scale",
        metavar="N,N",
        help="only the MF training benchmark, on rating sets of 100000,1000000,10000000",
    )
    n.add_argument(
        "--spark",
        action="store_true",
        help="with --train-scale: MF fits on this process and on Spark local[2], up to 25000000",
    )
    n.add_argument(
        "--time-limit", type=int, default=1200, help="with --spark: seconds per fit (60-86400)"
    )
    n.add_argument(
        "--spark-parity",
        action="store_true",
        help="only protocol A nDCG@10 of a Spark-built model against this machine's",
    )
    n.add_argument(
        "--viewers",
        metavar="N,N",
        help="only the many-viewers load test: N websocket clients rating at once, e.g. 1,4,8",
    )
    _add_out_json(n)
    n.set_defaults(run=cmd_bench)

    o = sub.add_parser("report", help="regenerate docs/evaluation.md's tables from results/")
    o.add_argument("--doc", help="the page to update (default: the repo's docs/evaluation.md)")
    o.add_argument("--results", help="results folder (default: the repo's results/)")
    o.set_defaults(run=cmd_report)

    f = sub.add_parser("forget", help="erase a saved viewer (its ratings and added videos)")
    f.add_argument("viewer", nargs="?", help="the viewer id: the viewer=… part of the app's link")
    f.add_argument("--idle-days", type=int, help="instead, erase every viewer idle this many days")
    f.set_defaults(run=cmd_forget)
    return p


def _add_out_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", help="results folder (default: the repo's results/)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")


def _add_k_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--k", type=int, default=10, help="number of results (1-1000)")
    p.add_argument("--json", action="store_true", help="print a JSON array")


_BARS: list = []  # the progress bars still open, closed before an error is printed


def _progress():
    """A tqdm bar per stage, on stderr."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def update(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            for old in bars.values():
                old.close()
                _BARS.remove(old)
            bars.clear()
            bar = bars[stage] = tqdm(total=total, desc=stage, file=sys.stderr, leave=False)
            _BARS.append(bar)
        bar.total = total
        bar.n = done
        bar.refresh()

    return update


def _end_progress(own_line: bool) -> None:
    """Clear any open bar; ``own_line``: what is printed next must start on a line of its own.

    A terminal gets the bar's line wiped; a pipe or log keeps the bar's text, so it also gets a
    newline after it.
    """
    if not _BARS:
        return
    for bar in _BARS:
        bar.close()
    _BARS.clear()
    if own_line and not sys.stderr.isatty():
        sys.stderr.write("\n")
    sys.stderr.flush()


def _recommender(config: Config, text: bool = False):
    """The recommender; text=True also loads the Transformer, for free-text search."""
    from vidrec.artifacts import load_recommender

    return load_recommender(config, progress=_progress(), text=text)


def cmd_build(args, config: Config) -> int:
    from vidrec.artifacts import load_artifacts, make_encoder

    writable_folder(config.home, "the home folder (--home or VIDREC_HOME)")
    if args.engine != "spark":
        if args.master:
            raise VidrecError("--master needs --engine spark")
        arts = load_artifacts(config, make_encoder(config), _progress(), force=args.force)
    else:
        from vidrec.spark import SparkEngine
        from vidrec.spark.session import LOCAL_MASTER

        engine = SparkEngine(config, args.master or LOCAL_MASTER)
        try:
            arts = load_artifacts(config, None, _progress(), force=args.force, engine=engine)
        finally:
            engine.close()
    how = "loaded from cache" if arts.loaded_from_cache else "built"
    timing = ", ".join(f"{k} {v:.1f}" for k, v in arts.timings.items())
    print(
        f"{how}: {len(arts.dataset.catalog)} videos, {len(arts.dataset.ratings)} ratings, "
        f"{arts.index.kind} index, {arts.mf.params.factors}-d MF in {arts.folder} ({timing})"
    )
    return 0


def cmd_recommend(args, config: Config) -> int:
    from vidrec.attribution import explain, recommend_with_reasons
    from vidrec.present.why import top_terms

    rec = _recommender(config)
    ratings = _ratings(rec, args)
    ranking = rec.rank(ratings, rec.query(k=args.k, alpha=args.alpha, diversity=args.diversity))
    out = recommend_with_reasons(rec, ranking)
    if args.json:  # the three ratings that lift each pick most, in score units
        att = explain(rec, ranking)
        out["attribution"] = [top_terms(att, i, rec) for i in range(len(out))]
    _emit(out[JSON_COLUMNS if args.json else OUTPUT_COLUMNS], args.json)
    return 0


def cmd_explain(args, config: Config) -> int:
    from vidrec.attribution import counterfactual, explain
    from vidrec.present.why import split_table

    rec = _recommender(config)
    ratings = _ratings(rec, args)
    video = rec.videos.find_title(args.title)
    ranking = rec.rank(ratings, rec.query(alpha=args.alpha))
    att = explain(rec, ranking, [video])
    what_if = counterfactual(rec, ranking, video)
    table = split_table(att, what_if, rec)
    if args.json:
        _emit(table, True)
        return 0
    title = rec.catalog["title"].to_numpy()[rec.videos.rows_of([video])[0]]
    rank = f"#{what_if.rank}" if what_if.rank else f"below #{what_if.depth}"
    print(f"{title}: score {_number(att.score[0], '+.3f')}, {rank} of the unrated videos")
    if not ratings:
        print(
            "No ratings given, so the score is the popularity prior alone and every video is "
            'ranked by popularity. Add --rate "Title (Year)=STARS" or --user ID to see what '
            "each rating adds."
        )
        return 0
    dropped = table["rank_without"].isna() & ~table["term"].str.endswith(" prior")
    cells = table.astype({"rank_without": object})
    cells.loc[dropped, "rank_without"] = f"below #{what_if.depth}"  # not a blank: it fell out
    _emit(cells, False)
    return 0


def _ratings(rec, args) -> dict[int, float]:
    """--user's MovieLens ratings, then each --rate "Title=STARS" on top."""
    ratings = _user_ratings(rec, args.user) if args.user is not None else {}
    for item in args.rate:
        title, sep, stars = item.rpartition("=")
        if not sep or not title.strip():
            raise VidrecError(f'--rate {item!r}: write it as "Title (Year)=STARS"')
        ratings[rec.videos.find_title(title)] = _stars(stars, item)
    return ratings


def _user_ratings(rec, user: int) -> dict[int, float]:
    from vidrec.data import load_dataset
    from vidrec.data.schema import user_ratings

    return user_ratings(load_dataset(rec.config).ratings, user)


def _stars(text: str, item: str) -> float:
    value = parse_stars(text, text=True)
    if value is None:
        raise VidrecError(f"--rate {item!r}: stars must be a number from 0.5 to 5")
    return value


def cmd_search(args, config: Config) -> int:
    _emit(_recommender(config, text=True).videos.search(args.text, k=args.k), args.json)
    return 0


def cmd_similar(args, config: Config) -> int:
    rec = _recommender(config)
    _emit(rec.videos.similar(rec.videos.find_title(args.title), k=args.k), args.json)
    return 0


def cmd_eval(args, config: Config) -> int:
    from vidrec.evaluation import report, runner

    _in_range("--folds", args.folds, 2, 10)
    _out_folder(args)
    rows = runner.run_eval(
        config, args.sweep, not args.no_baselines, args.folds, progress=_progress()
    )
    doc = _saved("eval", rows, args, config)
    print(json.dumps(rows, indent=2) if args.json else report.results_section(evals=doc))
    return 0


def cmd_bench(args, config: Config) -> int:
    from vidrec.benchmarks.latency import build_times, run_bench
    from vidrec.evaluation import report

    _in_range("--repeat", args.repeat, 1, 100_000)
    sizes = _sizes(args.scale) if args.scale else []
    _out_folder(args)
    if args.train_scale and args.spark:
        return _spark_train_bench(args, config)
    if args.train_scale:  # its own run: the latency rows saved before stay as they are
        return _train_bench(_train_sizes(args.train_scale), args, config)
    if args.spark_parity:
        return _spark_parity(args, config)
    if args.viewers:  # likewise
        return _viewer_bench(_viewer_counts(args.viewers), args, config)
    rows = run_bench(_recommender(config, text=True), repeat=args.repeat)
    if args.app:
        from vidrec.benchmarks.rerun import rerun_after_rating

        n_videos = rows[0]["n_videos"]
        for view in ("For you", "Why these?", "Interest map"):
            rows.append({"n_videos": n_videos, **rerun_after_rating(view=view)})
    if args.build:
        rows += build_times(config)
    doc = _saved("bench", rows, args, config)
    out = [report.results_section(bench=doc)]
    if sizes:
        from vidrec.benchmarks.scale import run_scale_bench

        scale = _saved(
            "scale", run_scale_bench(sizes, args.repeat, _progress(), config), args, config
        )
        rows = scale["rows"]
        out.append(report.results_section(scale=scale))
    print(json.dumps(rows, indent=2) if args.json else "\n\n".join(out))
    return 0


def _train_bench(sizes: list[int], args, config: Config) -> int:
    from vidrec.benchmarks.training import run_train_bench
    from vidrec.evaluation import report

    train = _saved("train", run_train_bench(sizes, args.repeat, _progress()), args, config)
    rows = train["rows"]
    print(json.dumps(rows, indent=2) if args.json else report.results_section(train=train))
    return 0


def _spark_train_bench(args, config: Config) -> int:
    from vidrec.benchmarks.spark_scale import SHAPES, run_spark_train_bench

    sizes = _whole_numbers(args.train_scale) or []
    if not sizes or any(n not in SHAPES for n in sizes):
        raise VidrecError(f"--train-scale {args.train_scale!r} with --spark: choose from "
                          + ", ".join(f"{n}" for n in SHAPES))  # fmt: skip
    _in_range("--time-limit", args.time_limit, 60, 86_400)
    rows = run_spark_train_bench(sizes, args.time_limit, _progress())
    _saved("spark_train", rows, args, config)
    _emit_rows(rows, args.json)
    return 0


def _spark_parity(args, config: Config) -> int:
    from vidrec.benchmarks.spark_scale import spark_parity
    from vidrec.spark import SparkEngine

    engine = SparkEngine(config)
    try:
        rows = spark_parity(config, engine, _progress())
    finally:
        engine.close()
    _saved("spark_parity", rows, args, config)
    _emit_rows(rows, args.json)
    return 0


def _emit_rows(rows: list[dict], as_json: bool) -> None:
    _end_progress(own_line=True)
    print(json.dumps(rows, indent=2) if as_json else readable_table(pd.DataFrame(rows)).to_string())


def _viewer_bench(counts: list[int], args, config: Config) -> int:
    from vidrec.benchmarks.viewers import RATINGS, run_viewer_bench
    from vidrec.evaluation import report

    _recommender(config)  # builds the cache first if needed, with progress shown here
    say = _progress()
    say(f"{', '.join(map(str, counts))} viewers x {RATINGS} ratings on one server", 0, 1)
    viewers = _saved("viewers", run_viewer_bench(config.home, counts), args, config)
    rows = viewers["rows"]
    print(json.dumps(rows, indent=2) if args.json else report.results_section(viewers=viewers))
    return 0


def cmd_report(args, config: Config) -> int:
    from pathlib import Path

    from vidrec.evaluation import report, results

    doc = Path(args.doc) if args.doc else results.EVALUATION_DOC
    folder = Path(args.results) if args.results else results.RESULTS
    changed = report.regenerate(doc, folder)  # checks everything first; refusals write nothing
    print(f"{doc}: {'updated' if changed else 'already up to date'}")
    return 0


def cmd_forget(args, config: Config) -> int:
    """Erase one saved viewer, or every viewer idle for --idle-days, from the viewer store."""
    from vidrec.viewer.store import STORE_FILE, ViewerStore, valid_id

    if (args.viewer is None) == (args.idle_days is None):
        raise VidrecError("forget: give a viewer id, or --idle-days N (not both)")
    if args.viewer is not None and not valid_id(args.viewer):
        raise VidrecError(
            f"{shown(args.viewer)} is not a viewer id: it is the 22 characters after "
            "viewer= in the app's link"
        )
    if args.idle_days is not None:
        _in_range("--idle-days", args.idle_days, 1, 100_000)
    path = config.home / STORE_FILE
    if not path.is_file():
        raise VidrecError(f"no saved viewers at {path} (check --home or VIDREC_HOME)")
    store = ViewerStore(writable_folder(path.parent, "the home folder") / STORE_FILE)
    if args.idle_days is not None:
        gone = store.forget_idle(args.idle_days)
        print(f"forgot {gone} viewer(s) idle for {args.idle_days} days or more in {path}")
    elif store.forget(args.viewer):
        print(f"forgot viewer {args.viewer}: its ratings and added videos are erased from {path}")
    else:
        raise VidrecError(f"no saved viewer has id {args.viewer} in {path}")
    return 0


def writable_folder(folder: Path, what: str) -> Path:
    """The folder, created if need be, once a probe file could be written there; else one line.

    Every command that writes calls this before its work starts.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".vidrec-probe-"):
            pass
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise VidrecError(f"cannot write to {what} {folder}: {why}; choose another") from None
    return folder


def _out_folder(args) -> Path:
    """Where eval and bench save their runs (--out, else the repo's results/), checked."""
    from vidrec.evaluation import results

    folder = Path(args.out).expanduser() if args.out else results.RESULTS
    return writable_folder(folder, "the results folder (--out)")


def _saved(kind: str, rows: list[dict], args, config: Config) -> dict:
    """Save rows under --out (or results/) with the command that made them; the saved doc."""
    from vidrec.evaluation import results

    folder = _out_folder(args)
    command = "python -m vidrec " + " ".join(sys.argv[1:] if args.argv is None else args.argv)
    try:
        path = results.save(kind, rows, command, config, folder)
    except OSError as exc:  # e.g. the disk filled up during the run
        raise VidrecError(f"cannot save {kind}.json in {folder}: {exc.strerror or exc}") from None
    log.info("saved %s", path)
    return results.load(kind, folder)


def _in_range(flag: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise VidrecError(f"{flag} must be from {low} to {high}, got {value}")


def _whole_numbers(text: str) -> list[int] | None:
    """Comma-separated whole numbers ("1_000" allowed), or None when a part is not one."""
    try:
        return [int(part.replace("_", "")) for part in text.split(",")]
    except ValueError:
        return None


def _viewer_counts(text: str) -> list[int]:
    from vidrec.benchmarks.viewers import MAX_CLIENTS

    return _bounded_list("--viewers", text, "client counts like 1,4,8", "count", 1, MAX_CLIENTS)


def _sizes(text: str) -> list[int]:
    return _bounded_list("--scale", text, "sizes like 100000,1000000", "size", 100, 10_000_000)


def _bounded_list(flag: str, text: str, example: str, noun: str, low: int, high: int):
    """A flag's comma-separated whole numbers, each within [low, high], or a clear error."""
    values = _whole_numbers(text)
    if values is None:
        raise VidrecError(f"{flag} {text!r}: give {example}")
    for n in values:
        _in_range(f"{flag} {noun}", n, low, high)
    return values


def _train_sizes(text: str) -> list[int]:
    from vidrec.benchmarks.training import SHAPES

    sizes = _whole_numbers(text) or []
    if not sizes or any(n not in SHAPES for n in sizes):
        shapes = ", ".join(f"{n} ({u:,} users × {i:,} items)" for n, (u, i) in SHAPES.items())
        raise VidrecError(f"--train-scale {text!r}: choose from {shapes}")
    return sizes


def _emit(frame: pd.DataFrame, as_json: bool) -> None:
    if as_json:
        print(frame.to_json(orient="records", force_ascii=False, indent=2))
        return
    with pd.option_context("display.width", 160, "display.max_colwidth", 60):
        print(readable_table(frame).to_string(index=False))


def readable_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A table as text cells: numbers to 3 decimals with zero never "-0.000", blanks not NaN."""
    out = frame.astype(object)
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_float_dtype(column):
            out[name] = [_number(v, ".3f") for v in column]
        else:
            out[name] = ["" if pd.isna(v) else str(v) for v in column]
    return out


def _number(value: float, spec: str) -> str:
    """A number as text; blank when missing, and a rounded-away minus dropped ("0.000")."""
    if pd.isna(value):
        return ""
    text = format(value, spec)
    return text if text.strip("+-0.") else format(0.0, spec)
