"""Request and response bodies of the HTTP API (``XCreate`` in, ``XPublic`` out).

One module per resource; lists are ``XsPublic(data, count)`` where ``count`` is the number
of items in total, whatever page ``offset`` and ``limit`` chose.
"""
