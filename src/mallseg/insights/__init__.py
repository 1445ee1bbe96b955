"""What a mall does with its segments: loyalty and value, campaigns, layout, recommendations.

Each subpackage computes one kind of insight and returns a result object (a value: frames
and numbers); the CLI, the report, the dashboard and the HTTP API render it. Insights read
the canonical tables and a segmentation run's assignments; they never import the
application layer, the service or the report.
"""
