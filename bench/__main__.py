"""`python -m bench [NAME [OPTIONS]]`: one benchmark with its options, or all with defaults.

`make bench` runs them all: the dev database's throughput, the outbox decorators' overhead,
the relay's drain and latency against raw baselines, the relay's drain beside a million
published events (`python -m bench history --help`), and the whole stack end to end
(`python -m bench e2e --help` lists its options).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

BENCHMARKS = {
    "devdb": "bench.devdb_throughput",
    "outbox": "bench.outbox_overhead",
    "relay": "bench.relay_bench",
    "history": "bench.history",
    "e2e": "bench.e2e",
    "rebuild": "bench.rebuild",
}


def main(argv: list[str]) -> int:
    if argv and not argv[0].startswith("-"):
        name, options = argv[0], argv[1:]
        if name not in BENCHMARKS:
            choices = ", ".join(BENCHMARKS)
            print(f"unknown benchmark {name!r}; choose from {choices}", file=sys.stderr)
            return 2
        importlib.import_module(BENCHMARKS[name]).main(options)
        return 0
    results = {}
    for name, module in BENCHMARKS.items():
        print(f"== {name}", flush=True)
        results[name] = importlib.import_module(module).main([])
    print(summary(results))
    return 0


def summary(results: dict[str, Any]) -> str:
    """The goals of the issues, as ratios and percentiles measured in this one run."""
    outbox, relay, history, e2e = (results[name] for name in ("outbox", "relay", "history", "e2e"))
    rows = [
        ("outbox: @transactional+record / explicit session=", outbox["overhead_ratio"], "<= 1.05"),
        ("relay: drain / min(raw publish, raw read-and-mark)", relay["drain_ratio"], ">= 0.70"),
        ("relay: commit->publish p99 at a steady rate (ms)", relay["latency_p99_ms"], "<= 100"),
        ("relay: drain beside 1M published events / empty", history["drain_ratio"], ">= 0.90"),
        ("e2e: commit->publish p99 under API load (ms)", e2e["commit_to_publish_ms"]["p99"], ""),
        ("e2e: commit->consume p99 under API load (ms)", e2e["commit_to_consume_ms"]["p99"], ""),
    ]
    lines = ["== summary (this run)"]
    lines += [f"  {name:52} {value:8.2f}  {goal}" for name, value, goal in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
