"""Audit: the hash-chained event trail, its table and its routes."""
