"""The shop's command API: a catalog and orders whose every change records its events.

- `services.domain`: aggregates, their rules and their events; no I/O.
- `services.store`: Beanie documents and the reads and atomic writes on them.
- `services.service_layer`: one transactional function per command, plus the read views.
- `services.api`: the FastAPI app and its composition root, `create_app(settings)`.
"""
