"""The use cases: what a user asks mallseg to do, as functions returning typed results.

The command line and the HTTP service are thin layers over these: ``ingest``, ``segment``,
``assign``, ``explain``, ``export`` and ``status``. Each takes the workspace (or its path)
and the actor (who asked: ``cli``, an API key id) for the audit log, and returns a result
object with ``to_dict()``; rendering is the caller's business.
"""
