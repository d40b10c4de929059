"""Limits for tonight once a provider's details arrive: the candidates are ranked again."""

from __future__ import annotations

import secrets

from server.settings import Settings
from tests.filmdata.test_enrichment import film, lid, provider_settings, served, settle
from tests.server.test_sessions_http import bearer, create
from tests.server.test_watchlists_http import candidates, lb_csv, upload
from tests.support.fake_tmdb import fake_tmdb
from tests.support.wsclient import connect_member


async def test_details_arriving_after_the_limits_leave_out_the_long_film(
    settings: Settings,
) -> None:
    word = "Q" + secrets.token_hex(4)
    long_one = film(f"Long {word}", 1999, runtime=136, genres=("Action",))
    short_one = film(f"Short {word}", 2001, runtime=90, genres=("Comedy",))
    with fake_tmdb([long_one, short_one]) as site:
        configured = provider_settings(settings, film_data="tmdb", tmdb_url=site.base_url)
        async with served(configured, site.key) as client:
            host = await create(client)
            sid, token = host["session_id"], host["token"]
            ws, _ = await connect_member(client.live.ws_url, sid, token)
            try:
                # set before any film has details: runtimes unknown, every film kept
                limits = await client.put(f"/api/v1/sessions/{sid}/limits",
                                          json={"max_runtime_minutes": 120},
                                          headers=bearer(token))  # fmt: skip
                assert limits.status_code == 200, limits.text
                await ws.next_type("limits")
                assert (await ws.next_type("candidates"))["total"] == 0
                csv = lb_csv((long_one.title, 1999, lid()), (short_one.title, 2001, lid()))
                assert (await upload(client, sid, token, csv)).status_code == 201
                first = await ws.next_type("candidates")
                assert (first["left_out"], first["total"]) == (0, 2)
                await settle(client)
                # the details arrived: ranked again, the 136-minute film is left out
                event = await ws.next_type("candidates")
                assert event["left_out"] == 1
                assert [c["film"]["title"] for c in event["candidates"]] == [short_one.title]
                assert event["candidates"][0]["film"]["runtime_minutes"] == 90
            finally:
                await ws.close()
            page = await candidates(client, sid, token)
            assert (page["left_out"], page["total"]) == (1, 1)
