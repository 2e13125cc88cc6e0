"""The outbox relay: publishes committed outbox events to RabbitMQ, at least once, in order.

`boundbox relay` runs `relay.main.run`, the composition root. The parts:

- `leases`, `lease_table`, `members`: relays share the outbox's partitions through leases
  that expire, so a dead relay's share is taken over;
- `batches`, `plan`, `state`: the leased partitions' pending events, as per-aggregate chains
  that start at each aggregate's earliest unpublished event; held-back aggregates left out;
- `messages`, `records`: the delivery contract, pure (one persistent message per event);
- `publisher`, `broker`: chains published side by side with confirms, `mandatory`;
- `loop`: half-batches back to back (publish one, mark the other, read the next);
- `store`, `retention`: the outbox collection (exact marking, failures, opt-in TTL retention);
- `wakeup`: a change stream where the server has one, polling always;
- `health`, `metrics`, `http`, `lifecycle`, `admin`: states, `/healthz` and `/metrics`,
  start-up and shutdown, and the `boundbox outbox` commands.
"""
