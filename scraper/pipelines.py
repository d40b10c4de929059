"""Item pipeline: the film limit, enforced on what was actually read.

Page 1's count already stops a list that is too large before it is read; this
catches a list that grew during the crawl, or a page without a count.
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from scraper.items import FilmItem

__all__ = ["FilmLimitPipeline"]


class FilmLimitPipeline:
    """Drops films past the spider's ``max_films`` and ends the crawl as ``too_large``."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.count = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FilmLimitPipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        spider: Any = self.crawler.spider
        if isinstance(item, FilmItem):
            self.count += 1
            limit = getattr(spider, "max_films", None)
            if limit is not None and self.count > limit:
                spider.fail("too_large")
                raise DropItem("over the film limit")
        return item
