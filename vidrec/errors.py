"""Typed errors whose messages tell a user what to fix, and the checks every entry point shares."""

import operator
from typing import SupportsIndex


class VidrecError(Exception):
    """Base class: anything a user can act on (bad input, bad config, missing data)."""


class DataError(VidrecError, ValueError):
    """A catalog or ratings file is missing, malformed or inconsistent."""


class ConfigError(VidrecError, ValueError):
    """A setting (environment variable or CLI flag) has an invalid value."""


class UnknownVideoError(VidrecError, KeyError):
    """A video id or title is not in the catalog."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "unknown video"


def shown(value: object, limit: int = 40) -> str:
    """A value as quoted in a one-line message: repr, cut to ``limit`` characters."""
    text = repr(value)  # escapes control characters and lone surrogates
    return text if len(text) <= limit else text[: limit - 1] + "…"


def video_id_of(value: object) -> int:
    """A video id as int, or DataError: ints and numpy ints only, never floats, text or bools."""
    number = _whole(value)
    if isinstance(value, bool) or not 0 <= number < 2**63:
        raise DataError(f"a video id must be a non-negative whole number, got {shown(value)}")
    return number


def _whole(value: object) -> int:
    """The int a value stands for as an index, or -1 when it stands for none (floats, text)."""
    if not isinstance(value, SupportsIndex):
        return -1
    try:
        return operator.index(value)
    except TypeError:  # __index__ refused, e.g. a numpy array of several ints
        return -1
