import httpx
import pytest


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nowhere", 404),
        ("GET", "/shop/x/events", 404),
        ("DELETE", "/categories", 405),
        ("PUT", "/orders/6650f1c2a4b5c6d7e8f90123/cancel", 405),
    ],
)
async def test_routing_errors_are_json_problems(
    client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b'"text"', b""])
async def test_a_body_that_is_no_json_object_is_422(
    client: httpx.AsyncClient, content: bytes
) -> None:
    response = await client.post(
        "/categories", content=content, headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"][0] == "body"


async def test_validation_errors_do_not_echo_the_input(client: httpx.AsyncClient) -> None:
    response = await client.post("/categories", json={"name": 42, "secret": "s3cr3t"})

    assert response.status_code == 422
    assert "s3cr3t" not in response.text
    for error in response.json()["errors"]:
        assert set(error) == {"loc", "msg", "type"}
