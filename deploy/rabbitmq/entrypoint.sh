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
exec docker-entrypoint.sh "$@"
