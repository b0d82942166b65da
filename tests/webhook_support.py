"""Webhook receivers that misbehave, on loopback ports of their own: one that
takes the request and never answers, one that answers a byte at a time."""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class _Server:
    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.connected = threading.Event()
        self.stop = threading.Event()
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()  # each answers its own way

    def _read_request(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        self.connected.set()

    def close(self) -> None:
        self.stop.set()
        for conn in [*self.conns, self.sock]:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


class Tarpit(_Server):
    """Reads the request and never answers; ``given_up`` is set when the sender closes its side."""

    def __init__(self) -> None:
        self.given_up = threading.Event()
        super().__init__()

    def _serve(self, conn: socket.socket) -> None:
        self._read_request(conn)
        with contextlib.suppress(OSError):
            while not self.stop.is_set():
                if not conn.recv(1):
                    self.given_up.set()
                    return


class Trickler(_Server):
    """Answers 200 one byte every ``interval`` seconds; ``sent`` counts the bytes it got out."""

    ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.sent = 0
        super().__init__()

    def _serve(self, conn: socket.socket) -> None:
        self._read_request(conn)
        with contextlib.suppress(OSError):
            for byte in self.ANSWER:
                if self.stop.wait(self.interval):
                    return
                conn.sendall(bytes([byte]))
                self.sent += 1
            time.sleep(0.1)
            conn.close()
