#!/bin/sh
# Writes the replica set's keyfile from MONGO_REPLICA_SET_KEY (.env) where mongod --keyFile reads
# it, owned by mongod's user and readable by it alone, then starts MongoDB as the image does.
set -eu
key=/etc/mongo/replica-set.key
case "${MONGO_REPLICA_SET_KEY:-}" in
    "") echo "MONGO_REPLICA_SET_KEY is not set: copy .env.example to .env and fill it in" >&2; exit 1 ;;
    *[!A-Za-z0-9+/=]*) echo "MONGO_REPLICA_SET_KEY must be hex or base64 without newlines (openssl rand -hex 64)" >&2; exit 1 ;;
esac
mkdir -p /etc/mongo
printf '%s\n' "$MONGO_REPLICA_SET_KEY" > "$key"
chown mongodb:mongodb "$key"
chmod 400 "$key"
exec docker-entrypoint.sh "$@"
