#!/usr/bin/env python3
"""A fake of the DigitalOcean API endpoints doagent-launch uses (python3 stdlib only).

  POST /v2/droplets, GET /v2/droplets?tag_name=T&per_page=N&page=P, GET and DELETE
  /v2/droplets/{id}, POST and GET /v2/firewalls, DELETE /v2/firewalls/{id}

Answers carry every member DigitalOcean's schema requires, so the fake can stand behind
"prism proxy --errors"; --public-url is then Prism's address, used in links.pages.

Bound to --bind ADDR --port PORT; prints "PORT n" once listening (--port 0: any free one).
Every /v2 request must carry "Authorization: Bearer <--token>" (else 401).
Droplets are "new", then "active" --active-after SEC after the create, and get their
addresses then (203.0.113.x public, 10.10.0.x private, 2001:db8::x).

Faults, as flags or at run time with POST /_fault (a JSON object of the same names with
underscores); each count is used up by one /v2 request:
  --status429-for N     answer 429 with Retry-After: --retry-after SEC
  --ratelimit-zero N    answer normally but with RateLimit-Remaining: 0 and
                        RateLimit-Reset now + --reset-in SEC; a request before that
                        reset is answered 429 and counted as a violation
  --status503-for N     answer 503 with an HTML body
  --lose-create N       make the droplet, then close the connection without an answer
  --get404-for N        the first N GETs of each new droplet answer 404
  --never-active        droplets stay "new"
  --page-size N         at most N droplets per page, whatever per_page says

GET /_state: droplets, firewalls, counts of requests and violations, and for each droplet
the wall-clock time (active_at, seconds since the epoch) it turned or will turn active.
POST /_reset: forget every droplet, firewall and count; the body (a JSON object of fault
names, as for /_fault) replaces the faults, the others go back to their defaults.
"""

import argparse
import json
import re
import signal
import socket
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HTML = b"<html><head><title>503 Service Unavailable</title></head><body>\x01upstream down</body></html>\n"
FAULTS = ("status429_for", "retry_after", "ratelimit_zero", "reset_in", "status503_for",
          "lose_create", "get404_for", "never_active", "page_size", "active_after")


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        for name in FAULTS:
            setattr(self, name, getattr(args, name))
        self.token = args.token
        self.defaults = {name: getattr(args, name) for name in FAULTS}
        self.public_url = args.public_url
        self.clear()

    def clear(self):
        self.droplets = {}
        self.firewalls = {}
        self.next_id = 3164444
        self.requests = 0
        self.by_method = {}
        self.answers = {}
        self.violations = 0
        self.reset_at = 0.0

    def count(self, kind):
        self.answers[kind] = self.answers.get(kind, 0) + 1

    def refresh(self, d):
        if (d["status"] == "new" and not self.never_active
                and time.monotonic() - d["_created"] >= self.active_after):
            n = d["_n"]
            d["status"] = "active"
            d["networks"] = {
                "v4": [{"ip_address": "203.0.113.%d" % n, "netmask": "255.255.255.0",
                        "gateway": "203.0.113.254", "type": "public"},
                       {"ip_address": "10.10.0.%d" % n, "netmask": "255.255.0.0",
                        "gateway": "<nil>", "type": "private"}],
                "v6": [{"ip_address": "2001:db8::%x" % n, "netmask": 64,
                        "gateway": "2001:db8::1", "type": "public"}],
            }

    @staticmethod
    def public(d):
        return {k: v for k, v in d.items() if not k.startswith("_")}

    def dump(self):
        return {
            "droplets": [self.public(d) for d in self.droplets.values()],
            "active_at": {str(d["id"]): d["_active_wall"] for d in self.droplets.values()},
            "firewalls": list(self.firewalls.values()),
            "requests": self.requests,
            "methods": self.by_method,
            "answers": self.answers,
            "ratelimit_violations": self.violations,
            "faults": {name: getattr(self, name) for name in FAULTS},
        }


def error(ident, message):
    return {"id": ident, "message": message}


