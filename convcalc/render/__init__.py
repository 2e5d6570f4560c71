"""Renderers: reports to rich tables, JSON, CSV and markdown. Only these modules print."""
