"""Keep usernames and URLs out of every log line (Scrapy logs request URLs by default).

Two layers: :class:`QuietLogFormatter` (the ``LOG_FORMATTER`` setting) never puts a
request, a referer or an item into Scrapy's own messages, and
:class:`RedactingFilter`, added to every log handler, rewrites whatever else gets
through (other loggers, tracebacks, warnings): URLs become ``<url>`` and the
member's name or link ``<user>``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from scrapy.logformatter import LogFormatter

__all__ = ["QuietLogFormatter", "RedactingFilter", "install_redaction"]

_URL = re.compile(r"\b(?:https?|wss?|ftp|file)://[^\s'\"<>]+", re.IGNORECASE)


class QuietLogFormatter(LogFormatter):
    """Scrapy's per-request and per-item messages without the URL or the item."""

    def crawled(self, request: Any, response: Any, spider: Any) -> Any:
        entry = super().crawled(request, response, spider)
        entry["msg"], entry["args"] = "Crawled (%(status)s)", {"status": response.status}
        return entry

    def scraped(self, item: Any, response: Any, spider: Any) -> Any:
        entry = super().scraped(item, response, spider)
        entry["msg"], entry["args"] = "Scraped an item", {}
        return entry

    def dropped(self, item: Any, exception: Any, response: Any, spider: Any) -> Any:
        entry = super().dropped(item, exception, response, spider)
        entry["msg"], entry["args"] = "Dropped an item: %(reason)s", {"reason": str(exception)}
        return entry

    def download_error(self, failure: Any, request: Any, spider: Any, errmsg: Any = None) -> Any:
        entry = super().download_error(failure, request, spider, errmsg)
        entry["msg"], entry["args"] = "Download error: %(error)s", {"error": failure.type.__name__}
        return entry

    def spider_error(self, failure: Any, request: Any, response: Any, spider: Any) -> Any:
        entry = super().spider_error(failure, request, response, spider)
        entry["msg"], entry["args"] = "Spider error: %(error)s", {"error": failure.type.__name__}
        return entry

    def item_error(self, item: Any, exception: Any, response: Any, spider: Any) -> Any:
        entry = super().item_error(item, exception, response, spider)
        entry["msg"], entry["args"] = "Item error: %(error)s", {"error": type(exception).__name__}
        return entry


class RedactingFilter(logging.Filter):
    """Rewrites each record with every URL and the given secrets (the username) removed."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Also hide these (case-insensitive, as whole words so ``ana`` spares ``banana``)."""
        self._secrets.update(s.strip() for s in secrets if s and s.strip())
        if self._secrets:
            words = sorted(self._secrets, key=len, reverse=True)
            alternatives = "|".join(re.escape(word) for word in words)
            self._pattern = re.compile(
                rf"(?<![A-Za-z0-9_])(?:{alternatives})(?![A-Za-z0-9_])", re.IGNORECASE
            )

    def redact(self, text: str) -> str:
        text = _URL.sub("<url>", text)
        return self._pattern.sub("<user>", text) if self._pattern else text

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            try:
                message = record.getMessage()
            except Exception:  # a bad format string must not hide the rest of the line
                message = record.msg
            record.msg, record.args = self.redact(message), ()
        # else a structured event (a dict for structlog's formatter): its formatter
        # renders it; the import child only ever logs strings.
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


_installed = RedactingFilter()


def install_redaction(secrets: Iterable[str]) -> RedactingFilter:
    """Hide ``secrets`` and URLs in every handler of the root logger (Scrapy's included).

    Idempotent: one shared filter per process, extended with each call's secrets.
    Meant for the import child process, whose every handler it changes for good.
    """
    _installed.add(secrets)
    for handler in logging.getLogger().handlers:
        if _installed not in handler.filters:
            handler.addFilter(_installed)
    return _installed
