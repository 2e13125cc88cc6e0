"""`boundbox devdb`: a MongoDB wire-protocol server in Python, for development and CI."""

from boundbox.devdb.server import DevDatabase, DevDatabaseError

__all__ = ["DevDatabase", "DevDatabaseError"]
