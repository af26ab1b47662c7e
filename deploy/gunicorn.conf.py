"""gunicorn settings for Chaski's web process (`gunicorn -c deploy/gunicorn.conf.py server:app`).

Used the same way by `make run` (the Procfile) and in production (deploy/systemd/chaski-web.service).
Everything that differs between the two comes from the environment:

  PORT            port to listen on (default 5000), on 127.0.0.1
  WEB_BIND        full bind address instead, e.g. 0.0.0.0:8000 or unix:/run/chaski/web.sock
  WEB_WORKERS     worker processes (default 2)
  WEB_THREADS     threads per worker (default 4): WEB_WORKERS x WEB_THREADS requests at once
  WEB_TIMEOUT     seconds a worker may stay silent before it is killed (default 10)

Twilio waits 15 s for a webhook answer, then logs error 11205 and tries the fallback URL.
With gthread workers gunicorn's `timeout` is a heartbeat of the worker process, not a limit
on one request: a thread stuck in a slow call keeps its worker alive. What bounds a single
webhook request is the app's own time-outs (NLU, Twilio REST, database) and, in production,
nginx's `proxy_read_timeout` (deploy/nginx/chaski.conf), both below 15 s.
"""
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name) or ""
    try:
        number = int(value) if value else default
    except ValueError:
        raise SystemExit(f"gunicorn.conf.py: {name} must be a whole number, got {value!r}") from None
    if number < 1:
        raise SystemExit(f"gunicorn.conf.py: {name} must be at least 1, got {number}")
    return number


bind = [os.environ.get("WEB_BIND") or f"127.0.0.1:{_int('PORT', 5000)}"]
worker_class = "gthread"
workers = _int("WEB_WORKERS", 2)
threads = _int("WEB_THREADS", 4)
timeout = _int("WEB_TIMEOUT", 10)
# On SIGTERM (systemd stop, honcho on Ctrl-C) requests in flight get this long to finish.
graceful_timeout = 10
# nginx keeps connections to the upstream open; a little longer than nothing saves handshakes.
keepalive = 5

# Access log on stdout (journald or honcho collect it), errors on stderr.
# %(M)s: request time in milliseconds, to see slow webhook answers at a glance.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms "%(a)s"'

# Which proxy to believe is the app's decision (ProxyFix in bot/__init__.py), not gunicorn's:
# by default gunicorn would also turn X-Forwarded-Proto from 127.0.0.1 into the URL scheme.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "")

# gunicorn 25+ opens a control socket under $XDG_RUNTIME_DIR or ~/.gunicorn by default:
# several instances (make run beside the tests) would share one path, and the service's
# home is not writable. systemd (or honcho) already controls the process.
control_socket_disable = True

proc_name = "chaski-web"


def child_exit(server, worker):
    """Drop a dead worker's live gauges from the metrics directory (prometheus_client multiprocess).

    With PROMETHEUS_MULTIPROC_DIR set every worker writes its metrics to files named after its
    pid there; its counters stay (they are still true), its live gauges must go.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
