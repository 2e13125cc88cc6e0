"""Commands and queries: each command is one `@transactional()` unit of work.

A command reads the aggregates it needs, lets the domain decide, writes the changes and
records the domain's events in the same transaction, so state and events commit together.
Functions take keyword-only arguments and no session: the transaction is bound implicitly.
"""
