"""The Spark session the engine runs on when none is given: a local one.

On a cluster, ``spark-submit`` (or a Spark Connect URL) provides the session and this
module is not used; on one machine, :func:`local_spark_session` starts Spark in-process
with settings for a per-customer workload: few shuffle partitions (the per-customer
tables are small next to the event tables), no web UI or console progress bars, time
zone UTC (timestamps are naive local times of the data, never shifted), Arrow for the
small tables that come back to Python, and Python workers running the driver's own
interpreter (so they see the same installed libraries).

Spark needs Java 17 (Debian: ``apt-get install openjdk-17-jre-headless``); without it,
:func:`check_java` says so in one sentence instead of a gateway traceback.

Examples
--------
>>> spark = local_spark_session()
>>> spark.conf.get("spark.sql.session.timeZone")
'UTC'
"""

from __future__ import annotations

import logging
import os
import shutil
import sys

from pyspark.sql import SparkSession

__all__ = ["QUICK_START_JAVA_OPTIONS", "SparkUnavailableError", "check_java",
           "local_spark_session", "open_spark_session"]

logger = logging.getLogger(__name__)

QUICK_START_JAVA_OPTIONS = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1"
"""JVM options for short local runs (tests, small malls): the quick compiler only starts
Spark about twice as fast; long runs are better off without them."""


class SparkUnavailableError(RuntimeError):
    """Spark cannot start on this machine (no Java); the message says what to install."""


def check_java() -> None:
    """Raise :class:`SparkUnavailableError` when no Java runtime is found.

    Examples
    --------
    >>> check_java()  # this machine has Java
    """
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.path.exists(os.path.join(java_home, "bin", "java")):
        return
    if shutil.which("java") is None:
        raise SparkUnavailableError(
            "the Spark engine needs Java 17, and none was found: install it "
            "(Debian/Ubuntu: apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
        )


def local_spark_session(
    *,
    master: str = "local[2]",
    app_name: str = "mallseg",
    shuffle_partitions: int = 4,
    java_options: str = "",
    driver_memory: str | None = None,
) -> SparkSession:
    """Return the process's Spark session, starting a local one when there is none.

    Parameters
    ----------
    master:
        Spark master of a new session (``local[2]``: two worker threads).
    app_name:
        Application name shown by Spark.
    shuffle_partitions:
        Partitions of every shuffle (Spark's default, 200, is meant for clusters).
    java_options:
        Extra JVM options of the driver (for example :data:`QUICK_START_JAVA_OPTIONS`);
        only a new session takes them.
    driver_memory:
        Driver heap (``"4g"``); only a new session takes it.

    Raises
    ------
    SparkUnavailableError
        When no Java runtime is installed.

    Examples
    --------
    >>> local_spark_session().sparkContext.master.startswith("local")
    True
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    check_java()
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.pyspark.python", sys.executable)
    )
    if java_options:
        builder = builder.config("spark.driver.extraJavaOptions", java_options)
    if driver_memory:
        builder = builder.config("spark.driver.memory", driver_memory)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    logger.info("started a local Spark session (%s)", master)
    return spark


def open_spark_session(*, remote: str | None = None, master: str | None = None) -> SparkSession:
    """The session to run on: the active one, a Spark Connect one, or a local one.

    In order: the session already running in this process (the one ``spark-submit``
    starts, or a notebook's); a Spark Connect session when ``remote`` is given
    (``sc://host:15002``); when started by ``spark-submit`` without an active session, one
    built from its ``--master`` and ``--conf`` options; else :func:`local_spark_session`
    on ``master`` (default ``local[2]``).

    Raises
    ------
    SparkUnavailableError
        When a local session is needed and no Java runtime is installed.

    Examples
    --------
    >>> open_spark_session() is local_spark_session()
    True
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if remote:
        return SparkSession.builder.remote(remote).getOrCreate()
    if master is None and os.environ.get("PYSPARK_GATEWAY_PORT"):
        # started by spark-submit: its --master and --conf options make the session
        return SparkSession.builder.appName("mallseg").getOrCreate()
    return local_spark_session(master=master or "local[2]")
