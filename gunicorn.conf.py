"""gunicorn settings for production: ``gunicorn -c gunicorn.conf.py 'app:server'``.

Why these (docs/operations.md has the long form):

* **gthread workers**: each worker process serves ``GUNICORN_THREADS`` requests at once, so a
  slow client (a body trickling in, a slow reader) holds one thread, not a whole worker, and
  the database waits of one request overlap with the Python work of another. Four sync
  workers were made unavailable for 30 s by four clients sending one byte every 2 s.
* **workers = 2 per core** (``WEB_CONCURRENCY`` overrides): the dashboard is CPU-bound in
  Python (figures, JSON); more processes than cores only add memory (~180 MB each).
* **timeouts**: ``timeout`` kills a worker whose main loop hangs (a gthread worker keeps
  beating while its threads work); each request's socket gets ``CLIENT_TIMEOUT_SECONDS``, so a
  client that stops sending mid-request is dropped.
* **one request per connection, accepted only by a worker with a free thread**
  (``worker_connections = threads``, no keep-alive): requests never queue inside a busy worker
  while another is idle.
* **request limits**: request line, header count and header size are capped here; the body
  is capped by the app (``MAX_CONTENT_LENGTH``, 2 MB: a declared length above it is refused
  with 413 before anything is read, a chunked body is cut off at it).
* **logs**: the app writes one JSON line per request (``ops/logs.py``), so gunicorn's access
  log is off and its own lines go through the same JSON formatter.

Put a reverse proxy in front (TLS, and buffering of whole requests and responses: README).
"""

from __future__ import annotations

import multiprocessing
import os

from gunicorn.glogging import Logger

from ops.logs import LOGCONFIG

bind = os.environ.get("BIND", "127.0.0.1:8050")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A worker takes a new connection only while one of its threads is free, and every connection
# ends with its response (no keep-alive: the proxy in front keeps the client's). Otherwise a
# gthread worker accepts without limit and queues requests behind busy threads (CPU-bound
# requests, or slow clients) while other workers idle; this way the kernel hands each new
# connection to a worker that can start it at once, as with sync workers.
worker_connections = threads

timeout = 60
graceful_timeout = 30
keepalive = 0
CLIENT_TIMEOUT_SECONDS = 30

limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# recycle workers now and then, so that slow growth of a process's heap never adds up
max_requests = 5000
max_requests_jitter = 500
# the heartbeat file in memory: a busy disk must not make a worker look hung
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

# gunicorn's control socket (``gunicornc``) is not used; one fixed path per user would also
# clash between two instances on one machine
control_socket_disable = True

accesslog = None
logconfig_dict = LOGCONFIG


class AppLogger(Logger):
    """gunicorn's logger without the access log. With ``logconfig_dict`` set, gunicorn builds
    every request's access-log fields even though ``accesslog`` is off and nothing prints them
    (1.5 % of a worker's CPU under load); the app's own request line replaces that log."""

    def access(self, resp, req, environ, request_time) -> None:
        return None


logger_class = AppLogger


def pre_request(worker, req) -> None:
    """Drop a client that sends nothing for ``CLIENT_TIMEOUT_SECONDS`` in the middle of its
    request (gunicorn reads bodies with no timeout of its own)."""
    sock = getattr(getattr(req, "unreader", None), "sock", None)
    if sock is not None:
        sock.settimeout(CLIENT_TIMEOUT_SECONDS)