# The nested objects of a droplet, with every member the schema requires.
def region_object(slug, size):
    return {"name": slug.upper(), "slug": slug, "available": True, "sizes": [size],
            "features": ["backups", "ipv6", "metadata", "private_networking"]}


def size_object(slug, region):
    return {"slug": slug, "memory": 1024, "vcpus": 1, "disk": 25, "transfer": 1.0,
            "price_monthly": 6.0, "price_hourly": 0.00893, "regions": [region],
            "available": True, "description": "Basic"}


def image_object(image, region):
    ident = image if isinstance(image, int) else 181254000
    obj = {"id": ident, "name": "doagent-redis", "type": "snapshot", "distribution": "Ubuntu",
           "public": False, "regions": [region], "created_at": "2026-11-01T00:00:00Z",
           "min_disk_size": 25, "size_gigabytes": 2.4, "description": "", "tags": [],
           "status": "available", "error_message": ""}
    if isinstance(image, str):
        obj.update(slug=image, type="base", public=True)
    return obj


class Handler(BaseHTTPRequestHandler):
    server_version = "fake-doapi/1"
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        if not self.server.quiet:
            sys.stderr.write("fake-doapi: %s\n" % (fmt % args))

    def send(self, status, body=b"", content_type="application/json", extra=()):
        self.close_connection = True
        self.send_response(status)
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("X-Request-Id", "req-%d" % self.server.state.requests)
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status, obj, extra=()):
        self.send(status, (json.dumps(obj) + "\n").encode(), extra=extra)

    def read_json(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        return json.loads(raw) if raw.strip() else {}

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        st = self.server.state
        if url.path == "/_state" and self.command == "GET":
            with st.lock:
                self.send_json(200, st.dump())
            return
        if url.path in ("/_fault", "/_reset") and self.command == "POST":
            try:
                changes = self.read_json()
                with st.lock:
                    if url.path == "/_reset":
                        st.clear()
                        for k, v in st.defaults.items():
                            setattr(st, k, v)
                    for k, v in changes.items():
                        if k not in FAULTS:
                            raise ValueError("unknown fault " + k)
                        setattr(st, k, v)
            except ValueError as e:
                self.send_json(400, error("bad_request", str(e)))
                return
            with st.lock:
                self.send_json(200, st.dump()["faults"])
            return
        body = None
        if self.command == "POST":
            try:
                body = self.read_json()
            except ValueError:
                body = None
        with st.lock:
            st.requests += 1
            st.by_method[self.command] = st.by_method.get(self.command, 0) + 1
            extra = []
            now = time.time()
            if now < st.reset_at:
                st.violations += 1
                st.count("ratelimited")
                self.send_json(429, error("too_many_requests", "API Rate limit exceeded."),
                               extra=[("RateLimit-Remaining", "0"),
                                      ("RateLimit-Reset", str(int(st.reset_at + 0.999)))])
                return
            if st.ratelimit_zero > 0:
                st.ratelimit_zero -= 1
                reset = int(now) + int(st.reset_in) + 1
                st.reset_at = reset
                extra = [("RateLimit-Remaining", "0"), ("RateLimit-Reset", str(reset))]
            if self.headers.get("Authorization") != "Bearer " + st.token:
                st.count("401")
                self.send_json(401, error("unauthorized", "Unable to authenticate you"), extra)
                return
            if st.status429_for > 0:
                st.status429_for -= 1
                st.count("429")
                self.send_json(429, error("too_many_requests", "API Rate limit exceeded."),
                               extra + [("Retry-After", str(st.retry_after))])
                return
            if st.status503_for > 0:
                st.status503_for -= 1
                st.count("503")
                self.send(503, HTML, "text/html", extra)
                return
            self.route(st, url, body, extra)

    def route(self, st, url, body, extra):
        parts = url.path.strip("/").split("/")
        if parts[:2] == ["v2", "droplets"] and len(parts) == 2:
            if self.command == "POST":
                return self.create_droplet(st, body, extra)
            if self.command == "GET":
                return self.list_droplets(st, url, extra)
        if parts[:2] == ["v2", "droplets"] and len(parts) == 3:
            d = st.droplets.get(parts[2])
            if self.command == "GET":
                if d and d["_get404"] > 0:
                    d["_get404"] -= 1
                    d = None
                if not d:
                    st.count("404")
                    return self.send_json(404, error("not_found", "The resource you were accessing could not be found."), extra)
                st.refresh(d)
                st.count("droplet")
                return self.send_json(200, {"droplet": st.public(d)}, extra)
            if self.command == "DELETE":
                if not d:
                    st.count("404")
                    return self.send_json(404, error("not_found", "The resource you were accessing could not be found."), extra)
                del st.droplets[parts[2]]
                st.count("deleted")
                return self.send(204, b"", extra=extra)
        if parts[:2] == ["v2", "firewalls"] and len(parts) == 2 and self.command == "POST":
            return self.create_firewall(st, body, extra)
        if parts[:2] == ["v2", "firewalls"] and len(parts) == 2 and self.command == "GET":
            return self.list_firewalls(st, url, extra)
        if parts[:2] == ["v2", "firewalls"] and len(parts) == 3 and self.command == "DELETE":
            if st.firewalls.pop(parts[2], None) is None:
                st.count("404")
                return self.send_json(404, error("not_found", "The resource you were accessing could not be found."), extra)
            st.count("deleted")
            return self.send(204, b"", extra=extra)
        st.count("404")
        self.send_json(404, error("not_found", "no such endpoint"), extra)

    def unprocessable(self, st, message, extra):
        st.count("422")
        self.send_json(422, error("unprocessable_entity", message), extra)

    def create_droplet(self, st, body, extra):
        if not isinstance(body, dict):
            return self.unprocessable(st, "the body is not a JSON object", extra)
        for name in ("name", "size"):
            if not isinstance(body.get(name), str) or not body[name]:
                return self.unprocessable(st, "%s is required" % name, extra)
        image = body.get("image")
        if not (isinstance(image, str) and image) and not (isinstance(image, int) and image > 0):
            return self.unprocessable(st, "You specified an invalid image for Droplet creation.", extra)
        tags = body.get("tags") or []
        keys = body.get("ssh_keys") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            return self.unprocessable(st, "tags must be strings", extra)
        if not isinstance(keys, list) or not all(isinstance(k, (str, int)) for k in keys):
            return self.unprocessable(st, "ssh_keys must be ids or fingerprints", extra)
        for name in ("region", "user_data", "vpc_uuid"):
            if name in body and not isinstance(body[name], str):
                return self.unprocessable(st, "%s must be a string" % name, extra)
        if len(body.get("user_data", "").encode()) > 65536:
            return self.unprocessable(st, "user_data is longer than 64 KiB", extra)
        n = len(st.droplets) + 1 + (st.next_id - 3164444)
        ident = st.next_id
        st.next_id += 1
        region = body.get("region", "nyc3")
        d = {"id": ident, "name": body["name"], "memory": 1024, "vcpus": 1, "disk": 25,
             "disk_info": [{"type": "local", "size": {"amount": 25, "unit": "gib"}}],
             "locked": False, "status": "new", "kernel": None,
             "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
             "features": ["ipv6", "private_networking"], "backup_ids": [],
             "next_backup_window": None, "snapshot_ids": [], "volume_ids": [],
             "image": image_object(image, region), "size": size_object(body["size"], region),
             "size_slug": body["size"], "networks": {"v4": [], "v6": []},
             "region": region_object(region, body["size"]),
             "tags": tags, "vpc_uuid": body.get("vpc_uuid", "760e09ef-dc84-11e8-981e-3cfdfeaae000"),
             "_created": time.monotonic(), "_n": (n % 250) + 1, "_get404": st.get404_for,
             "_active_wall": None if st.never_active else time.time() + st.active_after,
             "_user_data": body.get("user_data"), "_ssh_keys": keys}
        st.droplets[str(ident)] = d
        if st.lose_create > 0:
            st.lose_create -= 1
            st.count("lost")
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        st.count("created")
        self.send_json(202, {"droplet": st.public(d),
                             "links": {"actions": [{"id": 7515, "rel": "create",
                                                    "href": "http://example.invalid/v2/actions/7515"}]}},
                       extra)

    def send_page(self, st, url, member, items, extra):
        """One page of items as {member: [...], links.pages, meta.total}."""
        q = dict(urllib.parse.parse_qsl(url.query))
        try:
            per_page = max(1, min(200, int(q.get("per_page", "20"))))
            page = max(1, int(q.get("page", "1")))
        except ValueError:
            return self.send_json(400, error("bad_request", "bad paging"), extra)
        if st.page_size:
            per_page = min(per_page, st.page_size)
        chunk = items[(page - 1) * per_page: page * per_page]
        base = (st.public_url or "http://%s" % self.headers.get("Host")) + url.path + "?"
        args = {k: v for k, v in q.items() if k not in ("page", "per_page")}
        args["per_page"] = per_page
        pages = {}
        last = max(1, (len(items) + per_page - 1) // per_page)
        if page < last:
            pages["next"] = base + urllib.parse.urlencode(dict(args, page=page + 1))
            pages["last"] = base + urllib.parse.urlencode(dict(args, page=last))
        st.count("list")
        self.send_json(200, {member: chunk, "links": {"pages": pages},
                             "meta": {"total": len(items)}}, extra)

    def list_droplets(self, st, url, extra):
        tag = dict(urllib.parse.parse_qsl(url.query)).get("tag_name")
        found = [d for d in st.droplets.values() if tag is None or tag in d["tags"]]
        for d in found:
            st.refresh(d)
        self.send_page(st, url, "droplets", [st.public(d) for d in found], extra)

    def list_firewalls(self, st, url, extra):
        self.send_page(st, url, "firewalls", list(st.firewalls.values()), extra)

    def create_firewall(self, st, body, extra):
        if (not isinstance(body, dict) or not isinstance(body.get("name"), str)
                or not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9.-]+", body["name"])):
            return self.unprocessable(st, "name is required: letters, digits, '.' and '-'", extra)
        for key, target in (("inbound_rules", "sources"), ("outbound_rules", "destinations")):
            rules = body.get(key) or []
            if not isinstance(rules, list):
                return self.unprocessable(st, "%s must be an array" % key, extra)
            for r in rules:
                if (not isinstance(r, dict) or r.get("protocol") not in ("tcp", "udp", "icmp")
                        or not isinstance(r.get("ports"), str)
                        or not isinstance(r.get(target), dict)):
                    return self.unprocessable(st, "a rule in %s is malformed" % key, extra)
        fw = dict({"droplet_ids": [], "tags": []}, **body)
        fw = dict(fw, id=str(uuid.uuid4()), status="waiting", pending_changes=[],
                  created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        st.firewalls[fw["id"]] = fw
        st.count("created")
        self.send_json(202, {"firewall": fw}, extra)

    do_GET = do_POST = do_DELETE = handle_any

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, state, quiet):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)
        self.state = state
        self.quiet = quiet

    def server_bind(self):
        # No getfqdn: no DNS lookups on a test network.
        import socketserver
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def main(argv):
    p = argparse.ArgumentParser(description="A fake DigitalOcean API.")
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--token", default="fake-token")
    p.add_argument("--public-url", default=None, metavar="URL",
                   help="base of links.pages URLs (default: http://<Host header>)")
    p.add_argument("--active-after", type=float, default=1.0, metavar="SEC")
    p.add_argument("--status429-for", type=int, default=0, metavar="N")
    p.add_argument("--retry-after", type=int, default=1, metavar="SEC")
    p.add_argument("--ratelimit-zero", type=int, default=0, metavar="N")
    p.add_argument("--reset-in", type=int, default=1, metavar="SEC")
    p.add_argument("--status503-for", type=int, default=0, metavar="N")
    p.add_argument("--lose-create", type=int, default=0, metavar="N")
    p.add_argument("--get404-for", type=int, default=0, metavar="N")
    p.add_argument("--never-active", action="store_true")
    p.add_argument("--page-size", type=int, default=0, metavar="N")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    state = State(args)
    server = Server((args.bind, args.port), state, args.quiet)

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("PORT %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.05)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
