"""Data sets that come with mallseg: the synthetic mall with ground truth and bundled samples.

Like ``sklearn.datasets``: they produce input files for ingest, they are not part of it.
"""
