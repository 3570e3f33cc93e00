"""One SparkSession per process, with a checkpoint folder, Arrow on, and checks a user can act on.

Spark 4 needs Java 17 or 21 (Debian: ``openjdk-17-jre-headless``) and pyspark (pip); both are
checked before the JVM starts, so a missing one is one line, not a Py4J traceback.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

from vidrec.errors import ConfigError

log = logging.getLogger(__name__)
LOCAL_MASTER = "local[2]"  # both cores of the demo machine; any Spark master URL otherwise
ARROW_BATCH = 50_000  # rows per Arrow batch between the JVM and the Python workers

_SESSION: dict[str, Any] = {}  # master -> the one SparkSession of this process


def spark_session(master: str = LOCAL_MASTER, scratch: Path | None = None):
    """The process's SparkSession for this master, started once (a JVM start costs seconds)."""
    if master in _SESSION:
        return _SESSION[master]
    if _SESSION:
        raise ConfigError(f"a Spark session for {next(iter(_SESSION))} is already running")
    require_java()
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError(
            "--engine spark needs pyspark: python -m pip install -r requirements-dev.txt"
        ) from None
    # pyspark 4.3 warns on every pandas call under pandas 3; the calls used here work
    warnings.filterwarnings("ignore", "PySpark does not yet fully support", FutureWarning)
    scratch = Path(scratch or tempfile.mkdtemp(prefix="vidrec-spark-"))
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers run this interpreter
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    _share_package_path()
    builder = SparkSession.builder.master(master).appName("vidrec-build")
    for key, value in _settings(scratch).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    # Without it, checkpointInterval is ignored and long ALS lineages overflow the stack.
    spark.sparkContext.setCheckpointDir(str(scratch / "checkpoints"))
    _SESSION[master] = spark
    log.info("Spark %s on %s, scratch %s", spark.version, master, scratch)
    return spark


def _settings(scratch: Path) -> dict[str, str]:
    return {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.local.dir": str(scratch / "local"),
        "spark.sql.warehouse.dir": str(scratch / "warehouse"),
        "spark.driver.memory": os.environ.get("VIDREC_SPARK_DRIVER_MEMORY", "4g"),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(ARROW_BATCH),
        "spark.sql.shuffle.partitions": "8",
        "spark.sql.adaptive.enabled": "false",  # keep the block partitioning as laid out
        "spark.python.worker.reuse": "true",  # the encoder then loads once per worker
    }


def _share_package_path() -> None:
    """Local workers import vidrec from this checkout (a cluster's need it installed)."""
    root = str(Path(__file__).resolve().parents[2])
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if root not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([root, *paths])


def stop_session() -> None:
    """Stop the process's session (tests and benchmarks end with it)."""
    for spark in _SESSION.values():
        spark.stop()
    _SESSION.clear()


def require_java() -> str:
    """The java launcher Spark will use, or ConfigError saying how to install it."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        raise ConfigError(
            "--engine spark needs Java 17 or 21: apt-get install -y openjdk-17-jre-headless"
        )
    return java


def default_parallelism(spark) -> int:
    """How many tasks run at once: the number of blocks worth cutting the work into."""
    return max(1, int(spark.sparkContext.defaultParallelism))
