"""Typed errors whose messages tell a user what to fix."""


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
