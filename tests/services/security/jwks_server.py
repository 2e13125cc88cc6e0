"""A tiny real HTTP server serving a JWKS that a test can change, counting its fetches."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm


def jwk(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    """The public JWK of `key`, named `kid`."""
    if isinstance(key, rsa.RSAPrivateKey):
        public = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        return public | {"kid": kid, "use": "sig", "alg": "RS256"}
    public = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return public | {"kid": kid, "use": "sig", "alg": "ES256"}


class JwksServer:
    """Serves {"keys": keys} at /jwks.json on 127.0.0.1; `fetches` counts the requests."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                body = json.dumps({"keys": server.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}/jwks.json"
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @contextmanager
    def running(self) -> Iterator[JwksServer]:
        self._thread.start()
        try:
            yield self
        finally:
            self.stop()

    def stop(self) -> None:
        """Stops serving and closes the port: fetches fail from now on."""
        if self._thread.is_alive():
            self._http.shutdown()
            self._thread.join(timeout=5)
        self._http.server_close()
