"""Persistence of the domain in MongoDB through Beanie: documents, reads and atomic writes.

Every function here runs on the bound session when there is one, so inside a
`@transactional()` service function it reads and writes in that transaction.
"""

from beanie import Document

from services.store.documents import (
    CategoryDocument,
    IdempotencyRecord,
    OrderDocument,
    ProductDocument,
)

DOCUMENT_MODELS: list[type[Document]] = [
    CategoryDocument,
    ProductDocument,
    OrderDocument,
    IdempotencyRecord,
]

__all__ = ["DOCUMENT_MODELS"]
