"""Thin RQ shell: jobs take ids, call moderation + scoring, and are idempotent."""
