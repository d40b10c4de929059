"""Log lines of an import never carry the username or a URL."""

from __future__ import annotations

import logging
import sys

from scrapy import Request, Spider
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from scraper.items import FilmItem
from scraper.logfilter import QuietLogFormatter, RedactingFilter

URL = "https://letterboxd.com/secret_user/watchlist/page/2/"


def test_the_formatter_drops_urls_and_items() -> None:
    formatter = QuietLogFormatter()
    spider = Spider(name="watchlist")
    spider.crawler = get_crawler(Spider)
    request = Request(URL)
    response = HtmlResponse(URL, body=b"<html></html>", request=request)
    item = FilmItem(title="Alien", slug="alien")
    try:
        raise TimeoutError(URL)
    except TimeoutError:
        failure = Failure()  # type: ignore[no-untyped-call]
    entries = [
        formatter.crawled(request, response, spider),
        formatter.scraped(item, response, spider),
        formatter.dropped(item, ValueError("over the film limit"), response, spider),
        formatter.download_error(failure, request, spider),
        formatter.spider_error(failure, request, response, spider),
        formatter.item_error(item, ValueError(URL), response, spider),
    ]
    for entry in entries:
        text = entry["msg"] % entry["args"]
        assert "secret_user" not in text and "letterboxd.com" not in text and "Alien" not in text


def test_the_filter_rewrites_messages_arguments_and_tracebacks() -> None:
    redacting = RedactingFilter(["Secret_User"])
    try:
        raise RuntimeError(f"while fetching {URL}")
    except RuntimeError:
        record = logging.LogRecord(
            "scrapy", logging.ERROR, __file__, 1, "Gave up on %s for %s", (URL, "secret_user"),
            sys.exc_info(),
        )  # fmt: skip
    assert redacting.filter(record) is True
    text = record.getMessage() + (record.exc_text or "")
    assert "secret_user" not in text.lower() and "letterboxd.com" not in text
    assert "<url>" in text and "<user>" in text and "RuntimeError" in text
