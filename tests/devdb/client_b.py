"""Client B of the isolation test, in a process of its own: reads, writes, reports JSON lines."""

import asyncio
import json
import sys

from pymongo import AsyncMongoClient


async def main(url: str, database: str) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(url)
    try:
        items = client[database]["items"]
        print(json.dumps({"connected": True}), flush=True)
        seen = await items.count_documents({"writer": "A"})
        print(json.dumps({"read_a": seen}), flush=True)
        await items.insert_one({"writer": "B"})
        print(json.dumps({"wrote": True}), flush=True)
    finally:
        await client.close()


asyncio.run(main(sys.argv[1], sys.argv[2]))
