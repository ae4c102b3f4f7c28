"""The command line of the data generator (``generators/simulate_data.py``, ``./lab generate``).

Its flags are declared with the run's configuration (``kafkalab.generator.config``), which
also writes them for background runs started from Airflow.
"""

from __future__ import annotations

import sys

from kafkalab.generator.config import GeneratorConfig, build_parser
from kafkalab.generator.runner import print_progress, run_generator


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = GeneratorConfig.from_namespace(args)
        summary = run_generator(config, progress=print_progress)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary.to_json() if args.json else summary.line())
    return 0 if summary.unacknowledged == 0 and summary.rejected == 0 else 1
