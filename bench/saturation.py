"""The highest rate the whole stack takes with its latency intact: `python -m bench saturation`.

Starts the stack as processes (dev database, API, relay, sales consumer: bench/stack.py) and
offers `POST /orders` at a rising rate, one step after another. The load is open loop: each
request is due at its planned moment however many are still in flight, and its latency counts
from that moment, so an API that falls behind cannot hide its queue (no coordinated omission).

A step passes when every order is accepted, the API's p99 stays within --api-p99-ms and the p99
of commit → consume (the consumer's inbox entry against the event's `occurred_at`) within
--consume-p99-ms. The saturation rate is the highest passing step before two failing steps in a
row. Each step also reports the CPU time per order of every process, the load generator's
included, from the step's first request until the consumer applied its last order.

`--source DIR` runs the processes of another checkout (`git archive COMMIT | tar x -C DIR`) with
this benchmark: two versions compared on one machine, in one session, alternately.
Results: a table on stdout, JSON and a PNG of latency against offered rate in bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from pymongo import AsyncMongoClient

from bench.cpu import measuring
from bench.e2e import placed_events, seed
from bench.stack import Stack
from bench.support import RESULTS, arguments, percentile, save
from tests.support.auth import admin_headers
from tests.support.processes import eventually

SERVICES = ("api", "devdb", "relay", "consumer", "bench")


@dataclass
class Step:
    """One offered rate: what came back, how fast, and the CPU it cost."""

    rate: float
    latencies: list[float] = field(default_factory=list)  # seconds from each planned moment
    statuses: dict[int, int] = field(default_factory=dict)  # 0: no answer (timeout, reset)
    order_ids: list[str] = field(default_factory=list)
    consume: list[float] = field(default_factory=list)  # commit -> inbox entry, seconds
    unconsumed: int = 0
    took: float = 0.0  # seconds from the first planned moment to the last answer
    cpu_ms_per_order: dict[str, float] = field(default_factory=dict)

    def verdict(self, api_p99_ms: float, consume_p99_ms: float) -> tuple[bool, str]:
        """Whether the step passes, and the first reason it does not."""
        accepted = self.statuses.get(201, 0)
        if accepted < sum(self.statuses.values()):
            return False, f"answers {self.statuses}"
        if self.p99_ms(self.latencies) > api_p99_ms:
            return False, f"API p99 {self.p99_ms(self.latencies):.0f} ms"
        if self.unconsumed:
            return False, f"{self.unconsumed} orders not consumed in time"
        if self.p99_ms(self.consume) > consume_p99_ms:
            return False, f"commit→consume p99 {self.p99_ms(self.consume):.0f} ms"
        return True, ""

    @staticmethod
    def p99_ms(values: list[float]) -> float:
        return percentile(values, 99) * 1000 if values else float("inf")

    def summary(self, api_p99_ms: float, consume_p99_ms: float) -> dict[str, Any]:
        passed, why = self.verdict(api_p99_ms, consume_p99_ms)
        ms = [v * 1000 for v in self.latencies]
        consumed = [v * 1000 for v in self.consume]
        return {
            "offered_per_s": self.rate,
            "accepted_per_s": self.statuses.get(201, 0) / self.took if self.took else 0.0,
            "statuses": self.statuses,
            "api_ms": {"p50": percentile(ms, 50), "p99": percentile(ms, 99)} if ms else {},
            "consume_ms": (
                {"p50": percentile(consumed, 50), "p99": percentile(consumed, 99)}
                if consumed
                else {}
            ),
            "unconsumed": self.unconsumed,
            "cpu_ms_per_order": self.cpu_ms_per_order,
            "passed": passed,
            "failed_because": why,
        }


async def offer(
    http: aiohttp.ClientSession,
    products: list[str],
    step: Step,
    *,
    duration: float,
    in_flight: int,
    rng: random.Random,
    label: str,
) -> None:
    """Sends `step.rate` orders a second for `duration` seconds, each due at its own moment."""
    slots = asyncio.Semaphore(in_flight)
    start = time.monotonic()

    async def one(n: int, due: float) -> None:
        items = [
            {"product_id": p, "quantity": rng.randint(1, 3)}
            for p in rng.sample(products, rng.randint(1, 3))
        ]
        body = {"customer": f"c{n % 50}", "items": items}
        async with slots:
            try:
                async with http.post(
                    "/orders", json=body, headers={"Idempotency-Key": f"{label}-{n}"}
                ) as response:
                    status = response.status
                    if status == 201:
                        step.order_ids.append((await response.json())["id"])
            except (aiohttp.ClientError, TimeoutError):
                status = 0
        step.latencies.append(time.monotonic() - due)
        step.statuses[status] = step.statuses.get(status, 0) + 1

    total = max(1, round(step.rate * duration))
    tasks = []
    for n in range(total):
        due = start + n / step.rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        tasks.append(asyncio.create_task(one(n, due)))
    await asyncio.gather(*tasks)
    step.took = time.monotonic() - start


async def await_consumed(
    mongo: AsyncMongoClient[Any], env: dict[str, str], step: Step, *, within: float
) -> None:
    """Waits until the consumer applied every order of the step (or `within` passes)."""
    placed = await placed_events(mongo, env["MONGODB_DB"], step.order_ids)
    inbox = mongo[env["SALES_DB"]]["inbox"]
    query = {"message_id": {"$in": list(placed)}}
    with contextlib.suppress(AssertionError):  # what is left unconsumed fails the step
        await eventually(lambda: _at_least(inbox, query, len(placed)), within=within, interval=0.1)
    received = {e["message_id"]: e["received_at"].timestamp() async for e in inbox.find(query)}
    step.consume = [received[i] - placed[i] for i in placed if i in received]
    step.unconsumed = len(placed) - len(step.consume) + len(step.order_ids) - len(placed)


async def _at_least(collection: Any, query: dict[str, Any], count: int) -> bool:
    return bool(await collection.count_documents(query) >= count)


def rates(start: float, factor: float, ceiling: float) -> list[float]:
    result = [start]
    while result[-1] * factor <= ceiling:
        result.append(round(result[-1] * factor, 1))
    return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    RESULTS.mkdir(exist_ok=True)
    stack = Stack(log_path=RESULTS / "saturation-processes.log", source=args.source)
    stack.start()
    pids: dict[str, int | None] = {
        name: s.process.pid if s.process else None for name, s in stack.services.items()
    }
    pids["devdb"] = stack.devdb.process.pid if stack.devdb and stack.devdb.process else None
    pids["bench"] = os.getpid()
    steps: list[Step] = []
    try:
        async with (
            httpx.AsyncClient(base_url=stack.api_url, timeout=30, headers=admin_headers()) as setup,
            # The load itself goes through aiohttp: a tenth of httpx's CPU per request, left to
            # the processes measured on a machine of two cores.
            aiohttp.ClientSession(
                base_url=stack.api_url,
                headers=admin_headers(),
                timeout=aiohttp.ClientTimeout(total=30),
                connector=aiohttp.TCPConnector(limit=args.in_flight),
            ) as http,
            AsyncMongoClient(
                stack.env["MONGODB_URL"], tz_aware=True, uuidRepresentation="standard"
            ) as mongo,
        ):
            products = await seed(setup)
            warm = Step(args.start)
            await offer(
                http, products, warm, duration=3, in_flight=args.in_flight, rng=rng, label="warm"
            )
            await await_consumed(mongo, stack.env, warm, within=args.settle)
            failures = 0
            for n, rate in enumerate(rates(args.start, args.factor, args.max_rate)):
                step = Step(rate)
                with measuring(pids) as usage:
                    await offer(
                        http,
                        products,
                        step,
                        duration=args.step,
                        in_flight=args.in_flight,
                        rng=rng,
                        label=f"s{n}",
                    )
                    await await_consumed(mongo, stack.env, step, within=args.settle)
                accepted = max(1, step.statuses.get(201, 0))
                step.cpu_ms_per_order = {
                    name: used / accepted * 1000 for name, used in usage.seconds.items()
                }
                steps.append(step)
                passed, _ = step.verdict(args.api_p99_ms, args.consume_p99_ms)
                print(line(step.summary(args.api_p99_ms, args.consume_p99_ms)), flush=True)
                failures = 0 if passed else failures + 1
                if failures == 2:
                    break
    finally:
        stack.stop()
        await stack.delete_broker_objects()

    summaries = [s.summary(args.api_p99_ms, args.consume_p99_ms) for s in steps]
    saturation = saturated(summaries)
    return {
        "source": describe(args.source),
        "step_s": args.step,
        "api_p99_limit_ms": args.api_p99_ms,
        "consume_p99_limit_ms": args.consume_p99_ms,
        "saturation_per_s": saturation["offered_per_s"] if saturation else 0.0,
        "cpu_ms_per_order_at_saturation": saturation["cpu_ms_per_order"] if saturation else {},
        "steps": summaries,
    }


def saturated(steps: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The highest passing step before the first two failing ones in a row."""
    best, failures = None, 0
    for step in steps:
        if step["passed"]:
            best, failures = step, 0
        else:
            failures += 1
            if failures == 2:
                break
    return best


