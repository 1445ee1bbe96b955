"""Data layer: canonical schema, column mapping, ingest with validation, simulator, samples."""
