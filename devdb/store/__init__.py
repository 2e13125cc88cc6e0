"""Documents in memory, versioned for snapshot reads, indexed, and kept on disk when asked."""
