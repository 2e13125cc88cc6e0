"""MongoDB's query, update, projection, sort and aggregation semantics on BSON documents."""
