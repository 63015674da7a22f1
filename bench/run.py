"""`make bench`: run every benchmark module in bench/ (bench_*.py, each with a `main()`), in order,
and write their results under bench/results/. Benchmarks are never part of `make test`."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(selected: list[str]) -> None:
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    for name in modules:
        if selected and name not in selected:
            continue
        print(f"== {name}", flush=True)
        importlib.import_module(f"bench.{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
