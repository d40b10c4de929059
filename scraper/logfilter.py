"""Keep usernames and URLs out of every log line (Scrapy logs request URLs by default)."""

from __future__ import annotations

import logging
import re
from typing import Any

from scrapy.logformatter import LogFormatter

__all__ = ["QuietLogFormatter", "RedactingFilter", "install_redaction"]

_URL = re.compile(r"\b(?:https?|wss?)://\S+")


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

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        message = _URL.sub("<url>", message)
        for secret in self.secrets:
            message = re.sub(re.escape(secret), "<user>", message, flags=re.IGNORECASE)
        record.msg, record.args = message, ()
        if record.exc_info:
            record.exc_text = _URL.sub(
                "<url>", logging.Formatter().formatException(record.exc_info)
            )
            for secret in self.secrets:
                record.exc_text = re.sub(
                    re.escape(secret), "<user>", record.exc_text, flags=re.IGNORECASE
                )
            record.exc_info = None
        return True


def install_redaction(secrets: list[str]) -> RedactingFilter:
    """Attach the filter to every handler of the root logger (Scrapy's included)."""
    redacting = RedactingFilter(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redacting)
    return redacting
