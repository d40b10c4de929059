"""The browser client: static ES modules, and the HTML shell for ``/`` and ``/join/{code}``.

Joining is a POST from the page; opening an invite link only shows the preview.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Router, get
from litestar.params import FromPath
from litestar.response import File
from litestar.static_files import create_static_files_router

__all__ = ["WEB_CLIENT_DIR", "web_router"]

WEB_CLIENT_DIR = Path(__file__).resolve().parent.parent / "web-client"


def _shell() -> File:
    return File(
        WEB_CLIENT_DIR / "index.html", content_disposition_type="inline", media_type="text/html"
    )


@get("/", include_in_schema=False, sync_to_thread=False)
def home() -> File:
    return _shell()


@get("/join/{invite_code:str}", include_in_schema=False, sync_to_thread=False)
def join_page(invite_code: FromPath[str]) -> File:
    return _shell()


@get("/s/{session_id:str}", include_in_schema=False, sync_to_thread=False)
def session_page(session_id: FromPath[str]) -> File:
    return _shell()


def web_router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            home,
            join_page,
            session_page,
            create_static_files_router(
                path="/static", directories=[WEB_CLIENT_DIR], include_in_schema=False
            ),
        ],
    )
