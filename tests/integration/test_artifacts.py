"""The artifact cache: trusted only when complete and unchanged; rebuilt otherwise."""

import json

import numpy as np
import pytest

from vidrec import artifacts
from vidrec.artifacts import load_artifacts
from vidrec.errors import DataError
from vidrec.verified import file_hash


def damage(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "name", ["embeddings.npy", "index.faiss", "mf.safetensors", "manifest.json"]
)
def test_damaged_cache_is_rebuilt_not_trusted(tiny_config, name, monkeypatch):
    first = load_artifacts(tiny_config)
    assert not first.loaded_from_cache
    assert load_artifacts(tiny_config).loaded_from_cache
    target = first.folder / name
    if name == "manifest.json":
        target.write_text("{not json")
    else:
        damage(target)
    rebuilt = load_artifacts(tiny_config)
    assert not rebuilt.loaded_from_cache
    np.testing.assert_allclose(rebuilt.embeddings, first.embeddings, atol=1e-5)
    assert load_artifacts(tiny_config).loaded_from_cache  # the fresh build is trusted again


def test_interrupted_build_leaves_nothing_trusted(tiny_config, monkeypatch):
    first = load_artifacts(tiny_config)
    assert load_artifacts(tiny_config).loaded_from_cache
    (first.folder / "manifest.json").unlink()  # as if the last step never ran

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed while training")

    monkeypatch.setattr(artifacts, "train_mf", crash)
    with pytest.raises(KeyboardInterrupt):
        load_artifacts(tiny_config)
    leftovers = [p.name for p in first.folder.parent.iterdir() if p.name.startswith(".tmp")]
    assert leftovers == []
    monkeypatch.undo()
    assert not load_artifacts(tiny_config).loaded_from_cache


def test_settings_change_the_cache_key(tiny_config):
    arts = load_artifacts(tiny_config)
    other = artifacts.artifact_key(arts.dataset, tiny_config.replace(factors=32))
    same = artifacts.artifact_key(arts.dataset, tiny_config.replace(alpha=0.9))
    assert other != arts.key and same == arts.key


def test_damaged_files_that_pass_the_manifest_are_a_clear_error(tiny_config):
    """A manifest that matches its damaged files (e.g. edited by hand) still never crashes."""
    arts = load_artifacts(tiny_config)
    (arts.folder / "index.faiss").write_bytes(b"junk")
    manifest = json.loads((arts.folder / "manifest.json").read_text())
    manifest["files"]["index.faiss"] = file_hash(arts.folder / "index.faiss")
    (arts.folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match="--force"):
        load_artifacts(tiny_config)
    assert not load_artifacts(tiny_config, force=True).loaded_from_cache


def test_manifest_records_checksums_and_timings(tiny_config):
    arts = load_artifacts(tiny_config)
    manifest = json.loads((arts.folder / "manifest.json").read_text())
    assert set(manifest["files"]) == set(artifacts.FILES)
    assert manifest["n_videos"] == 8 and manifest["n_ratings"] == len(arts.dataset.ratings)
    assert manifest["timings"]["embed_seconds"] > 0
