"""No loader in the library can unpickle: data and artifacts are npy/npz, safetensors, JSON, CSV."""

import re
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from vidrec.config import REPO
from vidrec.content import BUNDLED_MODEL, ContentEncoder, resolve_model
from vidrec.errors import VidrecError

LIBRARY = REPO / "vidrec"
RISKY = re.compile(
    r"\bimport pickle\b|\bpickle\.(?:load|Unpickler)|torch\.load\(|joblib|read_pickle|dill\b"
)


def test_no_pickle_capable_call_in_the_library():
    sources = {p: p.read_text(encoding="utf-8") for p in LIBRARY.rglob("*.py")}
    assert len(sources) > 20
    risky = [f"{p.name}: {m}" for p, s in sources.items() for m in RISKY.findall(s)]
    assert risky == []
    loads = [(p.name, m) for p, s in sources.items() for m in re.findall(r"np\.load\([^)]*\)", s)]
    assert loads and all("allow_pickle=False" in call for _, call in loads), loads


def test_a_model_folder_with_only_pickled_weights_is_refused(tmp_path):
    """The bundled model with its weights re-saved as a pickle (.bin) is not loaded."""
    bundled = Path(resolve_model(BUNDLED_MODEL))
    for file in bundled.iterdir():
        if file.is_file() and file.suffix != ".safetensors":
            shutil.copy(file, tmp_path / file.name)
    torch.save(load_file(bundled / "model.safetensors"), tmp_path / "pytorch_model.bin")
    with pytest.raises(VidrecError, match="could not be loaded"):
        ContentEncoder(str(tmp_path))
