"""The sales projection: units and revenue per product, orders per customer, from order events.

`boundbox consume sales` runs it: it consumes `order.placed` and `order.cancelled` from the
queue `boundbox.sales` into its own database (SALES_DB, default `boundbox_sales`), and serves
the read-only `GET /sales/products/{id}` and `GET /sales/customers/{name}` on the consumer's
own port (CONSUMER_HOST:CONSUMER_PORT, next to /healthz and /metrics), not on the API.

- `projection`: the payload models and the arithmetic, no I/O.
- `documents`, `store`: the projection's MongoDB documents and their atomic `$inc` updates.
- `handlers`: one handler per event type, run by the consumer toolkit in a transaction.
- `routes`: the read API.  `main`: the composition root of the process.
- `rebuild`: `boundbox consume sales --rebuild`, the projection rebuilt from the event store
  into a new generation while the consumer keeps serving (`outbox.consumer.rebuild`).
- `figures`: the figures as values, expected from events and stored, for audits.
"""
