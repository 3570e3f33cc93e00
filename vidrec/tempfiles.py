"""Temp files a killed process left behind: named with its pid, removed once it is gone.

Builds and cache writes go to temp names and are renamed into place only when complete, so a
kill -9 can never leave a half-written file that is trusted; this only reclaims the disk.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

log = logging.getLogger(__name__)


def remove_dead(folder: Path, prefix: str) -> int:
    """Remove ``<prefix><pid>…`` entries in folder whose process no longer runs; how many."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)")
    removed = 0
    for path in Path(folder).glob(f"{_glob_escape(prefix)}*"):
        match = pattern.match(path.name)
        if match is None or _alive(int(match[1])):
            continue
        log.info("removing %s, left by a process that was killed", path)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed += 1
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # someone else's process, or not a pid: leave it alone
    return True


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)
