"""The store: SQLAlchemy models, engine/session set-up and Alembic migrations."""
