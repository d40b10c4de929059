"""Scrapy settings of the watchlist spider: polite, bounded and quiet about who is imported.

``scrapy crawl watchlist -a username=NAME -O out.jsonl`` from the repository root
uses these (``scrapy.cfg``); ``python -m scraper`` (what the server runs) starts
from them and applies its command-line limits.
"""

from __future__ import annotations

BOT_NAME = "filmnight"
SPIDER_MODULES = ["scraper.spiders"]
NEWSPIDER_MODULE = "scraper.spiders"

# Identify ourselves; Letterboxd refuses Scrapy's default and python-requests' agents.
USER_AGENT = (
    "filmnight/0.1 (+https://github.com/filmnight/filmnight; "
    "reads one public watchlist at its owner's request)"
)
ROBOTSTXT_OBEY = True

# One request at a time per host, about a second apart with jitter.
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 20

# Our own retry: exponential back-off with jitter, honouring Retry-After, never on 403.
RETRY_ENABLED = False
BACKOFF_RETRY_TIMES = 4
BACKOFF_BASE_DELAY = 2.0
BACKOFF_MAX_DELAY = 60.0
BACKOFF_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
DOWNLOADER_MIDDLEWARES = {
    "scraper.middlewares.BackoffRetryMiddleware": 550,
}
# Redirects are judged by the spider: one to another host is refused, never followed.
REDIRECT_ENABLED = False
METAREFRESH_ENABLED = False
COOKIES_ENABLED = False  # also keeps tldextract (cookie domains) from going online

ITEM_PIPELINES = {"scraper.pipelines.FilmLimitPipeline": 100}

# Nothing listens on this machine for the crawl: no telnet console, no remote control.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
EXTENSIONS = {"scrapy.extensions.telnet.TelnetConsole": None}

LOG_LEVEL = "WARNING"
LOG_FORMATTER = "scraper.logfilter.QuietLogFormatter"

FEED_EXPORT_ENCODING = "utf-8"

# Limits (the server passes litestar.toml's values on the command line).
FILMNIGHT_MAX_PAGES = 100
FILMNIGHT_MAX_FILMS = 5000
