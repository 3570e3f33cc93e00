"""Cache folders trusted only when their manifest, written last, holds every file's SHA-256.

Used by the artifact cache and the MovieLens cache alike. A folder without a manifest is an
incomplete write; a file whose digest differs from the manifest's was damaged since. Writes go
to a temp file that is renamed into place, so a kill mid-write never leaves a half-written file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from vidrec.tempfiles import remove_dead

MANIFEST = "manifest.json"


def file_hash(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in blocks so large files need little memory."""
    with Path(path).open("rb") as handle:
        return hashlib.file_digest(handle, algorithm).hexdigest()


@contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """A binary handle whose content replaces path only if the block finishes without error."""
    prefix = f".{path.name}."
    remove_dead(path.parent, prefix)  # temp files of writers killed mid-write
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f"{prefix}{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())  # data on disk before the rename makes it visible
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_manifest(folder: Path, manifest: Mapping[str, Any]) -> None:
    """Write folder's manifest atomically; call it last, once every file it names is in place."""
    with atomic_writer(folder / MANIFEST) as handle:
        handle.write(json.dumps(manifest, indent=2).encode("utf-8"))


def read_manifest(folder: Path) -> dict[str, Any]:
    """The folder's manifest; OSError when absent, ValueError when not a JSON object."""
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    if not isinstance(manifest, dict):
        raise ValueError(f"{folder / MANIFEST} does not hold a JSON object")
    return manifest


def mismatched(folder: Path, digests: Mapping[str, str], names: Iterable[str]) -> list[str]:
    """Names whose file's SHA-256 differs from digests (no entry counts as a mismatch), in order.

    A missing file raises OSError: the folder is incomplete rather than damaged.
    """
    return [name for name in names if file_hash(folder / name) != digests.get(name)]
