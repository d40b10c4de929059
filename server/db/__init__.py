"""Persistence: SQLAlchemy models, the engine factory and migrations."""
