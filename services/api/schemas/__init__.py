"""Request and response bodies: `<Thing>Create` comes in, `<Thing>Public` goes out."""
