"""The HTTP service: segments, scoring and events over one workspace (FastAPI + Uvicorn).

Routes are thin: each validates its request (:mod:`mallseg.service.payloads`), checks the
API key (:mod:`mallseg.service.auth`), calls a use case of :mod:`mallseg.app` and answers
with a typed body. The API documentation is at ``/docs``; ``mallseg serve`` starts it.

One workspace, several processes
--------------------------------
DuckDB lets one process write a database file at a time, and a process that writes
excludes every other, readers included. The service is that process while it runs: it
opens the workspace once, for writing, and serves every request from that connection.
Requests run in a thread pool and a DuckDB connection is not safe to share across threads
unguarded, so every use of the connection holds the service's lock
(:class:`~mallseg.service.state.ServiceState`); scoring needs no database and takes no
lock. Customer-level reads are audited in batches, writes at once
(:mod:`mallseg.service.audit_trail`).

For the same reason the service runs as one process (``--workers 1``): a second worker
could not open the workspace. One process with the model in memory scores thousands of
customers a second (``bench/bench_service.py``).

On start the service writes ``service.lock`` (its URL and process id) in the workspace
folder and removes it on stop (:mod:`mallseg.service.lockfile`). A ``mallseg`` command run
meanwhile cannot open the workspace and stops with one line and exit code 2; keys can
then be managed through ``/keys``, events recorded through the API, and anything else
waits until the service is stopped.
"""
