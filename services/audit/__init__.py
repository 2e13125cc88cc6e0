"""`boundbox audit`: proves that the state is what the events say.

- Every aggregate's document equals the fold of its events, field by field, with versions
  1..n and no gap or duplicate (`aggregates`).
- The sales projection holds the figures its order events add up to (`sales`).
- Every event the relay marked published is in the archive stream.

The caller (the composition root) reads the projection and the archive and passes them in, so
this package needs no broker and no second database of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from services.audit.aggregates import Progress, check_aggregates
from services.audit.report import AuditReport, Mismatch
from services.audit.sales import ExpectedSales, check_sales
from services.sales.figures import Figures
from services.store import history as store

SalesReader = Callable[[], Awaitable[Figures]]
"""Returns the figures the projection holds (its active generation)."""

ArchiveReader = Callable[[int], Awaitable[set[str]]]
"""Given how many events are published, returns the message ids the archive holds."""


async def audit(
    *,
    progress: Progress,
    sales: SalesReader | None = None,
    archive: ArchiveReader | None = None,
) -> AuditReport:
    """Runs every check on the bound database (Beanie initialised on the shop's documents)."""
    report = AuditReport()
    expected = ExpectedSales()
    await check_aggregates(report, progress=progress, sink=expected)
    if sales is not None:
        check_sales(report, expected.tally.figures(), await sales())
    if archive is not None:
        published = await store.published_ids()
        archived = await archive(len(published))
        report.checked["archived events"] += len(published)
        for missing in sorted(published - archived):
            report.mismatches.append(
                Mismatch(f"event {missing}", "archive", "published", "missing from the archive")
            )
    return report


async def size() -> int:
    """Units of work an audit will report to its progress: documents plus events."""
    counts = await store.counts()
    return sum(counts.values())


__all__ = ["AuditReport", "Mismatch", "audit", "size"]
