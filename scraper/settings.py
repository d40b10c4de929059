"""Scrapy settings of the watchlist spider: polite, bounded and quiet about who is imported.

``scrapy crawl watchlist -a username=NAME -O out.jsonl`` from the repository root
uses these (``scrapy.cfg``); ``python -m scraper`` (what the server runs) starts
from them and applies its command-line limits on top.
"""

from __future__ import annotations

import os

# tldextract (used by Scrapy's cookie middleware) downloads the public-suffix list on
# first use; this variable, read when Scrapy builds its extractor, makes it use the
# snapshot bundled with the package instead.  It must be set before the cookie
# middleware's module is imported, which this settings module always precedes.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

BOT_NAME = "filmnight"
SPIDER_MODULES = ["scraper.spiders"]
NEWSPIDER_MODULE = "scraper.spiders"

# Identify ourselves; Letterboxd refuses Scrapy's default and python-requests' agents.
USER_AGENT = (
    "filmnight/0.1 (+https://github.com/filmnight/filmnight; "
    "imports one watchlist at a member's request)"
)
ROBOTSTXT_OBEY = True

# One request at a time per host, about a second apart with ±50 % jitter.  Scrapy 2.19
# deprecates RANDOMIZE_DOWNLOAD_DELAY (setting it warns) for DOWNLOAD_DELAY_JITTER,
# whose 0.5 is exactly what RANDOMIZE_DOWNLOAD_DELAY=True meant.
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 20
"""One page; a page that never answers is retried, then the import ends in ``timeout``."""

# A watchlist page is about 100 KB of HTML.  Scrapy's default cap (1 GiB) would let a
# 0.6 MB compressed body inflate to 1 GiB in this process, so pages and robots.txt are
# capped at 4 MiB: on the wire (the download is cut off, Content-Length or not) and
# again while HttpCompressionMiddleware inflates gzip, deflate, brotli or zstd, 64 KiB
# at a time.  A page over the cap ends the import as ``page_too_large``
# (CappedRobotsTxtMiddleware does the same for robots.txt).
DOWNLOAD_MAXSIZE = 4 * 1024 * 1024
DOWNLOAD_WARNSIZE = 1024 * 1024

# Our own retry: exponential back-off with jitter honouring Retry-After, never on 403.
RETRY_ENABLED = False
BACKOFF_RETRY_TIMES = 4
BACKOFF_BASE_DELAY = 2.0
BACKOFF_MAX_DELAY = 60.0
"""Longest wait; a Retry-After longer than this ends the import as ``rate_limited``."""
BACKOFF_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "scraper.middlewares.BackoffRetryMiddleware": 550,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "scraper.middlewares.CappedRobotsTxtMiddleware": 100,
}
# Redirects are judged by the spider: one to another host is refused, never followed.
REDIRECT_ENABLED = False
METAREFRESH_ENABLED = False
COOKIES_ENABLED = False  # no session needed; also keeps tldextract from ever being called

ITEM_PIPELINES = {"scraper.pipelines.FilmLimitPipeline": 100}

# Nothing listens on this machine for the crawl: no telnet console, and not Scrapy
# 2.19's remote-control endpoint (an HTTP server that runs arbitrary Python).
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
EXTENSIONS = {
    "scrapy.extensions.telnet.TelnetConsole": None,
    "scrapy.extensions.remote_control.RemoteControl": None,
}

# Scrapy logs request URLs (which name the member); the formatter leaves them out and
# the spider adds a redacting filter to every log handler when it starts.
LOG_LEVEL = "WARNING"
LOG_FORMATTER = "scraper.logfilter.QuietLogFormatter"

FEED_EXPORT_ENCODING = "utf-8"

# Limits (the server passes litestar.toml's values on the command line).
FILMNIGHT_MAX_PAGES = 100
FILMNIGHT_MAX_FILMS = 5000
FILMNIGHT_TIMEOUT = 300.0
"""The whole import, in seconds; past it the crawl closes as ``timeout``."""
