import pytest

from services.api.tracing import request_id, traceparent

VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_a_sane_request_id_is_kept_and_others_replaced() -> None:
    assert request_id("req-42.a:b") == "req-42.a:b"
    for bad in (None, "", "x" * 129, "has space", "new\nline"):
        generated = request_id(bad)
        assert len(generated) == 32 and generated != bad


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (VALID, VALID),
        (f" {VALID} ", VALID),
        ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later", VALID),
        (None, None),
        ("garbage", None),
        (f"{VALID}-extra", None),  # version 00 ends at the flags
        ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", None),
        ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", None),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", None),
        ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", None),
    ],
)
def test_traceparent_is_validated(header: str | None, expected: str | None) -> None:
    assert traceparent(header) == expected
