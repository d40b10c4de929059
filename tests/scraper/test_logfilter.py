"""Log lines of an import never carry the username or a URL."""

from __future__ import annotations

import io
import logging
import sys

from scrapy import Request, Spider
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from scraper.items import FilmItem
from scraper.logfilter import QuietLogFormatter, RedactingFilter, install_redaction

URL = "https://letterboxd.com/secret_user/watchlist/page/2/"


def test_the_formatter_drops_urls_and_items() -> None:
    formatter = QuietLogFormatter()
    spider = Spider(name="watchlist")
    spider.crawler = get_crawler(Spider)
    request = Request(URL, headers={"Referer": URL})
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
        formatter.download_error(failure, request, spider, errmsg=URL),
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


def test_names_are_hidden_as_whole_words_only() -> None:
    redacting = RedactingFilter(["ana"])
    assert redacting.redact("ana, Ana and banana; ANA_x stays") == (
        "<user>, <user> and banana; ANA_x stays"
    )


def test_installed_redaction_covers_every_logger_through_the_root_handlers() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    installed = install_redaction(["Cinephile_Ana"])
    try:
        install_redaction(["Cinephile_Ana"])  # idempotent: one filter per handler
        assert handler.filters.count(handler.filters[0]) == 1 and len(handler.filters) == 1
        logging.getLogger("scrapy.core.engine").debug("Crawled (200) <GET %s>", URL)
        logging.getLogger("twisted").warning("cinephile_ana: connection lost to %s", URL)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for other in root.handlers:  # the test run's own handlers are not ours to keep
            other.removeFilter(installed)
    logged = stream.getvalue()
    assert logged.count("\n") == 2
    assert "letterboxd.com" not in logged and "cinephile_ana" not in logged.lower()
    assert "Crawled (200) <GET <url>" in logged and "<user>: connection lost" in logged


def test_structured_records_pass_through_unchanged() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, {"event": "audit"}, (), None)
    assert RedactingFilter(["ana"]).filter(record) is True
    assert record.msg == {"event": "audit"}
