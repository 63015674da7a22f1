"""`make bench`: run every benchmark module in bench/ (bench_*.py, each with a `main()`), in order,
and write their results under bench/results/. Benchmarks are never part of `make test`."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(selected: list[str]) -> None:
    """Every benchmark runs even when an earlier one misses its target; the exit status says if any did."""
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    missed = []
    for name in modules:
        if selected and name not in selected:
            continue
        print(f"== {name}", flush=True)
        try:
            importlib.import_module(f"bench.{name}").main()
        except SystemExit as exc:
            if exc.code not in (None, 0):
                missed.append(name)
    if missed:
        print(f"target missed: {', '.join(missed)}")
        raise SystemExit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
