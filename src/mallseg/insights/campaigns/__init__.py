"""Insights: campaigns."""
