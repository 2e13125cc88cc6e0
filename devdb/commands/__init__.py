"""MongoDB's commands over the store, one module per family; `registry` maps names to them."""
