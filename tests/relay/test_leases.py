"""Partition leases against the real database: sharing, expiry, compare-and-set, release."""

from __future__ import annotations

import logging

from pymongo.asynchronous.database import AsyncDatabase

from outbox.events import PARTITIONS
from relay.health import Dependency
from relay.leases import LeaseKeeper
from tests.support.processes import eventually

Database = AsyncDatabase[dict[str, object]]


def keeper(
    database: Database, name: str, *, ttl: float = 10.0, accepting: bool = True
) -> LeaseKeeper:
    state = Dependency("database", logging.getLogger("test"))
    return LeaseKeeper(
        database,  # type: ignore[arg-type]
        relay_id=name,
        ttl=ttl,
        database_state=state,
        accepting=lambda: accepting,
    )


async def owners(database: Database) -> dict[int, object]:
    return {
        lease["_id"]: lease["owner"] for lease in await database["outbox_leases"].find({}).to_list()
    }  # type: ignore[misc]


async def test_relays_split_the_partitions_between_them(database: Database) -> None:
    a, b = keeper(database, "a"), keeper(database, "b")
    await a.prepare()
    await b.prepare()
    await a.round()
    assert len(a.partitions()) == PARTITIONS  # alone: everything
    await b.round()  # b registers, sees two relays, finds nothing free yet
    await a.round()  # a gives its excess back
    await b.round()  # b claims it
    assert len(a.partitions()) == len(b.partitions()) == PARTITIONS // 2
    assert not a.partitions() & b.partitions()
    stored = await owners(database)
    assert {p for p, owner in stored.items() if owner == "a"} == a.partitions()
    assert {p for p, owner in stored.items() if owner == "b"} == b.partitions()


async def test_a_relay_that_stops_renewing_loses_its_partitions_after_the_ttl(
    database: Database,
) -> None:
    dead, heir = keeper(database, "dead", ttl=1.0), keeper(database, "heir", ttl=1.0)
    await dead.prepare()
    await dead.round()
    assert len(dead.partitions()) == PARTITIONS

    async def taken_over() -> bool:
        await heir.round()
        return len(heir.partitions()) == PARTITIONS

    await eventually(taken_over, within=10, interval=0.1)
    assert set((await owners(database)).values()) == {"heir"}
    assert not dead.partitions()  # its local deadline (80% of the TTL) passed first

    await dead.round()  # comes back: its renewal fails the compare-and-set
    assert not dead.partitions()
    assert set((await owners(database)).values()) == {"heir"}


async def test_leases_go_back_on_release_all(database: Database) -> None:
    relay = keeper(database, "leaving")
    await relay.prepare()
    await relay.round()
    await relay.release_all()
    assert set((await owners(database)).values()) == {None}
    assert await database["outbox_relays"].count_documents({}) == 0


async def test_a_relay_that_cannot_publish_gives_its_leases_to_the_others(
    database: Database,
) -> None:
    able, unable = keeper(database, "able"), keeper(database, "unable", accepting=False)
    await able.prepare()
    await unable.round()
    assert not unable.partitions()
    await able.round()
    assert len(able.partitions()) == PARTITIONS  # the unable relay does not count as live
