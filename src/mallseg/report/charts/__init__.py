"""Charts: pure functions from result objects and small frames to Plotly figures."""
