"""One provider's HTTP: timeouts, bounded concurrency and rate, retries that honour ``Retry-After``.

Every answer is classified here into JSON bytes or a :class:`FilmDataError`:

- 401 and 403: ``bad_key`` (never retried: the key will not get better);
- 402 (Kinopoisk's daily quota): ``quota``;
- 429: retried after its ``Retry-After`` (seconds or an HTTP date), when that is no
  longer than ``max_retry_after_s``, and no other request starts before it passes
  (the provider said so to this client, not to one request); still 429 after the
  last try, or asked to wait longer: ``quota``;
- 5xx, a timeout or a refused connection: retried with a short backoff, then ``down``;
- 404: ``not_found``;
- any other status, a body that is not JSON (an HTML error page, an empty body) or
  one larger than ``MAX_BODY_BYTES``: ``malformed``.

Pacing: a request first takes one of ``concurrency`` slots, then waits its turn to
start; turns are given one at a time in arrival order, ``1 / requests_per_second``
apart and never during a 429's pause, so the starts stay evenly spaced even when
requests queued behind busy slots or a pause (they do not go out in a burst).

The key travels only in a request header.  httpx's own exceptions can carry the
request (and so the header), so none of them is re-raised, logged or chained: the
caller sees a :class:`FilmDataError` whose text is fixed.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
import structlog
from prometheus_client import Counter
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
)

from server.filmdata.details import FilmDataError

__all__ = ["MAX_BODY_BYTES", "PROVIDER_REQUESTS", "ProviderHttp", "TransportSettings"]

log = structlog.get_logger(__name__)

PROVIDER_REQUESTS = Counter(
    "filmnight_film_data_requests_total",
    "Film-data provider requests by provider and outcome (ok, retry, or the failure kind)",
    ["provider", "outcome"],
)

MAX_BODY_BYTES = 2 * 1024 * 1024
"""The largest JSON answer read (TMDb's biggest, a film with its credits, is ~200 KB)."""


@dataclass(frozen=True, slots=True)
class TransportSettings:
    timeout_s: float = 10.0
    concurrency: int = 8
    attempts: int = 3
    max_retry_after_s: float = 30.0
    backoff_s: float = 0.5
    requests_per_second: float = 20.0
    """Requests started per second at most (TMDb answers 429 past about 40 a second)."""


class _Retry(Exception):
    """An answer worth asking again (429, 5xx, no answer), with how long to wait."""

    def __init__(self, failure: FilmDataError, wait_s: float) -> None:
        super().__init__(failure.kind)
        self.failure = failure
        self.wait_s = wait_s


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class ProviderHttp:
    """An ``httpx.AsyncClient`` for one provider, its auth header set once."""

    def __init__(
        self,
        base_url: str,
        auth_headers: Mapping[str, str],
        settings: TransportSettings,
        *,
        provider: str,
    ) -> None:
        self.provider = provider
        self.settings = settings
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._turns = asyncio.Lock()
        self._interval = 1.0 / settings.requests_per_second
        self._next_start = 0.0
        self._paused_until = 0.0
        """No request starts before this (``time.monotonic()``): a 429's ``Retry-After``."""
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={"Accept": "application/json", **auth_headers},
            timeout=httpx.Timeout(settings.timeout_s),
            follow_redirects=False,
            trust_env=False,  # no proxy or netrc from the environment: the key goes nowhere else
        )

    async def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> bytes:
        """The body of a 200 answer to ``GET path`` (JSON not yet decoded)."""

        def wait(state: RetryCallState) -> float:
            outcome = state.outcome
            error = outcome.exception() if outcome is not None else None
            return error.wait_s if isinstance(error, _Retry) else 0.0

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.attempts),
            wait=wait,
            retry=retry_if_exception(lambda e: isinstance(e, _Retry)),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._once(path, params)
        except _Retry as last:
            log.warning("filmdata.gave_up", provider=self.provider, failure=last.failure.kind)
            raise last.failure from None
        raise AssertionError("unreachable: tenacity re-raises or returns")

    async def _turn(self) -> None:
        """Wait until this request may start: one at a time, in arrival order, evenly spaced,
        and not while a 429's pause lasts (a pause that begins meanwhile is waited for too)."""
        async with self._turns:
            while True:
                now = time.monotonic()
                start = max(self._next_start, self._paused_until)
                if start <= now:
                    break
                await asyncio.sleep(start - now)
            self._next_start = now + self._interval

    def _pause(self, wait_s: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + wait_s)

    async def _once(self, path: str, params: Mapping[str, str | int] | None) -> bytes:
        try:
            body = await self._answer(path, params)
        except _Retry:
            PROVIDER_REQUESTS.labels(self.provider, "retry").inc()
            raise
        except FilmDataError as failure:
            PROVIDER_REQUESTS.labels(self.provider, failure.kind).inc()
            raise
        PROVIDER_REQUESTS.labels(self.provider, "ok").inc()
        return body

    async def _answer(self, path: str, params: Mapping[str, str | int] | None) -> bytes:
        try:
            async with self._slots:
                await self._turn()
                async with self._client.stream("GET", path, params=params) as response:
                    status = response.status_code
                    if status == 200:
                        return await self._body(response)
                    headers = response.headers
        except httpx.HTTPError:
            # The exception holds the request and its headers: drop it here (the key).
            raise _Retry(FilmDataError("down"), self.settings.backoff_s) from None
        if status in (401, 403):
            log.warning("filmdata.refused", provider=self.provider, status=status)
            raise FilmDataError("bad_key")
        if status == 402:
            raise FilmDataError("quota")
        if status == 404:
            raise FilmDataError("not_found")
        if status == 429:
            after = retry_after_seconds(headers.get("retry-after"))
            wait_s = self.settings.backoff_s if after is None else after
            if wait_s > self.settings.max_retry_after_s:
                raise FilmDataError("quota", retry_after_s=wait_s)
            self._pause(wait_s)
            raise _Retry(FilmDataError("quota", retry_after_s=wait_s), wait_s)
        if status >= 500:
            raise _Retry(FilmDataError("down"), self.settings.backoff_s)
        raise FilmDataError("malformed")

    @staticmethod
    async def _body(response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise FilmDataError("malformed")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise FilmDataError("malformed")
            chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        await self._client.aclose()
