"""Catalog embeddings on the executors: one encoder per Python worker, batched, out to Parquet.

The texts go out as (row, text) partitions; ``mapInPandas`` embeds each partition with an encoder
loaded once per worker process (reused by its later partitions), the vectors are written as
Parquet, and the driver reads them back into catalog order for the FAISS index.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROWS_PER_PARTITION = 4_000  # texts per task: a few seconds of MiniLM on one core
SCHEMA = "row long, embedding array<float>"

_ENCODERS: dict[tuple, Any] = {}  # per worker process: (model, max_tokens, batch) -> encoder


def embed_texts(spark, texts: list[str], encoder_spec: tuple[str, int, int], out: Path):
    """(n, dim) float32 unit rows of the texts, embedded on Spark, in the texts' order."""
    n = len(texts)
    parts = max(spark.sparkContext.defaultParallelism, math.ceil(n / ROWS_PER_PARTITION))
    frame = pd.DataFrame({"row": np.arange(n, dtype=np.int64), "text": list(texts)})
    rows = spark.createDataFrame(frame).repartition(parts)
    embedded = rows.mapInPandas(_embed_partition(encoder_spec), SCHEMA)
    embedded.write.mode("overwrite").parquet(str(out))
    return gather(out, n)


def gather(folder: Path, n: int) -> np.ndarray:
    """The Parquet vectors of rows 0..n-1, stacked in row order on the driver."""
    import pyarrow.parquet as pq

    table = pq.read_table(str(folder), columns=["row", "embedding"])
    rows = table.column("row").to_numpy()
    flat = table.column("embedding").combine_chunks()
    dim = len(flat[0]) if len(flat) else 0
    vectors = np.asarray(flat.flatten().to_numpy(zero_copy_only=False), np.float32)
    out = np.zeros((n, dim), np.float32)  # (n, dim)
    if len(rows) != n or len(np.unique(rows)) != n:
        raise RuntimeError(f"Spark embedded {len(rows)} rows for {n} texts")
    out[rows] = vectors.reshape(len(rows), dim)
    return out


def _embed_partition(encoder_spec: tuple[str, int, int]):
    """The mapInPandas function: every batch of a partition through one cached encoder."""

    def embed(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        encoder = _encoder(encoder_spec)
        for batch in batches:
            vectors = encoder.encode(batch["text"].tolist())  # (b, dim), batched inside
            yield pd.DataFrame({"row": batch["row"].to_numpy(), "embedding": list(vectors)})

    return embed


def _encoder(spec: tuple[str, int, int]):
    """The worker's encoder for this spec, loaded on first use (seconds) and then kept."""
    if spec not in _ENCODERS:
        import torch

        from vidrec.content import ContentEncoder

        torch.set_num_threads(1)  # one task per core: threads would fight the other tasks
        model, max_tokens, batch_size = spec
        _ENCODERS[spec] = ContentEncoder(model, max_tokens=max_tokens, batch_size=batch_size)
    return _ENCODERS[spec]
