"""Pure scam-scoring core: values in, values out.

Imports no web framework, queue, cache or database library (an import-linter contract
enforces it). Loading a model artifact is its only I/O.
"""
