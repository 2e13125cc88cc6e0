"""Checks that a docs page (Swagger UI, ReDoc) loads nothing from off the host that serves it."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx

URL_ATTRIBUTES = {"src", "href", "spec-url", "action", "poster", "data"}
# In the inline script: `url: '/openapi.json'`, and any other quoted path or URL it names.
QUOTED = re.compile(r"""['"]((?:https?:)?//[^'"]*|/[^'"\s]*)['"]""")


class _Urls(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        self.urls += [value for name, value in attrs if name in URL_ATTRIBUTES and value]

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def page_urls(html: str) -> list[str]:
    """Every URL the page loads: tag attributes, and the paths and URLs its inline JS names."""
    parser = _Urls()
    parser.feed(html)
    return parser.urls + [url for script in parser.scripts for url in QUOTED.findall(script)]


async def assert_served_offline(client: httpx.AsyncClient, page: str) -> list[str]:
    """The page answers 200, names no off-host URL, and each URL it names answers 200."""
    response = await client.get(page)
    assert response.status_code == 200, response.text
    assert "http://" not in response.text and "https://" not in response.text, response.text
    urls = page_urls(response.text)
    assert urls, f"{page} names no asset"
    host = urlsplit(str(client.base_url)).netloc
    for url in urls:
        parts = urlsplit(url)
        assert parts.netloc in ("", host), f"{page} loads {url} from another host"
        asset = await client.get(url)
        assert asset.status_code == 200, f"{page} loads {url}: {asset.status_code}"
        assert asset.content, url
    return urls
