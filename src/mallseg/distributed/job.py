r"""The Spark engine as a job: ``spark-submit`` it, or run it with ``python -m``.

::

    spark-submit --master yarn mallseg/distributed/job.py --inputs s3a://mall/inputs \
        --out s3a://mall/segments --k auto
    python -m mallseg.distributed.job --inputs mall-sim/inputs --out segments --k 6
    python -m mallseg.distributed.job --remote sc://spark-host:15002 --inputs ... --out ...

What it writes under ``--out`` is what :func:`mallseg.distributed.run.segment_on_spark`
writes: ``assignments/`` (Parquet, one row per customer) and ``segments.json``.

The session: the one ``spark-submit`` provides (its ``--master``), else a Spark Connect
session when ``--remote`` is given, else a local one (``--master``, default ``local[2]``).
A problem with the inputs or the arguments is one line on stderr and exit code 2.

Examples
--------
>>> main(["--inputs", "/no/such/folder", "--out", "/tmp/segments"])  # message on stderr
2
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import date

from mallseg.distributed.run import SparkSegmentRequest, segment_on_spark
from mallseg.distributed.segment import DEFAULT_SAMPLE_SIZE
from mallseg.distributed.session import SparkUnavailableError
from mallseg.features.lenses import LENSES

__all__ = ["main", "parse_arguments"]

logger = logging.getLogger("mallseg.distributed.job")


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The job's command line.

    Examples
    --------
    >>> parse_arguments(["--inputs", "in", "--out", "out", "--k", "5"]).k
    5
    >>> parse_arguments(["--inputs", "in", "--out", "out", "--lens", "age,gender"]).lens
    ['age', 'gender']
    """
    parser = argparse.ArgumentParser(
        prog="python -m mallseg.distributed.job",
        description="Segment a mall's customers on Spark from a folder of canonical tables.",
    )
    parser.add_argument("--inputs", required=True,
                        help="folder with one <table>/ (Parquet) per canonical table")
    parser.add_argument("--out", required=True, help="folder for assignments/ and "
                        "segments.json")
    parser.add_argument("--k", type=_k_value, default="auto",
                        help="number of segments, or 'auto' (default)")
    parser.add_argument("--lens", type=_lens_value, default=None,
                        help="lens name, or features separated by commas (default: the "
                        "richest lens the data supports)")
    parser.add_argument("--as-of", type=date.fromisoformat, default=None,
                        help="reference day of the features, YYYY-MM-DD (default: the "
                        "latest event in the data)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-init", type=int, default=3, help="k-means starts (best kept)")
    parser.add_argument("--sample-size", type=int, default=DEFAULT_SAMPLE_SIZE,
                        help="customers brought back to profile and name the segments")
    parser.add_argument("--master", default=None,
                        help="Spark master when not run by spark-submit (default local[2])")
    parser.add_argument("--remote", default=None,
                        help="Spark Connect URL, such as sc://host:15002")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the job; return the exit code (0 done, 2 unusable inputs or arguments)."""
    arguments = parse_arguments(argv)
    lens = arguments.lens
    request = SparkSegmentRequest(
        inputs=arguments.inputs, out=arguments.out, k=arguments.k,
        lens=tuple(lens) if isinstance(lens, list) else lens, as_of=arguments.as_of,
        seed=arguments.seed, n_init=arguments.n_init, sample_size=arguments.sample_size,
        remote=arguments.remote, master=arguments.master,
    )
    try:
        outcome = segment_on_spark(request)
    except (ValueError, SparkUnavailableError) as error:
        sys.stderr.write(f"mallseg job: {error}\n")
        return 2
    for row in outcome.segmentation.segment_table().to_dict(orient="records"):
        logger.info("segment %s: %s, %s customers (%.0f%%)", row["segment"], row["name"],
                    f"{row['size']:,}", 100 * float(row["share"]))
    logger.info("wrote %s and %s", outcome.assignments_path, outcome.summary_path)
    return 0


def _k_value(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--k {text!r}: expected 'auto' or a whole number such as 6"
        ) from None
    if value < 2:
        raise argparse.ArgumentTypeError(f"--k {value}: at least 2 segments")
    return value


def _lens_value(text: str) -> str | list[str]:
    name = text.strip()
    if name in LENSES:
        return name
    return [part.strip() for part in name.split(",") if part.strip()]


if __name__ == "__main__":  # pragma: no cover - the entry point
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sys.exit(main())
