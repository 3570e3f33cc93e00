"""The build on Apache Spark: embedding and MF training as Spark jobs, the same artifacts.

``SparkEngine`` implements ``artifacts.BuildEngine`` (local[2] by default, any master URL
otherwise); pyspark is imported only when a session starts, so the app and every other command
run without it (it is in requirements-dev.txt). ``session`` starts the one SparkSession,
``embed`` embeds the catalog on the executors, ``mf`` runs the MF half-steps as Spark jobs.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidrec.artifacts import Progress, make_encoder
from vidrec.config import Config
from vidrec.content import TokenStates
from vidrec.data import Dataset
from vidrec.mf import BiasedMF
from vidrec.spark.session import LOCAL_MASTER, spark_session

__all__ = ["SparkEngine", "triples"]


@dataclass
class SparkEngine:
    """Embeddings and MF on a Spark master; the driver gathers them into the same artifacts."""

    config: Config
    master: str = LOCAL_MASTER
    name: str = "spark"
    scratch: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="vidrec-spark-")))

    @property
    def spark(self):
        """The process's session for this master (started on first use)."""
        return spark_session(self.master)

    def embed(self, texts: list[str], say: Progress) -> np.ndarray:
        from vidrec.spark.embed import embed_texts

        c = self.config
        say("Embedding video texts on Spark", 0, 1)
        out = self.scratch / "embeddings.parquet"
        emb = embed_texts(self.spark, texts, (c.model, c.max_tokens, c.embed_batch), out)
        shutil.rmtree(out, ignore_errors=True)
        say("Embedding video texts on Spark", 1, 1)
        return emb

    def read(self, texts: list[str], say: Progress) -> tuple[np.ndarray, TokenStates]:
        """Embeddings from the executors; the token states the taste-trained reader pools come
        from one pass on the driver (they would need a Parquet column of arrays to gather)."""
        emb = self.embed(texts, say)
        _, tokens = make_encoder(self.config).read(
            texts, progress=lambda d, n: say("Caching token states on the driver", d, n)
        )
        return emb, tokens

    def train_mf(self, dataset: Dataset, config: Config, say: Progress) -> BiasedMF:
        from vidrec.spark.mf import fit_mf

        folder = Path(tempfile.mkdtemp(dir=self.scratch, prefix="mf-"))
        try:
            return fit_mf(
                self.spark,
                triples(dataset),
                config.mf_params(),
                folder,
                lambda e, n, h: say("Training interest model on Spark", e, n),
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        """Remove the scratch folder (the session stays up for the process's later builds)."""
        shutil.rmtree(self.scratch, ignore_errors=True)


def triples(dataset: Dataset):
    """A dataset's ratings as 0-based rows (catalog rows as items), as artifacts.train_mf."""
    from vidrec.spark.mf import Triples

    ratings = dataset.ratings
    items = np.searchsorted(dataset.catalog["video_id"].to_numpy(), ratings["video_id"])
    user_ids, users = np.unique(ratings["user_id"].to_numpy(), return_inverse=True)
    return Triples(
        users.astype(np.int32),
        items.astype(np.int32),
        ratings["rating"].to_numpy(np.float64),
        len(user_ids),
        len(dataset.catalog),
    )
