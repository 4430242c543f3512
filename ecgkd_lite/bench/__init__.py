"""Benchmark runners behind ``ecgkd bench``: the quality table (``quality``)."""

from .quality import CLASSIC, FAMILIES, SCHEMA, load_result, markdown_table, resolve_methods, run_quality

__all__ = ["run_quality", "markdown_table", "load_result", "resolve_methods", "SCHEMA", "CLASSIC", "FAMILIES"]
