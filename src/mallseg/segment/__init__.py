"""Segmentation: preprocessing, algorithms, model selection, personas, assignment."""
