"""The crawl's settings: polite, identified, nothing listening, nothing fetched but the list."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scrapy.settings import Settings

from scraper import settings as project_settings
from scraper.runner import build_settings, parser

ROOT = Path(__file__).resolve().parents[2]


def test_the_project_settings_are_polite_and_quiet() -> None:
    settings = Settings()
    settings.setmodule(project_settings, priority="project")
    assert settings.getbool("ROBOTSTXT_OBEY")
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 1
    assert settings.getfloat("DOWNLOAD_DELAY") == 1.0
    assert settings.getfloat("DOWNLOAD_DELAY_JITTER") == 0.5
    assert settings.getbool("AUTOTHROTTLE_ENABLED")
    agent = settings["USER_AGENT"]
    assert agent.startswith("filmnight/") and "Scrapy" not in agent
    assert not settings.getbool("TELNETCONSOLE_ENABLED")
    assert not settings.getbool("REMOTE_CONTROL_ENABLED")
    assert not settings.getbool("RETRY_ENABLED") and not settings.getbool("REDIRECT_ENABLED")
    assert 403 not in settings.getlist("BACKOFF_HTTP_CODES")
    assert settings["LOG_LEVEL"] == "WARNING"


def test_downloads_are_capped_at_a_few_mebibytes_robots_txt_included() -> None:
    settings = Settings()
    settings.setmodule(project_settings, priority="project")
    assert 0 < settings.getint("DOWNLOAD_WARNSIZE") < settings.getint("DOWNLOAD_MAXSIZE")
    assert settings.getint("DOWNLOAD_MAXSIZE") <= 8 * 1024 * 1024
    middlewares = settings.getdict("DOWNLOADER_MIDDLEWARES")
    assert middlewares["scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"] is None
    assert middlewares["scraper.middlewares.CappedRobotsTxtMiddleware"] == 100


def test_scrapy_finds_the_project_from_the_repository_root() -> None:
    found = subprocess.run(
        [sys.executable, "-m", "scrapy", "list"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert found.stdout.split() == ["watchlist"]


def test_command_line_limits_win_over_the_project_settings() -> None:
    args = parser().parse_args(
        ["--delay", "0", "--concurrency", "8", "--timeout", "5", "--page-timeout", "20"]
    )
    settings = build_settings(args)
    assert settings.getfloat("DOWNLOAD_DELAY") == 0 and not settings.getbool("AUTOTHROTTLE_ENABLED")
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 8
    assert settings.getfloat("DOWNLOAD_TIMEOUT") == 5.0  # never longer than the whole import
    assert settings.getfloat("FILMNIGHT_TIMEOUT") == 5.0
    assert not settings.getbool("REMOTE_CONTROL_ENABLED")


def test_the_public_suffix_list_is_never_downloaded() -> None:
    # Scrapy's cookie middleware builds a tldextract extractor when its module is
    # imported; after our settings it has no list address to fetch, only its snapshot.
    code = (
        "import scraper.settings\n"
        "import scrapy.downloadermiddlewares.cookies as cookies\n"
        "print(repr(cookies._split_domain.suffix_list_urls))\n"
        "print(cookies._split_domain('films.example.co.uk').suffix)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["()", "co.uk"]
