"""Insights: loyalty."""
