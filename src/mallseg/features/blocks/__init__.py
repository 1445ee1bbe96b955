"""Per-table blocks of per-customer features: one aggregation pass over each source table."""
