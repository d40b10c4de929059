"""Watchlists: imports (Letterboxd and uploads), the encrypted store, the catalogue, candidates."""
