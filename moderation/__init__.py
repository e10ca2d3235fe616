"""The moderation domain and its persistence (SQLAlchemy). No Flask, no RQ."""
