"""kill -9 at each stage of a build leaves nothing a later start trusts; that start rebuilds."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from vidrec.artifacts import load_artifacts
from vidrec.config import Config
from vidrec.data.movielens import ML100K_COUNTS, dataset_counts, load_movielens_100k

pytestmark = pytest.mark.slow  # each test builds (or downloads) in a child process: 3-7 s

# The child builds and SIGKILLs itself at one point: when a progress message names the stage
# (part-way through it), or at the first fsync, i.e. with a cache file written but not renamed.
CHILD = textwrap.dedent("""
    import os, signal, sys
    from vidrec.artifacts import load_artifacts
    from vidrec.config import Config

    stage, after = sys.argv[1], int(sys.argv[2])
    die = lambda *a: os.kill(os.getpid(), signal.SIGKILL)
    if stage == "fsync":
        os.fsync = die
    def progress(message, done, total):
        if stage in message and done >= after:
            die()
    load_artifacts(Config.from_env(), progress=progress)
    print("finished without being killed")
""")


def build_killed_at(config: Config, stage: str, after: int = 0) -> None:
    env = {**os.environ, "VIDREC_HOME": str(config.home), "VIDREC_DATASET": config.dataset}
    env |= {"VIDREC_FACTORS": str(config.factors), "VIDREC_MF_EPOCHS": str(config.mf_epochs)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, stage, str(after)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stdout, done.stderr[-2000:])


def artifact_state(config: Config) -> tuple[list[str], list[str]]:
    """(trusted artifact folders, leftover temp folders) under the home."""
    root = config.home / "artifacts"
    entries = list(root.iterdir()) if root.is_dir() else []
    trusted = [p.name for p in entries if (p / "manifest.json").is_file()]
    return trusted, [p.name for p in entries if p.name.startswith(".tmp")]


@pytest.mark.parametrize(
    "stage, after",
    [
        ("Embedding video texts", 1),
        ("Building FAISS index", 0),
        ("Training interest model", 2),
        ("Solving item-to-item weights", 0),
    ],
)
def test_a_build_killed_mid_stage_is_rebuilt_cleanly(tiny_config, stage, after):
    build_killed_at(tiny_config, stage, after)
    trusted, leftovers = artifact_state(tiny_config)
    assert trusted == [] and len(leftovers) == 1  # the dead build's temp folder, untrusted
    arts = load_artifacts(tiny_config)
    assert not arts.loaded_from_cache and arts.embeddings.shape[0] == 8
    assert artifact_state(tiny_config) == ([arts.folder.name], [])  # leftover reclaimed
    assert load_artifacts(tiny_config).loaded_from_cache


def test_a_rebuild_killed_over_a_good_cache_is_not_trusted_half_done(tiny_config):
    good = load_artifacts(tiny_config)
    manifest = json.loads((good.folder / "manifest.json").read_text())
    build_killed_at(tiny_config.replace(mf_epochs=5), "Training interest model", 2)
    again = load_artifacts(tiny_config)  # the old settings' cache is untouched and still valid
    assert again.loaded_from_cache and again.key == manifest["key"]


@pytest.mark.real_data  # downloads the real MovieLens 100K into its own home, twice
@pytest.mark.parametrize("stage", ["Verifying", "fsync"])
def test_a_download_killed_before_or_while_caching_is_fetched_again(tmp_path, stage):
    config = Config(home=tmp_path / "home")
    build_killed_at(config, stage)
    folder = config.home / "data" / "ml-100k"
    assert not (folder / "manifest.json").exists()  # nothing that a later start would trust
    dataset = load_movielens_100k(config.home)
    assert dataset_counts(dataset) == ML100K_COUNTS
    assert (folder / "manifest.json").is_file()
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
