"""The chaos load: a seeded plan of shop commands sent through the HTTP API, retried safely.

Every POST carries an Idempotency-Key of its own (run id + operation) and is sent again with
the same key after a transport error or a 503 until it gets its answer, so each operation
happens exactly once whatever the faults: the ledger records which orders were answered 201,
which were cancelled, which products restocked, and every answer on the way.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.auth import JSON

CUSTOMERS = ("ada", "bob", "cy", "dan", "eve")
RETRYABLE = frozenset({None, 500, 503})  # None: no answer (a killed API, a timeout)


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    index: int
    customer: str
    items: tuple[tuple[int, int], ...]  # (product number, quantity); a product may repeat
    cancel: bool  # cancel it once it is placed


@dataclass(frozen=True, slots=True)
class RestockProduct:
    index: int
    product: int
    quantity: int


type Operation = PlaceOrder | RestockProduct


def plan(seed: int, *, products: int) -> Iterator[Operation]:
    """An endless, reproducible sequence of operations: orders, some cancelled, a few restocks."""
    rng = random.Random(seed)
    for index in itertools.count():
        if rng.random() < 0.05:
            yield RestockProduct(index, rng.randrange(products), rng.randint(1, 50))
            continue
        chosen = rng.choices(range(products), k=rng.randint(1, 3))
        items = tuple((product, rng.randint(1, 5)) for product in chosen)
        yield PlaceOrder(index, rng.choice(CUSTOMERS), items, cancel=rng.random() < 0.25)


@dataclass(frozen=True, slots=True)
class Answer:
    at: float  # when it was sent, in seconds since the ledger was opened
    took: float  # seconds until the answer (or the transport error)
    kind: str  # category, product, place, cancel, restock
    status: int | None  # None: no HTTP answer
    detail: str = ""  # the transport error, or what was wrong with the answer
    replayed: bool = False


@dataclass
class Ledger:
    """What the API answered: the truth the reconciliation holds the databases to."""

    started: float = field(default_factory=time.monotonic)
    category_id: str = ""
    products: list[str] = field(default_factory=list)
    initial_stock: dict[str, int] = field(default_factory=dict)
    orders: dict[str, str] = field(default_factory=dict)  # order id -> its Idempotency-Key
    cancelled: set[str] = field(default_factory=set)
    restocked: Counter[str] = field(default_factory=Counter)  # product id -> units
    restocks: Counter[str] = field(default_factory=Counter)  # product id -> commands
    succeeded: set[str] = field(default_factory=set)  # the keys that got their answer
    answers: list[Answer] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)

    def note(self, answer: Answer) -> None:
        self.answers.append(answer)

    def count(self, status: int | None) -> int:
        return sum(1 for a in self.answers if a.status == status)

    def statuses(self) -> Counter[int | None]:
        return Counter(a.status for a in self.answers)

    @property
    def replays(self) -> int:
        return sum(1 for a in self.answers if a.replayed)


def problem_defects(response: httpx.Response) -> str:
    """What is wrong with an error answer: it must be a JSON problem with its own status."""
    try:
        body = response.json()
    except ValueError:
        return f"not JSON: {response.text[:200]!r}"
    if not isinstance(body, dict) or body.get("status") != response.status_code:
        return f"not a problem document: {body!r}"
    if response.status_code == 503 and not response.headers.get("Retry-After"):
        return "503 without Retry-After"
    return ""


class Load:
    def __init__(
        self, http: httpx.AsyncClient, *, seed: int, run_id: str, retry_within: float = 90.0
    ) -> None:
        self.http = http
        self.seed = seed
        self.run_id = run_id
        self.retry_within = retry_within
        self.ledger = Ledger()
        self.in_flight = 0
        """Requests sent and not answered yet."""

    async def setup(self, *, products: int = 6, stock: int = 100_000) -> None:
        """A category and its products, through the API like everything else."""
        rng = random.Random(f"{self.seed}-catalog")
        category = await self.post("category", "/categories", "category", {"name": "Chaos"}, 201)
        assert category is not None, self.ledger.unexpected
        self.ledger.category_id = category["id"]
        for number in range(products):
            body = {
                "name": f"Chaos product {number}",
                "price": f"{rng.randint(1, 5000) / 100:.2f}",
                "category_id": category["id"],
                "stock": stock,
            }
            product = await self.post("product", "/products", f"product-{number}", body, 201)
            assert product is not None, self.ledger.unexpected
            self.ledger.products.append(product["id"])
            self.ledger.initial_stock[product["id"]] = stock

    async def run(self, *, seconds: float, rate: float, workers: int = 4) -> None:
        """Starts operation n at n / rate seconds, until `seconds`; then finishes what it began.

        A worker stuck retrying through a fault delays only its own operations.
        """
        operations = plan(self.seed, products=len(self.ledger.products))
        started = time.monotonic()

        async def worker() -> None:
            while True:
                operation = next(operations)
                due = started + operation.index / rate
                if due > started + seconds:
                    return
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                await self.apply(operation)

        async with asyncio.TaskGroup() as group:
            for _ in range(workers):
                group.create_task(worker())

    async def apply(self, operation: Operation) -> None:
        products = self.ledger.products
        match operation:
            case RestockProduct(index, product, quantity):
                product_id = products[product]
                path = f"/products/{product_id}/restock"
                if await self.post("restock", path, f"restock-{index}", {"quantity": quantity}):
                    self.ledger.restocked[product_id] += quantity
                    self.ledger.restocks[product_id] += 1
            case PlaceOrder(index, customer, items, cancel):
                body = {
                    "customer": customer,
                    "items": [{"product_id": products[p], "quantity": q} for p, q in items],
                }
                key = f"order-{index}"
                order = await self.post("place", "/orders", key, body, 201)
                if order is None:
                    return
                if order["id"] in self.ledger.orders:
                    self.ledger.unexpected.append(f"{key}: answered with another key's order")
                self.ledger.orders[order["id"]] = key
                if cancel and await self.post(
                    "cancel", f"/orders/{order['id']}/cancel", f"cancel-{index}", None
                ):
                    self.ledger.cancelled.add(order["id"])

    async def post(
        self, kind: str, path: str, key: str, body: dict[str, Any] | None, expected: int = 200
    ) -> dict[str, Any] | None:
        """The body of the expected answer, retried with the same key; None if it never came."""
        key = f"{self.run_id}-{key}"
        deadline = time.monotonic() + self.retry_within
        for attempt in itertools.count():
            response = await self._send(kind, path, key, body)
            if response is not None and response.status_code == expected:
                self.ledger.succeeded.add(key)
                answer: dict[str, Any] = response.json()
                return answer
            status = None if response is None else response.status_code
            if status not in RETRYABLE or time.monotonic() > deadline:
                self.ledger.abandoned.append(f"{kind} {key}: last answer {status}")
                return None
            await asyncio.sleep(min(0.05 * 2**attempt, 1.0))  # a client's backoff
        raise AssertionError("unreachable")

    async def _send(
        self, kind: str, path: str, key: str, body: dict[str, Any] | None
    ) -> httpx.Response | None:
        """One attempt, noted in the ledger; None when no answer came."""
        at = time.monotonic() - self.ledger.started
        self.in_flight += 1
        try:
            # A cancel has no body, and still declares JSON.
            response = await self.http.post(
                path, json=body, headers={"Idempotency-Key": key, **JSON}
            )
        except httpx.TransportError as e:
            self.ledger.note(Answer(at, self._since(at), kind, None, type(e).__name__))
            return None
        finally:
            self.in_flight -= 1
        status = response.status_code
        detail = problem_defects(response) if status >= 400 else ""
        if status >= 400 and (status != 503 or detail):
            self.ledger.unexpected.append(f"{kind} {key}: {status} {detail or response.text[:300]}")
        replayed = response.headers.get("Idempotent-Replayed") == "true"
        self.ledger.note(Answer(at, self._since(at), kind, status, detail, replayed))
        return response

    def _since(self, at: float) -> float:
        return time.monotonic() - self.ledger.started - at
