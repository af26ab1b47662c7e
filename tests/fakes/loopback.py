"""A WSGI app served on a free 127.0.0.1 port in a daemon thread: the base of the loopback fakes."""
from __future__ import annotations

import threading

from werkzeug.serving import make_server

POLL_SECONDS = 0.05  # stop() waits up to one poll: werkzeug's default 0.5 s costs every test


class LoopbackServer:
    """Serve `self._app` (a WSGI callable the subclass defines) between start() and stop()."""

    _server = None

    def start(self):
        """Start serving on a free port; return self."""
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        threading.Thread(target=self._server.serve_forever, args=(POLL_SECONDS,),
                         name=type(self).__name__, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def _app(self, environ, start_response):
        raise NotImplementedError
