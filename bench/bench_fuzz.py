"""Run the property tests with many more generated cases than CI does, and count them.

Two property tests generate malformed input: ``tests/data/test_ingest_properties.py``
(files in every format ingest reads: CSV of any delimiter and encoding, gzip, Parquet,
.xlsx, broken in many ways; each must load with reconciled counts or be refused in one
line) and ``tests/service/test_schemathesis.py`` (requests to every operation of the
service's OpenAPI spec, valid and invalid; none may answer 5xx). CI runs them with a few
hundred cases; this runs them with ``--ingest-examples`` files and ``--api-examples``
requests per operation and mode, prints the cases actually tried (a generator that runs
out of distinct inputs tries fewer) against the CI count measured in the same run, and
``--write`` records them in bench/BENCHMARKS.md.

    python bench/bench_fuzz.py --ingest-examples 2000 --api-examples 200 --write
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from bench_record import machine_line, replace_section

SECTION = "fuzz"
ROOT = Path(__file__).resolve().parent.parent
TESTS = {
    "ingest": ("tests/data/test_ingest_properties.py", "MALLSEG_FUZZ_INGEST_EXAMPLES",
               re.compile(r"ingest properties: (\d+) generated files \((\d+) loaded, "
                          r"(\d+) refused\)")),
    "api": ("tests/service/test_schemathesis.py", "MALLSEG_FUZZ_API_EXAMPLES",
            re.compile(r"schemathesis: (\d+) generated requests over (\d+) operations; "
                       r"statuses (\{.*\})")),
}


def run(name: str, examples: int | None) -> dict[str, object]:
    """Run one property test (``examples=None``: as CI does); what it tried, how long."""
    path, variable, pattern = TESTS[name]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    if examples is not None:
        env[variable] = str(examples)
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                           path], cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    found = pattern.search(done.stdout)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{path} failed (exit {done.returncode}):\n{done.stdout[-3000:]}")
    return {"cases": int(found.group(1)), "detail": found.group(0), "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingest-examples", type=int, default=2000)
    parser.add_argument("--api-examples", type=int, default=200)
    parser.add_argument("--write", action="store_true", help="update bench/BENCHMARKS.md")
    args = parser.parse_args()
    ci = {name: run(name, None) for name in TESTS}
    big = {"ingest": run("ingest", args.ingest_examples), "api": run("api", args.api_examples)}
    total = sum(int(r["cases"]) for r in big.values())  # type: ignore[call-overload]
    ci_total = sum(int(r["cases"]) for r in ci.values())  # type: ignore[call-overload]
    text = [f"{name:<7} {r['detail']} in {r['seconds']:.0f} s (CI: {ci[name]['cases']} cases "
            f"in {ci[name]['seconds']:.0f} s)" for name, r in big.items()]
    text.append(f"total   {total:,} generated cases, none failing "
                f"({total / max(ci_total, 1):.0f}x the {ci_total:,} of a CI run); target "
                f"10,000: {'met' if total >= 10_000 else 'not met'}")
    print("\n".join(text))
    if args.write:
        command = (f"python bench/bench_fuzz.py --ingest-examples {args.ingest_examples} "
                   f"--api-examples {args.api_examples} --write")
        replace_section(SECTION, "\n".join([
            "## Property tests at scale (`bench/bench_fuzz.py`)", "", f"`{command}`", "",
            f"Measured on {machine_line()}.", "", "```", *text, "```"]))


if __name__ == "__main__":
    main()
