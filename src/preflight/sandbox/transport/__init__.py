"""The layer in front of every route, kept in two halves: what the platform does to each request
(platform.py: the throttle, idempotent writes, the request log) and what a fault does to it
(faults.py: the transport faults; reshape.py: the faults that rewrite an answer). call.py holds what
is known about one request, asgi.py the plumbing; sandbox/middleware.py composes them in order."""
