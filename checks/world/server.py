"""The moto server the embedded world runs on: 127.0.0.1 only, a free port, a clean state."""

from __future__ import annotations

import logging

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

from checks.world import patches


class _Server(ThreadedMotoServer):
    """ThreadedMotoServer whose WSGI app sits behind the deny gate (patches.denygate)."""

    def __init__(self, port: int, account: str):
        super().__init__(ip_address="127.0.0.1", port=port, verbose=False)
        self._account = account

    def _server_entry(self) -> None:
        app = patches.denygate.wrap_app(DomainDispatcherApplication(create_backend_app), self._account)
        self._server = make_server(self._ip_address, self._port, app, True)
        self._server_ready_event.set()
        self._server.serve_forever(poll_interval=0.02)  # stop() waits for one poll: 0.5 s by default


class MotoServer:
    """Start/stop one moto server; moto's state (process-wide) is reset on start."""

    def __init__(self, account: str = "123456789012"):
        self.account = account
        self._server: _Server | None = None
        self.endpoint_url = ""

    def start(self) -> str:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no per-request access log lines
        patches.apply()
        patches.reset()
        server = _Server(0, self.account)  # port 0: the OS picks a free port, no probe/bind race
        server.start()
        self._server = server
        self.endpoint_url = f"http://127.0.0.1:{server.get_host_and_port()[1]}"
        return self.endpoint_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        patches.reset()
