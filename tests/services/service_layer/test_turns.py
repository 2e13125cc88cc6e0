"""Turns: holders of a key run one at a time, in arrival order; other keys run meanwhile."""

from __future__ import annotations

import asyncio

import pytest

from services.service_layer.turns import Turns


async def test_one_key_is_held_by_one_holder_at_a_time() -> None:
    turns, inside, most, order = Turns(), 0, 0, []

    async def hold(n: int, keys: list[str]) -> None:
        nonlocal inside, most
        async with turns.taking(keys):
            inside += 1
            most = max(most, inside)
            order.append(n)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            inside -= 1

    await asyncio.gather(*(hold(n, ["p2", "p1"] if n % 2 else ["p1"]) for n in range(6)))
    assert most == 1
    assert order == list(range(6))  # first come, first served
    assert len(turns) == 0  # no lock outlives its users


async def test_disjoint_keys_run_together_and_overlapping_ones_do_not_deadlock() -> None:
    turns = Turns()
    both_inside = asyncio.Event()
    inside: set[str] = set()

    async def hold(keys: list[str], name: str) -> None:
        async with turns.taking(keys):
            inside.add(name)
            if inside >= {"a", "b"}:
                both_inside.set()
            await asyncio.wait_for(both_inside.wait(), 1) if name in "ab" else None
            inside.discard(name)

    # a and b share nothing; c and d want the same two keys in opposite orders.
    await asyncio.wait_for(
        asyncio.gather(
            hold(["x"], "a"), hold(["y"], "b"), hold(["k1", "k2"], "c"), hold(["k2", "k1"], "d")
        ),
        5,
    )
    assert len(turns) == 0


async def test_a_cancelled_waiter_leaves_no_turn_behind() -> None:
    turns = Turns()
    async with turns.taking(["p"]):
        waiter = asyncio.create_task(turns.taking(["p", "q"]).__aenter__())
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    assert len(turns) == 0
    async with turns.taking(["q", "p"]):
        pass
