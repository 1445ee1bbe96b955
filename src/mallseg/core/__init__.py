"""The bottom layer: canonical tables and SQL quoting, imported by every stage.

Nothing here imports another part of mallseg.
"""
