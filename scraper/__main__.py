"""``python -m scraper``: run one watchlist import, JSON lines on stdout (see runner.py)."""

import sys

from scraper.runner import main

sys.exit(main())
