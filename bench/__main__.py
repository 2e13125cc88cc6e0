"""`python -m bench [NAME [OPTIONS]]`: one benchmark with its options, or all with defaults.

`python -m bench --help` lists them; `python -m bench NAME --help` shows one's options.

`make bench` runs them all: the dev database's throughput, the outbox decorators' overhead,
the relay's drain and latency against raw baselines, the relay's drain beside a million
published events (`python -m bench history --help`), and the whole stack end to end
(`python -m bench e2e --help` lists its options) and at a rising rate until its latency
goes (`python -m bench saturation --help`).
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from typing import Any

BENCHMARKS = {
    "devdb": "bench.devdb_throughput",
    "outbox": "bench.outbox_overhead",
    "relay": "bench.relay_bench",
    "history": "bench.history",
    "e2e": "bench.e2e",
    "saturation": "bench.saturation",
    "rebuild": "bench.rebuild",
    "consumer-batch": "bench.consumer_batch",
    "ordered": "bench.ordered",
}


# What each benchmark measures, for `python -m bench --help`.
MEASURES = {
    "devdb": "the dev database alone: bulk inserts, a read-and-mark drain, transactions "
    "one at a time and concurrent, insert_one and find_one as the collection grows",
    "outbox": "@transactional() + record() against explicit session= writes: the "
    "decorators' overhead ratio (target <= 1.05)",
    "relay": "the relay's drain of a backlog against raw publish and raw read-and-mark "
    "ceilings (target >= 0.70), and commit->delivery latency at a steady rate",
    "history": "the relay's drain with an empty outbox and beside a million published "
    "events (target >= 0.90)",
    "e2e": "the whole stack as processes under POST /orders load: commands/s, API latency, "
    "commit->publish and commit->consume, backlog drain, peak RSS; a PNG plot",
    "saturation": "the whole stack at a rising open-loop rate: the highest orders/s with API "
    "p99 <= 250 ms and commit->consume p99 <= 1 s, CPU per order of each process; a PNG",
    "rebuild": "rebuilding the sales projection from the event store, against a bare read "
    "of the same events",
    "consumer-batch": "the sales consumer draining a backlog with CONSUMER_BATCH=1 and larger "
    "batches: messages/s and their ratio in the same round",
    "ordered": "one consumer draining a backlog in ordered mode (8 queues, the version check) "
    "against the shared queue: the ratio of their rates in the same round",
}


def usage() -> str:
    width = max(map(len, BENCHMARKS))
    rows = [
        textwrap.fill(
            MEASURES.get(name, ""),
            width=96,
            initial_indent=f"  {name:{width}}  ",
            subsequent_indent=" " * (width + 4),
        )
        for name in BENCHMARKS
    ]
    return "\n".join(
        [
            "usage: python -m bench [NAME [OPTIONS]]",
            "",
            "Without NAME, runs every benchmark with its defaults (`make bench`, several minutes)",
            "and prints a summary. Results go to bench/results/.",
            "",
            "benchmarks:",
            *rows,
            "",
            "`python -m bench NAME --help` shows a benchmark's options and their defaults.",
        ]
    )


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if argv and argv[0].startswith("-"):
        print(f"unknown option {argv[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    if argv:
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
    outbox, relay, history, e2e, saturation = (
        results[name] for name in ("outbox", "relay", "history", "e2e", "saturation")
    )
    rows = [
        ("outbox: @transactional+record / explicit session=", outbox["overhead_ratio"], "<= 1.05"),
        ("relay: drain / min(raw publish, raw read-and-mark)", relay["drain_ratio"], ">= 0.70"),
        ("relay: commit->publish p99 at a steady rate (ms)", relay["latency_p99_ms"], "<= 100"),
        ("relay: drain beside 1M published events / empty", history["drain_ratio"], ">= 0.90"),
        ("e2e: commit->publish p99 under API load (ms)", e2e["commit_to_publish_ms"]["p99"], ""),
        ("e2e: commit->consume p99 under API load (ms)", e2e["commit_to_consume_ms"]["p99"], ""),
        ("saturation: orders/s within the latency limits", saturation["saturation_per_s"], ""),
    ]
    lines = ["== summary (this run)"]
    lines += [f"  {name:52} {value:8.2f}  {goal}" for name, value, goal in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
