"""`python -m bench [name ...]`: run the named benchmarks, or all of them."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {"devdb": "bench.devdb_throughput", "outbox": "bench.outbox_overhead"}


def main(names: list[str]) -> int:
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(
            f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)}",
            file=sys.stderr,
        )
        return 2
    for name in names or list(BENCHMARKS):
        print(f"== {name}", flush=True)
        importlib.import_module(BENCHMARKS[name]).main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
