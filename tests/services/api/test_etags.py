import pytest

from services.api.etags import etag, parse_if_match


def test_an_etag_is_the_quoted_version() -> None:
    assert etag(3) == '"3"'


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        (None, None),
        ("*", None),
        ('"3"', {3}),
        ("3", {3}),
        ('"1", "4"', {1, 4}),
        ('W/"3"', set()),  # If-Match compares strongly: a weak tag never matches
        ('"abc"', set()),
        ('"' + "9" * 40 + '"', set()),
    ],
)
def test_if_match_names_the_accepted_versions(
    header: str | None, accepted: set[int] | None
) -> None:
    assert parse_if_match(header) == (None if accepted is None else frozenset(accepted))
