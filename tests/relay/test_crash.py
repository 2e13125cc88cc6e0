"""A relay process killed with SIGKILL mid-backlog, then another: nothing lost, few duplicates."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pymongo.asynchronous.database import AsyncDatabase

from boundbox.settings import Settings
from tests.relay.support import Consumer, Received, RelayProcess, record_many
from tests.support.processes import eventually

AGGREGATES = 300
VERSIONS = 10
BATCH = 200


def first_deliveries(received: list[Received]) -> dict[str, list[int]]:
    """Per aggregate, the versions in the order they first arrived (duplicates left out)."""
    seen: set[str] = set()
    result: dict[str, list[int]] = {}
    for message in received:
        if message.message_id not in seen:
            seen.add(message.message_id)
            result.setdefault(message.aggregate_id, []).append(message.version)
    return result


async def test_sigkill_mid_batch_then_a_restart_delivers_everything_with_few_duplicates(
    recording: None,
    consumer: Consumer,
    settings_for: Callable[..., Settings],
    database: AsyncDatabase[dict[str, object]],
    tmp_path: Path,
) -> None:
    ids = [f"o-{n}" for n in range(AGGREGATES)]
    recorded = []
    for _ in range(VERSIONS):
        for start in range(0, AGGREGATES, 100):
            recorded += await record_many("order", ids[start : start + 100])
    expected = {str(event.id) for event in recorded}

    first = RelayProcess(settings_for("first", relay_batch_size=BATCH), tmp_path / "first.log")
    second = RelayProcess(settings_for("second", relay_batch_size=BATCH), tmp_path / "second.log")
    try:
        first.start()
        # SIGKILL the moment a message arrives well into the backlog: the relay is most likely
        # publishing the rest of that batch, which it has no chance to finish, mark or release.
        consumer.when(3 * BATCH + BATCH // 4, first.kill)
        await consumer.wait_for(3 * BATCH + BATCH // 4, within=60)
        assert first.process is not None and first.process.returncode == -9
        published = await database["outbox"].count_documents({"status": "published"})
        assert published < len(expected), "the backlog was drained before the kill"

        second.start()  # takes the dead relay's partitions over once their leases expire
        await second.healthy()

        async def everything() -> bool:
            return set(consumer.ids()) >= expected

        await eventually(everything, within=90)
        metrics = await second.metrics()
        assert "boundbox_relay_leases_held 64.0" in metrics
        assert second.terminate() == 0, second.output()
    finally:
        first.kill()
        second.kill()

    duplicates = len(consumer.received) - len(set(consumer.ids()))
    print(f"published before restart={published} duplicates={duplicates}")
    assert duplicates <= BATCH, f"{duplicates} duplicates for batches of {BATCH}"
    assert all(
        v == list(range(1, VERSIONS + 1)) for v in first_deliveries(consumer.received).values()
    )
    assert await database["outbox"].count_documents({"status": {"$ne": "published"}}) == 0
    # The graceful stop gave every lease back (the killed relay's had been taken over).
    assert await database["outbox_leases"].count_documents({"owner": {"$ne": None}}) == 0
    assert "relay stopped" in second.output()
