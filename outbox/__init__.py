"""boundbox's outbox: bound-session transactions and events recorded atomically with state.

from outbox import record, transactional

@transactional()
async def place_order(*, customer: str) -> Order:
    order = await Order(customer=customer).insert()   # Beanie finds the bound session
    await record(aggregate_type="order", aggregate_id=str(order.id), name="placed",
                 payload={"customer": customer})
    return order
"""

from outbox.context import EventHeaders, current_headers, event_context
from outbox.errors import (
    InvalidEventError,
    NoSessionError,
    NotConfiguredError,
    NoTransactionError,
    OutboxError,
    TransactionFailedError,
)
from outbox.events import DOCUMENT_MODELS, EventStatus, OutboxEvent, OutboxStream, utc_now
from outbox.recording import NewEvent, record, record_many
from outbox.session import (
    auto_session,
    bound_session,
    current_session,
    get_client,
    session_scope,
    use_client,
)
from outbox.transaction import (
    RetryPolicy,
    default_policy,
    in_transaction,
    run_in_transaction,
    set_default_policy,
    transaction,
    transactional,
)
from outbox.writes import insert_later, update_later

__all__ = [
    "DOCUMENT_MODELS",
    "EventHeaders",
    "EventStatus",
    "InvalidEventError",
    "NewEvent",
    "NoSessionError",
    "NoTransactionError",
    "NotConfiguredError",
    "OutboxError",
    "OutboxEvent",
    "OutboxStream",
    "RetryPolicy",
    "TransactionFailedError",
    "auto_session",
    "bound_session",
    "current_headers",
    "current_session",
    "default_policy",
    "event_context",
    "get_client",
    "in_transaction",
    "insert_later",
    "record",
    "record_many",
    "run_in_transaction",
    "session_scope",
    "set_default_policy",
    "transaction",
    "transactional",
    "update_later",
    "use_client",
    "utc_now",
]
