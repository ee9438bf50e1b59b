"""Run every benchmark, or the ones named: ``python -m bench [deadline_timers ...]``.

Each prints its figures (a readable summary and one JSON line). Sizes come from the
environment (see each module's docstring, e.g. ``MINWON_BENCH_CLOCKS``).
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("deadline_timers", "pipeline", "timer_minute")


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; one of {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    for name in names:
        importlib.import_module(f"bench.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
