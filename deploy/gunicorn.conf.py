"""gunicorn's settings for voiceapp in production (docs/deploying.md installs this file as
/etc/voiceapp/gunicorn.conf.py):

    gunicorn -c /etc/voiceapp/gunicorn.conf.py 'voiceapp:create_app()'

Options on gunicorn's command line (``--bind``, ``--workers``) win over this file.

This file imports nothing from voiceapp, so the master process never loads the app and
``kill -HUP`` (``systemctl reload voiceapp``) is a graceful reload: new workers start with
whatever code is installed now, while the old ones finish the requests they are serving.
"""

import logging
import os

from gunicorn.glogging import Logger

# nginx on the same machine reaches the app on loopback. A second app server on another
# machine binds its private address instead (and a firewall lets only nginx reach it).
bind = "127.0.0.1:8000"

# One sync worker per core, and at least two so that one slow request (a chair's key
# unlock, an upload being sealed) never holds up everyone: the measurements in
# docs/performance.md found this the best fit on 2 cores. WEB_CONCURRENCY overrides it.
workers = int(os.environ.get("WEB_CONCURRENCY") or 0) or max(2, os.cpu_count() or 1)
worker_class = "sync"

# nginx receives an upload whole before passing it on (request buffering), so a worker
# reads even a 30 MB body at loopback speed; the longest piece of work is then checking
# and sealing that upload, or an Argon2 unlock: seconds. A worker silent for 60 seconds is
# stuck, and is replaced. nginx's proxy_read_timeout is longer, so it never gives up first.
timeout = 60
# On stop or reload, requests in progress get this long to finish.
graceful_timeout = 30
keepalive = 2
# A fresh worker after every couple of thousand requests keeps memory use flat.
max_requests = 2000
max_requests_jitter = 200
# Never preload: the master must not import the app, or a reload would keep the old code.
preload_app = False
proc_name = "voiceapp"
# No runtime control socket: signals and systemd manage the server, and two servers on one
# machine would otherwise share one default socket path.
control_socket_disable = True

# Both logs go to standard output and error, which systemd's journal keeps.
accesslog = "-"
errorlog = "-"
loglevel = "info"
access_log_format = '%(t)s "%(r)s" %(s)s %(b)s %(M)sms'

ROUTE = "voiceapp.route"  # where voiceapp.access_log notes the route a request matched
NOT_LOGGED = "(not logged)"


class RedactingLogger(Logger):
    """gunicorn's logger without anything that can hold a secret.

    An access line shows the route a request matched (``"GET /i/<code> HTTP/1.0" 302``),
    never its path or query string; no headers, cookies, referrer or environment. Error
    lines never show a request's address either.
    """

    def atoms(self, resp, req, environ, request_time):
        atoms = {name: value
                 for name, value in super().atoms(resp, req, environ, request_time).items()
                 if not name.startswith("{")}  # every header, cookie and environ variable
        route = environ.get(ROUTE, "(no route)")
        atoms.update(r=f"{atoms['m']} {route} {atoms['H']}", U=route, q="", f="-", u="-")
        return atoms

    def setup(self, cfg):
        super().setup(cfg)
        self.error_log.addFilter(_without_addresses)


def _without_addresses(record: logging.LogRecord) -> bool:
    """gunicorn names a request's address when a request is malformed ("Invalid request
    from ip=...: Invalid HTTP request line: 'GET /i/...'") or its handling fails ("Error
    handling request GET /i/..."): keep the news, drop the address."""
    message = record.msg if isinstance(record.msg, str) else ""
    if message.startswith("Invalid request from"):
        record.msg, record.args = message.partition(": ")[0] + ": " + NOT_LOGGED, ()
    elif message.startswith("Error handling request"):
        record.msg, record.args = "Error handling request " + NOT_LOGGED, ()
    return True


logger_class = RedactingLogger
