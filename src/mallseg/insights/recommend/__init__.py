"""Insights: recommend."""
