#!/bin/sh
# Renders deploy/rabbitmq/definitions.json with the passwords from the environment (.env), then
# starts RabbitMQ as the image does. The passwords also go into AMQP URLs, so they are limited to
# characters that need no escaping there: generate them with `openssl rand -hex 24`.
set -eu
rendered=/etc/rabbitmq/definitions.json
cp /etc/boundbox/rabbitmq/definitions.json "$rendered"
for name in RABBITMQ_ADMIN_PASSWORD RABBITMQ_RELAY_PASSWORD RABBITMQ_SALES_PASSWORD; do
    eval "value=\${$name:-}"
    case "$value" in
        "") echo "$name is not set: copy .env.example to .env and fill it in" >&2; exit 1 ;;
        *[!A-Za-z0-9._~-]*) echo "$name may hold only letters, digits and . _ ~ -" >&2; exit 1 ;;
    esac
    sed -i "s/\${$name}/$value/" "$rendered"
done
chown rabbitmq:rabbitmq "$rendered"
chmod 600 "$rendered"

# Cluster nodes (docker-compose.yml's cluster profile) authenticate to each other with one
# Erlang cookie, RABBITMQ_ERLANG_COOKIE of .env. The node and its CLI tools (the health check)
# read it from the rabbitmq user's home; a node alone needs none (RabbitMQ makes one up).
if [ -n "${BOUNDBOX_ERLANG_COOKIE+set}" ]; then
    case "$BOUNDBOX_ERLANG_COOKIE" in
        *[!A-Za-z0-9]* | "") echo "RABBITMQ_ERLANG_COOKIE may hold only letters and digits (openssl rand -hex 32)" >&2; exit 1 ;;
    esac
    if [ "${#BOUNDBOX_ERLANG_COOKIE}" -lt 32 ]; then
        echo "RABBITMQ_ERLANG_COOKIE must be at least 32 characters long (openssl rand -hex 32)" >&2
        exit 1
    fi
    cookie=/var/lib/rabbitmq/.erlang.cookie
    printf '%s' "$BOUNDBOX_ERLANG_COOKIE" > "$cookie"
    chown rabbitmq:rabbitmq "$cookie"
    chmod 400 "$cookie"
fi
exec docker-entrypoint.sh "$@"
