"""The composition root (``bootstrap``) and what is built on it: API, sandbox, worker processes, ASGI."""
