"""The shop's domain: pure Python, no database, no HTTP."""