def describe(source: Path | None) -> str:
    """Which code ran: this checkout's commit, or the directory given."""
    if source is not None:
        return str(source)
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parent,
    )
    return f"this checkout ({head.stdout.strip() or 'unknown commit'})"


def line(step: dict[str, Any]) -> str:
    api, consume = step["api_ms"], step["consume_ms"]
    cpu = " ".join(f"{name} {step['cpu_ms_per_order'].get(name, 0):5.1f}" for name in SERVICES)
    verdict = "pass" if step["passed"] else f"FAIL: {step['failed_because']}"
    return (
        f"  {step['offered_per_s']:7.1f} {step['accepted_per_s']:8.1f}"
        f"  {api.get('p50', 0):7.0f} {api.get('p99', 0):7.0f}"
        f"  {consume.get('p50', 0):7.0f} {consume.get('p99', 0):7.0f}   {cpu}   {verdict}"
    )


HEADER = (
    "  offered accepted  API p50     p99  consume p50  p99   CPU ms per order"
    " (API, dev database, relay, consumer, load generator)"
)


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = result["steps"]
    figure, axes = plt.subplots(figsize=(8, 4.5))
    offered = [s["offered_per_s"] for s in steps]
    for key, name, label in (
        ("api_ms", "p50", "API p50"),
        ("api_ms", "p99", "API p99"),
        ("consume_ms", "p99", "commit → consume p99"),
    ):
        axes.plot(offered, [s[key].get(name, float("nan")) for s in steps], marker="o", label=label)
    axes.axhline(result["api_p99_limit_ms"], color="grey", linestyle=":", label="API p99 limit")
    axes.axhline(
        result["consume_p99_limit_ms"], color="grey", linestyle="--", label="consume p99 limit"
    )
    if result["saturation_per_s"]:
        axes.axvline(result["saturation_per_s"], color="green", alpha=0.5, label="saturation")
    axes.set_xlabel("offered orders/s (open loop)")
    axes.set_ylabel("latency (ms)")
    axes.set_yscale("log")
    axes.set_title(f"boundbox saturation: {result['saturation_per_s']:g} orders/s")
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = arguments("saturation", __doc__)
    parser.add_argument("--start", type=float, default=20, help="first offered rate, orders/s")
    parser.add_argument("--factor", type=float, default=1.25, help="each step's rate / the last")
    parser.add_argument("--max-rate", type=float, default=2000, help="no step above this rate")
    parser.add_argument("--step", type=float, default=8, help="seconds of load per step")
    parser.add_argument("--api-p99-ms", type=float, default=250, help="a step's API p99 limit")
    parser.add_argument(
        "--consume-p99-ms", type=float, default=1000, help="a step's commit→consume p99 limit"
    )
    parser.add_argument(
        "--settle", type=float, default=30, help="seconds a step's orders may take to be consumed"
    )
    parser.add_argument("--in-flight", type=int, default=256, help="requests open at once, most")
    parser.add_argument("--source", type=Path, help="run this checkout (with its .venv) instead")
    parser.add_argument("--seed", type=int, default=7, help="seed of the orders' random items")
    args = parser.parse_args(argv)
    if args.factor <= 1 or args.start <= 0:
        parser.error("--start must be > 0 and --factor > 1")
    if args.source is not None and not (args.source / "boundbox" / "__main__.py").is_file():
        parser.error(f"--source {args.source} is not a boundbox checkout")
    print(HEADER, flush=True)
    result = asyncio.run(run(args))
    path = save("saturation", result)
    png = path.with_suffix(".png")
    plot(result, png)
    print(
        f"saturation ({result['source']}): {result['saturation_per_s']:g} orders/s with API p99 "
        f"≤ {args.api_p99_ms:g} ms and commit→consume p99 ≤ {args.consume_p99_ms:g} ms"
    )
    print(f"  saved {path} and {png}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
