"""Run every benchmark at its recorded size and rewrite bench/BENCHMARKS.md.

    python bench/run_all.py            # all of them (about 15 minutes on 2 cores)
    python bench/run_all.py ingest     # only the ones whose name contains "ingest"
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent

COMMANDS: dict[str, list[str]] = {
    "simulate": ["bench_simulate.py", "--customers", "100000", "1000000", "--days", "1250",
                 "--chunk", "50000", "--write"],
    "ingest": ["bench_ingest.py", "--customers", "1000000", "--days", "1250", "--write"],
    "features": ["bench_features.py", "--customers", "100000", "1000000", "--days", "1250",
                 "--repeats", "3", "1", "--write"],
    "selection": ["bench_selection.py", "--customers", "1000000", "--baseline-rows", "20000",
                  "--repeats", "3", "--write"],
    "end_to_end": ["bench_steps.py", "--customers", "1000000", "--days", "1250",
                   "--write"],
    "loyalty": ["bench_loyalty.py", "--customers", "1000000", "--baseline-purchases",
                "10000000", "--repeats", "3", "--write"],
    "insights": ["bench_insights.py", "--customers", "1000000", "--days", "1250",
                 "--baseline-customers", "20000", "--write"],
    "service": ["bench_service.py", "--customers", "20000", "--days", "90", "--seconds", "10",
                "--write"],
    "load": ["bench_load.py", "--events", "100000", "--clients", "8", "--per-request", "250",
             "--soak-minutes", "5", "--write"],
    "fuzz": ["bench_fuzz.py", "--ingest-examples", "600", "--api-examples", "270", "--write"],
}


def main() -> int:
    wanted = sys.argv[1:]
    failures = 0
    for name, command in COMMANDS.items():
        if wanted and not any(w in name for w in wanted):
            continue
        print(f"== {name}: python bench/{' '.join(command)}", flush=True)
        result = subprocess.run([sys.executable, *command], cwd=HERE, check=False)
        failures += result.returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
