"""Per-customer features computed in the workspace database, and the lenses that pick them."""
