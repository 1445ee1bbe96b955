"""Continuous monitoring: drift, migration between segments, stable identities, online updates.

- :mod:`~mallseg.monitor.drift`: one check on a (reference, current) pair of windows, with
  a verdict (*stable*, *watch*, *refit due*) and its reasons, from the feature signals
  (:mod:`~mallseg.monitor.feature_drift`, :mod:`~mallseg.monitor.psi`), the segment signals
  (:mod:`~mallseg.monitor.segment_drift`, :mod:`~mallseg.monitor.model_view`) and the fit
  quality (:mod:`~mallseg.monitor.fit_quality`), banded by
  :mod:`~mallseg.monitor.thresholds`;
- :mod:`~mallseg.monitor.windows`: the windows that compare like with like;
- :mod:`~mallseg.monitor.migration`: who moved between segments from one snapshot to the next;
- :mod:`~mallseg.monitor.lineage`: matching a refit's segments to the old ones, so that ids
  and names stay; :mod:`~mallseg.monitor.realign` applies it to a stored refit
  (:mod:`~mallseg.monitor.identity_store`);
- :mod:`~mallseg.monitor.versions`: model versions and the changelog of segment identities
  in the workspace;
- :mod:`~mallseg.monitor.online`: the customers an ingest touched, re-placed alone;
- :mod:`~mallseg.monitor.schedule`: running a check every so often.
"""
