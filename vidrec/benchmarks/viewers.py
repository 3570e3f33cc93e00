"""Many viewers at once without browsers: websocket clients rating on one `streamlit run app.py`.

Each client speaks Streamlit's own wire protocol (BackMsg / ForwardMsg protobufs) to a server on
127.0.0.1, as a browser tab does, so the server's cost is measured apart from Chromium's. Every
client opens the app as a new viewer, then rates one card of its current list per round; all
clients send each round's rating together, so their reruns overlap. Bounded in clients, ratings
and seconds; nothing leaves the loopback interface.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect

from vidrec.config import APP, REPO

MAX_CLIENTS = 32
MAX_RATINGS = 50
RATINGS = 20  # per client in a benchmark run: the "8 viewers x 20 ratings"
TIMEOUT = 900.0  # seconds for a whole run, start-up included
SERVER_TIME = re.compile(r"Server time for this page: (\d+) ms")
CARD = "-stars_"  # the rating widget of a recommendation card: its key is stars_<video id>
DONE = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}
EARLY = ForwardMsg.FINISHED_EARLY_FOR_RERUN  # st.rerun() or a newer rerun request: keep reading


@dataclass
class Page:
    """What one rerun sent back: the cards' rating widgets (with the fragment each is drawn in,
    as a browser reports it), the app's own timer, any errors."""

    cards: list[tuple[str, str]] = field(default_factory=list)
    server_ms: float | None = None
    errors: list[str] = field(default_factory=list)


def run_viewer_bench(home: Path, counts: list[int], ratings: int = RATINGS) -> list[dict]:
    """One row per client count: server time and round trip per rerun after a rating."""
    if not counts or max(counts) > MAX_CLIENTS or min(counts) < 1:
        raise ValueError(f"client counts must be 1..{MAX_CLIENTS}")
    if not 1 <= ratings <= MAX_RATINGS:
        raise ValueError(f"ratings per client must be 1..{MAX_RATINGS}")
    with streamlit_server(home) as http:
        url = http.replace("http://", "ws://") + "/_stcore/stream"
        return [asyncio.run(asyncio.wait_for(_round(url, n, ratings), TIMEOUT)) for n in counts]


async def _round(url: str, clients: int, ratings: int) -> dict:
    barrier = asyncio.Barrier(clients)
    runs = [_client(url, ratings, seed, barrier) for seed in range(clients)]
    results = await asyncio.gather(*runs)
    server = np.array([s for r in results for s in r["server_ms"]])
    trip = np.array([s for r in results for s in r["round_trip_ms"]])
    errors = [e for r in results for e in r["errors"]]
    return {
        "operation": f"{clients} viewers rating at once (websocket clients)",
        "clients": clients,
        "calls": len(server),
        "p50_ms": float(np.percentile(server, 50)),
        "p95_ms": float(np.percentile(server, 95)),
        "round_trip_p50_ms": float(np.percentile(trip, 50)),
        "round_trip_p95_ms": float(np.percentile(trip, 95)),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
    }


async def _client(url: str, ratings: int, seed: int, barrier: asyncio.Barrier) -> dict:
    rng = np.random.default_rng(seed)
    out = {"server_ms": [], "round_trip_ms": [], "errors": []}
    async with connect(url, subprotocols=["streamlit"], max_size=None) as ws:
        page, _ = await _rerun(ws, [])  # opening the app: not counted
        for _ in range(ratings):
            await barrier.wait()
            if not page.cards:
                out["errors"].append("no recommendation cards to rate")
                break
            widget, fragment = page.cards[int(rng.integers(len(page.cards)))]
            state = WidgetState(id=widget, string_value=str(int(rng.integers(5))))
            page, seconds = await _rerun(ws, [state], fragment)
            out["round_trip_ms"].append(seconds * 1000)
            out["server_ms"] += [page.server_ms] if page.server_ms is not None else []
            out["errors"] += page.errors
            if widget in dict(page.cards):  # a rated video leaves the list, or the rating was lost
                out["errors"].append(f"the rated card {widget.rsplit('-', 1)[-1]} is still listed")
    return out


async def _rerun(ws, widgets: list[WidgetState], fragment: str = "") -> tuple[Page, float]:
    """Ask for a rerun with these widget values (of that fragment only, when one is named, as a
    browser does for a widget drawn inside a fragment); read until the script has finished."""
    msg = BackMsg()
    msg.rerun_script.widget_states.widgets.extend(widgets)
    msg.rerun_script.fragment_id = fragment
    started = time.perf_counter()
    await ws.send(msg.SerializeToString())
    page = Page()
    while True:
        reply = ForwardMsg()
        reply.ParseFromString(await ws.recv())
        kind = reply.WhichOneof("type")
        if kind == "delta":
            _read_element(reply.delta, page)
        elif kind == "script_finished" and reply.script_finished in DONE:
            return page, time.perf_counter() - started
        elif kind == "script_finished" and reply.script_finished != EARLY:
            page.errors.append(f"the script did not finish: status {reply.script_finished}")
            return page, time.perf_counter() - started


def _read_element(delta, page: Page) -> None:
    if delta.WhichOneof("type") != "new_element":
        return
    element = delta.new_element
    kind = element.WhichOneof("type")
    if kind == "feedback" and CARD in element.feedback.id:
        page.cards.append((element.feedback.id, delta.fragment_id))
    elif kind == "markdown" and (found := SERVER_TIME.search(element.markdown.body)):
        page.server_ms = float(found.group(1))
    elif kind == "exception":
        page.errors.append(f"{element.exception.type}: {element.exception.message}")
    elif kind == "alert" and element.alert.format == Alert.ERROR:
        page.errors.append(element.alert.body)


@contextlib.contextmanager
def streamlit_server(home: Path, log_dir: Path | None = None, timeout: float = 300):
    """`streamlit run app.py` on a free loopback port until the block ends; yields its URL.

    Its output goes to ``log_dir``/streamlit-<port>.log when given (the browser tests keep it
    for a failing run), else nowhere.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "VIDREC_HOME": str(home)}
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP),
           "--server.headless", "true", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]  # fmt: skip
    with open(log_dir / f"streamlit-{port}.log", "w") if log_dir else open(os.devnull, "w") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_healthy(port, proc, timeout)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_healthy(port: int, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/_stcore/health"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {proc.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as r:
            if r.read().decode().strip() == "ok":
                return
        time.sleep(0.5)
    raise TimeoutError("streamlit did not become healthy")
