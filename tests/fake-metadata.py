#!/usr/bin/env python3
"""A fake DigitalOcean metadata service for the tests (python3 standard library only).

Serves a metadata document at GET /metadata/v1.json on --bind ADDR --port PORT, and
prints "PORT n" on stdout once the port is bound (--port 0 picks a free one).

Faults, given on the command line and changed at run time:

  --refuse-for SEC     refuse connections for SEC seconds: the port is bound but not
                       listening, so a client gets "connection refused"
  --stall SEC          the first --stall-count (default 1) requests wait SEC seconds
                       before they are answered
  --status500-for N    the next N requests get a 500 (with Retry-After and RateLimit headers)
  --truncate-for N     the next N answers promise more bytes (Content-Length) than they
                       send, then the connection closes
  --garbage-for N      the next N answers are a 200 whose body is not JSON
  --drop-for N         the next N connections are closed without an answer
  --no-length          answers carry no Content-Length: the body ends at the close
  --user-data FILE     the document's user_data is this file's content
  --droplet-id ID      the document's droplet_id is ID

A request for the document meets the faults in this order, each using up one count:
the stall, then drop, 500, truncate, garbage; when none is left it gets the document.

Control, on the same address:
  POST /_fault         changes settings, given as a JSON object or as key=value pairs in
                       the query string or the body: refuse_for, stall, stall_count,
                       status500_for, truncate_for, garbage_for, drop_for, no_length,
                       droplet_id, user_data (the content itself), reset_stats; answers
                       the new settings as JSON
  GET /_stats          the counts, as JSON: requests (of the document), answers by kind,
                       methods, control requests, and the last User-Agent

Binds only to the address it is given. SIGTERM and SIGINT stop it (exit status 0).
"""

import argparse
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DOCUMENT_PATH = "/metadata/v1.json"
GARBAGE = b"<html><body>502 Bad Gateway (not JSON)</body></html>\n"
COUNTED_FAULTS = ("stall_count", "drop_for", "status500_for", "truncate_for", "garbage_for")


class State:
    """The document, the faults left and the counts; every access holds the lock."""

    def __init__(self, document, args):
        self.lock = threading.Lock()
        self.document = document
        self.stall = args.stall
        self.stall_count = args.stall_count if args.stall > 0 else 0
        self.drop_for = args.drop_for
        self.status500_for = args.status500_for
        self.truncate_for = args.truncate_for
        self.garbage_for = args.garbage_for
        self.no_length = args.no_length
        self.refuse_until = time.monotonic() + args.refuse_for
        self.reset_stats()

    def reset_stats(self):
        self.requests = 0
        self.control = 0
        self.answers = {}
        self.methods = {}
        self.user_agent = None

    def count(self, kind):
        self.answers[kind] = self.answers.get(kind, 0) + 1

    def settings(self):
        return {
            "stall": self.stall,
            "stall_count": self.stall_count,
            "drop_for": self.drop_for,
            "status500_for": self.status500_for,
            "truncate_for": self.truncate_for,
            "garbage_for": self.garbage_for,
            "no_length": self.no_length,
            "refusing": max(0.0, self.refuse_until - time.monotonic()),
            "droplet_id": self.document.get("droplet_id"),
        }

    def stats(self):
        return {
            "requests": self.requests,
            "answers": dict(self.answers),
            "methods": dict(self.methods),
            "control": self.control,
            "user_agent": self.user_agent,
        }

    def next_answer(self):
        """The stall (seconds) and the kind of answer for the next document request."""
        self.requests += 1
        stall = 0.0
        if self.stall_count > 0:
            self.stall_count -= 1
            stall = self.stall
        for name in COUNTED_FAULTS[1:]:
            if getattr(self, name) > 0:
                setattr(self, name, getattr(self, name) - 1)
                return stall, name[: -len("_for")]
        return stall, "ok"


