"""`boundbox dev`: a dev signing secret kept once, tokens in the banner, no password shown."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from pydantic import SecretStr

from boundbox.settings import Settings
from boundbox.supervisor import DEV_TOKEN_HOURS, dev_database_url, dev_secret, signing_secret
from services.security.scopes import ADMIN_SCOPES, CUSTOMER_SCOPES
from tests.consumer.conftest import AMQP_URL, Names, broker, names, test_id
from tests.support.auth import TEST_SECRET
from tests.support.processes import eventually, free_port, stop_supervisor

__all__ = ["broker", "names", "test_id"]  # the broker fixtures, shared


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_dev_secret_is_made_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / ".data" / "auth-secret"
    secret = dev_secret(path)
    assert len(secret.encode()) >= 32
    assert mode(path) == 0o600
    assert dev_secret(path) == secret
    path.chmod(0o644)
    assert dev_secret(path) == secret
    assert mode(path) == 0o600


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(_env_file=None, devdb_data_dir=str(tmp_path / "devdb"), **values)  # type: ignore[call-arg]


@pytest.fixture
def no_auth_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in [v for v in os.environ if v.startswith("AUTH_")]:
        monkeypatch.delenv(variable)


@pytest.mark.usefixtures("no_auth_environment")
def test_without_a_key_the_children_get_the_dev_secret(tmp_path: Path) -> None:
    secret = signing_secret(settings(tmp_path))
    assert secret == (tmp_path / "auth-secret").read_text().strip()
    assert os.environ.pop("AUTH_SECRET") == secret


@pytest.mark.usefixtures("no_auth_environment")
@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"auth_secret": SecretStr(TEST_SECRET)}, TEST_SECRET),
        ({"auth_public_key": "-----BEGIN PUBLIC KEY-----"}, ""),
        ({"auth_jwks_url": "https://id.example/jwks.json"}, ""),
        ({"auth_mode": "none"}, ""),
    ],
)
def test_a_key_of_its_own_or_no_authentication_makes_no_dev_secret(
    tmp_path: Path, values: dict[str, object], expected: str
) -> None:
    assert signing_secret(settings(tmp_path, **values)) == expected
    assert not (tmp_path / "auth-secret").exists()
    assert "AUTH_SECRET" not in os.environ


async def test_the_banner_prints_tokens_of_the_dev_secret_and_no_password(
    tmp_path: Path, names: Names
) -> None:
    archive = f"{names.prefix}.archive"
    names.queues.append(archive)  # deleted with the test's other broker objects
    names.queue("sales")  # the dev consumer's queue, dead-letter queue and exchange, likewise
    devdb_port, api_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AUTH_")},
        "DEVDB_PORT": str(devdb_port),
        "MONGODB_URL": f"mongodb://127.0.0.1:{devdb_port}/?directConnection=true",
        "AMQP_URL": AMQP_URL,
        "EXCHANGE_NAME": names.exchange,
        "CONSUMER_QUEUE_PREFIX": names.prefix,
        "ARCHIVE_QUEUE": archive,
        "API_PORT": str(api_port),
        "RELAY_PORT": str(free_port()),
        "CONSUMER_PORT": str(free_port()),
        "LOG_LEVEL": "WARNING",
    }
    dev = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "boundbox", "dev",
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert dev.stdout is not None
    output: list[str] = []
    try:
        async with asyncio.timeout(60):
            while "Press Ctrl-C" not in (line := (await dev.stdout.readline()).decode()):
                assert line, "boundbox dev ended:\n" + "".join(output)
                output.append(line)
        banner = "".join(output)
        drain = asyncio.create_task(dev.stdout.read())  # the children's output, until the end

        secret_file = tmp_path / ".data" / "auth-secret"
        assert mode(secret_file) == 0o600
        secret = secret_file.read_text().strip()
        tokens = dict(re.findall(r"^  export (\w+_TOKEN)=(\S+)$", banner, re.MULTILINE))
        admin, customer = (
            jwt.decode(tokens[name], secret, algorithms=["HS256"], audience="boundbox")
            for name in ("ADMIN_TOKEN", "CUSTOMER_TOKEN")
        )
        assert (admin["sub"], set(admin["scope"].split())) == ("admin", set(ADMIN_SCOPES))
        assert (customer["sub"], customer["scope"]) == ("alice", " ".join(CUSTOMER_SCOPES))
        assert admin["exp"] - admin["iat"] == DEV_TOKEN_HOURS * 3600
        assert "RabbitMQ  amqp://guest:***@127.0.0.1" in banner
        assert ":guest@" not in banner

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}") as api:

            async def ready() -> bool:
                try:
                    return (await api.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, within=30)
            body = {"name": "Dev"}
            admin = {"Authorization": f"Bearer {tokens['ADMIN_TOKEN']}"}
            customer = {"Authorization": f"Bearer {tokens['CUSTOMER_TOKEN']}"}
            assert (await api.post("/categories", json=body)).status_code == 401
            assert (await api.post("/categories", json=body, headers=customer)).status_code == 403
            created = await api.post("/categories", json=body, headers=admin)
            assert created.status_code == 201, created.text
            product = await api.post(
                "/products",
                json={
                    "name": "Mug",
                    "price": "12.50",
                    "category_id": created.json()["id"],
                    "stock": 5,
                },
                headers=admin,
            )
            assert product.status_code == 201, product.text
            line = {"product_id": product.json()["id"], "quantity": 2}
            order = {"customer": "alice", "items": [line]}
            placed = await api.post("/orders", json=order, headers=customer)
            assert placed.status_code == 201, placed.text  # the README's session, pasted
            assert (await api.get(placed.headers["location"], headers=customer)).status_code == 200

        dev.send_signal(signal.SIGINT)
        async with asyncio.timeout(60):
            assert await dev.wait() == 0
            assert "boundbox dev: stopped" in (await drain).decode()
    finally:
        await stop_supervisor(dev)


@pytest.fixture
def no_mongodb_url() -> Iterator[None]:
    """No MONGODB_URL during the test; afterwards, the caller's (dev_database_url sets one)."""
    before = os.environ.pop("MONGODB_URL", None)
    try:
        yield
    finally:
        os.environ.pop("MONGODB_URL", None)
        if before is not None:
            os.environ["MONGODB_URL"] = before


@pytest.mark.usefixtures("no_mongodb_url")
def test_the_services_follow_devdb_port_unless_mongodb_url_is_set(tmp_path: Path) -> None:
    moved = dev_database_url(settings(tmp_path, devdb_port=27018))
    assert moved.mongodb_url == "mongodb://127.0.0.1:27018"
    assert os.environ["MONGODB_URL"] == moved.mongodb_url  # what the children read


@pytest.mark.usefixtures("no_mongodb_url")
def test_a_mongodb_url_set_in_the_environment_or_dotenv_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("MONGODB_URL=mongodb://db.example:27017\nDEVDB_PORT=27018\n")
    from_file = Settings(_env_file=dotenv)  # type: ignore[call-arg]
    assert dev_database_url(from_file).mongodb_url == "mongodb://db.example:27017"
    monkeypatch.setenv("MONGODB_URL", "mongodb://other.example:27017")
    assert dev_database_url(settings(tmp_path, devdb_port=27018)).mongodb_url == (
        "mongodb://other.example:27017"
    )
    assert os.environ["MONGODB_URL"] == "mongodb://other.example:27017"
