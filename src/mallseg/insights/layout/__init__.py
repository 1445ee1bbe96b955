"""Insights: layout."""