def set_droplet_id(document, value):
    """droplet_id keeps the document's type (number or string) when value is digits."""
    value = str(value)
    if isinstance(document.get("droplet_id"), int) and value.isdigit():
        document["droplet_id"] = int(value)
    else:
        document["droplet_id"] = value


def apply_changes(state, server, changes):
    """Applies a POST /_fault request; raises ValueError on a bad one."""
    for key, value in changes.items():
        key = key.replace("-", "_")
        if key in ("stall", "refuse_for"):
            value = float(value)
            if value < 0:
                raise ValueError(f"{key}: negative")
        elif key in COUNTED_FAULTS:
            value = int(value)
            if value < 0:
                raise ValueError(f"{key}: negative")
        if key == "stall":
            state.stall = value
            if state.stall_count == 0:
                state.stall_count = 1 if value > 0 else 0
        elif key in COUNTED_FAULTS:
            setattr(state, key, value)
        elif key == "no_length":
            state.no_length = value in (True, 1, "1", "true", "yes")
        elif key == "droplet_id":
            set_droplet_id(state.document, value)
        elif key == "user_data":
            state.document["user_data"] = str(value)
        elif key == "reset_stats":
            if value:
                state.reset_stats()
        elif key == "refuse_for":
            state.refuse_until = time.monotonic() + value
            if value > 0:
                # The answer goes out first; the serving loop then stops listening.
                threading.Thread(target=server.shutdown, daemon=True).start()
        else:
            raise ValueError(f"unknown setting {key}")


