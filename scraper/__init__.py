"""The Letterboxd watchlist spider (a Scrapy project); never imports ``server``."""
