"""Versioned wording catalogues (TOML data files); loaded and rendered by `moderation.wording`."""
