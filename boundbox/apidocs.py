"""`/docs` (Swagger UI) and `/redoc` (ReDoc) served with their files: docs that work offline.

FastAPI's self-hosting recipe: the app is built with `docs_url=None, redoc_url=None`, and
these pages load their JavaScript, CSS and favicon from a static mount of the files the
`fastapi-offline` package ships (Swagger UI 5, ReDoc 2), never from a CDN.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
"""Where the files are mounted: swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js, …"""
ASSETS_PACKAGE = ("fastapi_offline", "static")

# No call to the public validator badge service: the page must not reach off-host.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}


def install(app: FastAPI, *, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Adds the two pages and the mount of their files to `app` (built without its own docs)."""
    if app.docs_url or app.redoc_url or not app.openapi_url:
        raise ValueError("build the app with docs_url=None and redoc_url=None, and an OpenAPI URL")
    openapi_url = app.openapi_url
    app.mount(ASSETS, StaticFiles(packages=[ASSETS_PACKAGE]), name="docs-assets")

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
            # Bearer tokens only: no OAuth2 flow, so no redirect page to point at.
            oauth2_redirect_url=None,
            swagger_ui_parameters={**SWAGGER_UI_PARAMETERS, **(app.swagger_ui_parameters or {})},
        )

    @app.get(redoc_url, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