class Handler(BaseHTTPRequestHandler):
    server_version = "fake-metadata/1"
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        if not self.server.quiet:
            sys.stderr.write("fake-metadata: %s\n" % (fmt % args))

    def count_method(self):
        with self.server.state.lock:
            methods = self.server.state.methods
            methods[self.command] = methods.get(self.command, 0) + 1
            self.server.state.user_agent = self.headers.get("User-Agent")

    def send(self, status, body, content_type="application/json", extra=(), length=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        # Odd spelling and padding on purpose: clients must match names case-insensitively
        # and trim values.
        self.send_header("x-request-ID", "  fake-%d  " % self.server.state.requests)
        for name, value in extra:
            self.send_header(name, value)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status, obj):
        body = (json.dumps(obj, indent=1) + "\n").encode()
        self.send(status, body, length=len(body))

    def do_GET(self):
        self.count_method()
        path = urllib.parse.urlsplit(self.path).path
        if path == "/_stats":
            with self.server.state.lock:
                self.server.state.control += 1
                stats = self.server.state.stats()
            self.send_json(200, stats)
            return
        if path != DOCUMENT_PATH:
            self.send_json(404, {"error": "not found"})
            return
        state = self.server.state
        with state.lock:
            stall, kind = state.next_answer()
            body = (json.dumps(state.document, indent=2) + "\n").encode()
            no_length = state.no_length
            if stall:
                state.count("stalled")
            state.count(kind)
        if stall:
            time.sleep(stall)
        self.answer(kind, body, no_length)

    def answer(self, kind, body, no_length):
        self.close_connection = True
        if kind == "drop":
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if kind == "status500":
            reset = int(time.time()) + 1
            extra = (("Retry-After", "1"), ("RateLimit-Remaining", "0"),
                     ("RateLimit-Reset", str(reset)))
            body = b'{"id":"server_error","message":"fake fault"}\n'
            self.send(500, body, extra=extra, length=None if no_length else len(body))
        elif kind == "truncate":
            self.send(200, body[: len(body) // 2], length=len(body) + 100)
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        elif kind == "garbage":
            self.send(200, GARBAGE, length=None if no_length else len(GARBAGE))
        else:
            self.send(200, body, length=None if no_length else len(body))

    def refuse_method(self):
        self.count_method()
        self.close_connection = True
        self.send_response(405)
        self.send_header("Allow", "GET, POST")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = refuse_method
    do_DELETE = refuse_method
    do_PUT = refuse_method
    do_PATCH = refuse_method

    def do_POST(self):
        self.count_method()
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/_fault":
            self.send_json(404, {"error": "not found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            changes = dict(urllib.parse.parse_qsl(url.query, strict_parsing=bool(url.query)))
            raw = raw.strip()
            if raw.startswith(b"{"):
                body = json.loads(raw)
                if not isinstance(body, dict):
                    raise ValueError("expected a JSON object")
                changes.update(body)
            elif raw:
                changes.update(urllib.parse.parse_qsl(raw.decode(), strict_parsing=True))
            with self.server.state.lock:
                self.server.state.control += 1
                apply_changes(self.server.state, self.server, changes)
                settings = self.server.state.settings()
        except (ValueError, TypeError) as e:
            self.send_json(400, {"error": str(e)})
            return
        self.send_json(200, settings)

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a stall longer than its timeout): nothing to tell.
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, state, quiet):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler, bind_and_activate=False)
        self.state = state
        self.quiet = quiet

    def server_bind(self):
        # HTTPServer.server_bind would look the address up in DNS (getfqdn): on a test
        # network without DNS that takes seconds.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def rebind(self):
        """A fresh socket bound to the same address, not listening: connections are refused."""
        self.socket.close()
        self.socket = socket.socket(self.address_family, self.socket_type)
        self.server_bind()


def parse_args(argv):
    p = argparse.ArgumentParser(description="A fake DigitalOcean metadata service.")
    p.add_argument("--document", required=True, help="the v1.json document to serve")
    p.add_argument("--bind", default="127.0.0.1", help="the address to listen on")
    p.add_argument("--port", type=int, default=0, help="the port (0: pick a free one)")
    p.add_argument("--refuse-for", type=float, default=0.0, metavar="SEC")
    p.add_argument("--stall", type=float, default=0.0, metavar="SEC")
    p.add_argument("--stall-count", type=int, default=1, metavar="N")
    p.add_argument("--status500-for", type=int, default=0, metavar="N")
    p.add_argument("--truncate-for", type=int, default=0, metavar="N")
    p.add_argument("--garbage-for", type=int, default=0, metavar="N")
    p.add_argument("--drop-for", type=int, default=0, metavar="N")
    p.add_argument("--no-length", action="store_true")
    p.add_argument("--user-data", metavar="FILE")
    p.add_argument("--droplet-id", metavar="ID")
    p.add_argument("--quiet", action="store_true", help="no log of requests on stderr")
    args = p.parse_args(argv)
    for name in ("refuse_for", "stall", "stall_count", "status500_for", "truncate_for",
                 "garbage_for", "drop_for"):
        if getattr(args, name) < 0:
            p.error(f"--{name.replace('_', '-')} must not be negative")
    return args


def main(argv):
    args = parse_args(argv)
    with open(args.document, encoding="utf-8") as f:
        document = json.load(f)
    if not isinstance(document, dict):
        sys.exit(f"{args.document}: not a JSON object")
    if args.user_data is not None:
        with open(args.user_data, encoding="utf-8") as f:
            document["user_data"] = f.read()
    if args.droplet_id is not None:
        set_droplet_id(document, args.droplet_id)

    state = State(document, args)
    server = Server((args.bind, args.port), state, args.quiet)
    stopping = threading.Event()

    def stop(signum, frame):
        # Raising here could land anywhere in the main thread; ask the loops to end.
        stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.server_bind()
        # Unless it is to refuse connections first, it listens before it tells its port:
        # a client that reads the port may connect at once.
        listening = state.refuse_until <= time.monotonic()
        if listening:
            server.server_activate()
        print("PORT %d" % server.server_address[1], flush=True)
        while not stopping.is_set():
            if not listening:
                with state.lock:
                    left = state.refuse_until - time.monotonic()
                if left > 0:
                    stopping.wait(min(left, 0.05))
                    continue
                server.server_activate()
                listening = True
            server.serve_forever(poll_interval=0.05)
            if not stopping.is_set():
                # Stopped by POST /_fault with refuse_for: stop listening for a while.
                server.rebind()
                listening = False
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
