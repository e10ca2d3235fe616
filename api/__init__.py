"""Thin Flask shell and the `vigie` command line."""
