#!/usr/bin/env python3
"""A fake of the DigitalOcean API endpoints doagent-launch uses (python3 stdlib only).

  droplets   POST /v2/droplets (one "name", or "names": up to 10 droplets alike, as
             DigitalOcean's multi-create), GET /v2/droplets?tag_name=T, GET and DELETE
             /v2/droplets/{id}, POST /v2/droplets/{id}/actions (shutdown, power_on),
             GET /v2/droplets/{id}/actions/{action_id}
  firewalls  POST and GET /v2/firewalls, PUT and DELETE /v2/firewalls/{id}
  tags       POST /v2/tags, GET /v2/tags/{name}
  volumes    POST and GET /v2/volumes (?name=N&region=R), GET and DELETE
             /v2/volumes/{id}, POST /v2/volumes/{id}/actions (attach, detach),
             GET /v2/volumes/{id}/actions/{action_id}
  alerts     POST and GET /v2/monitoring/alerts, GET, PUT and DELETE
             /v2/monitoring/alerts/{uuid}: monitoring alert policies

Answers carry every member DigitalOcean's schema requires, so the fake can stand behind
"prism proxy --errors"; --public-url is then Prism's address, used in links.pages.
Errors are DigitalOcean's {"id", "message", "request_id"}.

Bound to --bind ADDR --port PORT; prints "PORT n" once listening (--port 0: any free one).
Every /v2 request must carry "Authorization: Bearer <--token>" (else 401).
Droplets are "new", then "active" --active-after SEC after the create, and get their
addresses then (203.0.113.x public, or 127.0.0.x with public_loopback; 10.10.0.x
private, 2001:db8::x). Their vcpus are the N of an "Nvcpu" in the size's slug (else 1);
"monitoring": true in the request puts "monitoring" among their features.

Alert policies: a create or an update must carry every member of DigitalOcean's
alert_policy_request, of its types and enums, and nothing else (else 422); a policy is
the body and its uuid, and its entities are strings (the schema's; the spec's own list
example has a number there, which the schema refuses). POST answers 200 {policy}, PUT
200 {policy}, DELETE 204, an unknown uuid 404.

DigitalOcean's tag rules: a tag exists once POST /v2/tags made it or a droplet or a volume
was created carrying it (it outlives them: only deleting the tag, which the fake does not
serve, ends it). A firewall (POST /v2/firewalls, PUT /v2/firewalls/{id}) whose "tags" or
whose rules' sources.tags / destinations.tags name a tag that does not exist is refused
with 422 naming the tag, as DigitalOcean refuses it. POST /v2/tags {"name"} answers 201
{"tag"}, or 400 (the schema's error_with_root_causes) when the name is not 1 to 255
letters, digits, ':', '-' and '_'; a tag that exists already is answered 201 with that
tag, unchanged (the schema documents only 201 for this POST). GET /v2/tags/{name}: 200
{"tag"} or 404. A tag's resources count its droplets and volumes.

DigitalOcean's volume rules:
- a volume's name is unique in its region (409 "already exists"); names are lowercase
  letters, digits and '-', starting with a letter, at most 64;
- a volume is attached to at most one droplet, in its own region, at create ("volumes"
  in the droplet request) or with an attach action; attaching a volume that is attached
  already is 422 "This volume is already attached to a Droplet.", detaching one that is
  not attached to that droplet 422 "Attachment not found";
- an attached volume cannot be deleted (409); destroying a droplet detaches its volumes
  (--action-after SEC later);
- an action (attach, detach, shutdown, power_on) is "in-progress", then "completed"
  --action-after SEC later; a droplet with an action in progress is locked, and another
  action on it is 422. shutdown turns an active droplet off, power_on an off one on.

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
and only at run time:
  stuck_actions         a list of action types ("shutdown", "attach", ...) that stay
                        in progress and never take effect
  public_loopback       droplets get 127.0.0.x as their public address, x their number
  private_loopback      active droplets show 127.0.1.x as their private address while
                        it is on (10.10.0.x otherwise), so that a test can point
                        doagent-launch status at servers on loopback; on while a group
                        is made, the agent's parser refuses the standbys' primary
  serve_port            with public_loopback, a port P that an active droplet takes TCP
                        connections on, at its public address, as its doagent would:
                        when its user data names a [storage] volume, only once that
                        volume is attached (the fake listens there itself)
  rules                 a list of {"request": "METHOD /v2/path", "do": D, "skip": K,
                        "status": S, "message": M}: the (K+1)-th request that matches
                        (a path segment "*" matches any one) is, by D:
                          fail        answered S (default 500) with DigitalOcean's error
                                      body, M its message, and nothing done
                          lose        done, then the connection closed without an answer
                          hold        not done, held until POST /_release (or /_reset),
                                      then closed without an answer
                          hold_after  done, then held as hold
                        each rule is used once

GET /_state: droplets, volumes, firewalls, actions, the user data each droplet was made
with (user_data, by id), the requests so far ("log", "METHOD /path" each), the held ones,
counts of requests and violations, and for each droplet the wall-clock time (active_at,
seconds since the epoch) it turned or will turn active.
POST /_reset: forget everything; the body (a JSON object of fault names, as for /_fault)
replaces the faults, the others go back to their defaults.
POST /_release: let every held request go.
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
          "lose_create", "get404_for", "never_active", "page_size", "active_after",
          "action_after", "stuck_actions", "public_loopback", "private_loopback", "serve_port",
          "rules")
RUNTIME_DEFAULTS = {"stuck_actions": [], "public_loopback": False, "private_loopback": False,
                    "serve_port": 0, "rules": []}
NOT_FOUND = "The resource you were accessing could not be found."
ERROR_IDS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
             409: "conflict", 422: "unprocessable_entity", 429: "too_many_requests",
             500: "server_error", 502: "server_error", 503: "service_unavailable"}
VOLUME_NAME = re.compile(r"[a-z][a-z0-9-]{0,63}")
TAG_NAME = re.compile(r"[a-zA-Z0-9:\-_]{1,255}")
ALERT_TYPES = tuple("v1/insights/droplet/" + t for t in (
    "load_1", "load_5", "load_15", "memory_utilization_percent", "disk_utilization_percent",
    "cpu", "disk_read", "disk_write", "public_outbound_bandwidth", "public_inbound_bandwidth",
    "private_outbound_bandwidth", "private_inbound_bandwidth")) + tuple(
    "v1/insights/lbaas/" + t for t in (
        "avg_cpu_utilization_percent", "connection_utilization_percent", "droplet_health",
        "tls_connections_per_second_utilization_percent",
        "increase_in_http_error_rate_percentage_5xx", "increase_in_http_error_rate_percentage_4xx",
        "increase_in_http_error_rate_count_5xx", "increase_in_http_error_rate_count_4xx",
        "high_http_request_response_time", "high_http_request_response_time_50p",
        "high_http_request_response_time_95p", "high_http_request_response_time_99p")) + tuple(
    "v1/dbaas/alerts/" + t for t in (
        "load_15_alerts", "memory_utilization_alerts", "disk_utilization_alerts", "cpu_alerts")) + tuple(
    "v1/droplet/autoscale_alerts/" + t for t in (
        "current_instances", "target_instances", "current_cpu_utilization",
        "target_cpu_utilization", "current_memory_utilization", "target_memory_utilization",
        "scale_up", "scale_down"))
ALERT_MEMBERS = ("type", "description", "compare", "value", "window", "entities", "tags",
                 "alerts", "enabled")
LOST = object()      # a reply: close the connection without an answer


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def error(ident, message):
    return {"id": ident, "message": message}


def reply_error(status, message):
    return status, error(ERROR_IDS.get(status, "error"), message)


# The nested objects of a droplet, with every member the schema requires.
def region_object(slug, size="s-1vcpu-1gb"):
    return {"name": slug.upper(), "slug": slug, "available": True, "sizes": [size],
            "features": ["backups", "ipv6", "metadata", "private_networking"]}


def size_vcpus(slug):
    m = re.search(r"(?:^|-)([0-9]+)vcpu", slug)
    return int(m.group(1)) if m and 0 < int(m.group(1)) <= 512 else 1


def size_object(slug, region):
    return {"slug": slug, "memory": 1024, "vcpus": size_vcpus(slug), "disk": 25, "transfer": 1.0,
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


def path_matches(pattern, path):
    a, b = pattern.strip("/").split("/"), path.strip("/").split("/")
    return len(a) == len(b) and all(x == "*" or x == y for x, y in zip(a, b))


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.token = args.token
        self.defaults = {name: getattr(args, name, None) for name in FAULTS}
        self.defaults.update(RUNTIME_DEFAULTS)
        self.public_url = args.public_url
        self.held = []          # (description, threading.Event)
        self.listeners = {}     # droplet id: the socket its "doagent" listens on
        self.set_faults({})
        self.clear()

    def set_faults(self, changes):
        for name in FAULTS:
            value = changes.get(name, self.defaults[name])
            setattr(self, name, list(value) if isinstance(value, list) else value)

    def clear(self):
        self.droplets = {}
        self.firewalls = {}
        self.volumes = {}
        self.actions = {}
        self.policies = {}
        self.tags = {}          # name: the time it was made (its order)
        self.next_id = 3164444
        self.next_action = 7515000
        self.requests = 0
        self.by_method = {}
        self.answers = {}
        self.log = []
        self.violations = 0
        self.reset_at = 0.0
        self.release()
        self.serve()

    def release(self):
        for _, event in self.held:
            event.set()
        self.held = []

    def count(self, kind):
        self.answers[kind] = self.answers.get(kind, 0) + 1

    def take_rule(self, method, path):
        """The first rule matching this request, used up when its skip count is."""
        for rule in self.rules:
            req = rule.get("request", "").split(" ", 1)
            if len(req) != 2 or req[0] != method or not path_matches(req[1], path):
                continue
            if rule.get("skip", 0) > 0:
                rule["skip"] -= 1
                continue
            self.rules.remove(rule)
            return rule
        return None

    # Time passing: droplets turn active, actions complete, volumes of destroyed
    # droplets are let go.
    def tick(self):
        t = time.monotonic()
        for d in self.droplets.values():
            if (d["status"] == "new" and not self.never_active
                    and t - d["_created"] >= self.active_after):
                n = d["_n"]
                d["status"] = "active"
                public = ("127.0.0.%d" if self.public_loopback else "203.0.113.%d") % n
                d["networks"] = {
                    "v4": [{"ip_address": public, "netmask": "255.255.255.0",
                            "gateway": "203.0.113.254", "type": "public"},
                           {"ip_address": "10.10.0.%d" % n, "netmask": "255.255.0.0",
                            "gateway": "<nil>", "type": "private"}],
                    "v6": [{"ip_address": "2001:db8::%x" % n, "netmask": 64,
                            "gateway": "2001:db8::1", "type": "public"}],
                }
            for a in d["networks"]["v4"]:
                if a["type"] == "private":
                    a["ip_address"] = ("127.0.1.%d" if self.private_loopback else "10.10.0.%d") % d["_n"]
        for a in self.actions.values():
            if (a["status"] == "in-progress" and a["_stuck"] is False
                    and t >= a["_done_at"]):
                a["status"] = "completed"
                a["completed_at"] = now_iso()
                a["_apply"]()
        for d in self.droplets.values():
            d["locked"] = any(a["status"] == "in-progress" and a["_droplet"] == d["id"]
                              for a in self.actions.values())
        for v in self.volumes.values():
            gone = [i for i in v["droplet_ids"] if str(i) not in self.droplets]
            if gone and t >= v.get("_detach_at", 0):
                v["droplet_ids"] = [i for i in v["droplet_ids"] if i not in gone]
        self.serve()

    def serve(self):
        """Listen on serve_port for each droplet whose doagent would be up, and only
        for those."""
        want = {}
        droplets = getattr(self, "droplets", {})
        if self.public_loopback and self.serve_port:
            for key, d in droplets.items():
                if d["status"] != "active":
                    continue
                if "[storage]" in (d["_user_data"] or "") and not d["volume_ids"]:
                    continue
                want[key] = d["networks"]["v4"][0]["ip_address"]
        for key in list(self.listeners):
            if key not in want:
                self.listeners.pop(key).close()
        for key, ip in want.items():
            if key in self.listeners:
                continue
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setblocking(False)
            try:
                sock.bind((ip, int(self.serve_port)))
                sock.listen(64)
            except OSError as e:
                sys.stderr.write("fake-doapi: cannot listen on %s:%s: %s\n" % (ip, self.serve_port, e))
                sock.close()
                continue
            self.listeners[key] = sock
        for sock in self.listeners.values():
            # Take the connections the kernel accepted, and close them.
            while True:
                try:
                    conn, _ = sock.accept()
                except OSError:
                    break
                conn.close()

    def new_action(self, kind, type_, resource_id, region, droplet_id, owner, apply):
        self.next_action += 1
        a = {"id": self.next_action, "status": "in-progress", "type": type_,
             "started_at": now_iso(), "completed_at": None,
             "resource_id": resource_id, "resource_type": kind,
             "region": region_object(region), "region_slug": region,
             "_done_at": time.monotonic() + self.action_after, "_apply": apply,
             "_stuck": type_ in self.stuck_actions or type_.split("_")[0] in self.stuck_actions,
             "_droplet": droplet_id, "_owner": owner}
        self.actions[a["id"]] = a
        self.tick()
        return a

    def add_tags(self, names):
        for name in names:
            self.tags.setdefault(name, len(self.tags))

    def tag_object(self, name):
        droplets = [d for d in self.droplets.values() if name in d["tags"]]
        volumes = [v for v in self.volumes.values() if name in v["tags"]]
        res = {"count": len(droplets) + len(volumes),
               "droplets": {"count": len(droplets)}, "images": {"count": 0},
               "volumes": {"count": len(volumes)}, "volume_snapshots": {"count": 0},
               "databases": {"count": 0}}
        base = self.public_url or "https://api.digitalocean.com"
        if droplets:
            res["droplets"]["last_tagged_uri"] = "%s/v2/droplets/%d" % (base, droplets[-1]["id"])
        if volumes:
            res["volumes"]["last_tagged_uri"] = "%s/v2/volumes/%s" % (base, volumes[-1]["id"])
        last = res["volumes"].get("last_tagged_uri") or res["droplets"].get("last_tagged_uri")
        if last:
            res["last_tagged_uri"] = last
        return {"name": name, "resources": res}

    @staticmethod
    def public(d):
        return {k: v for k, v in d.items() if not k.startswith("_")}

    def dump(self):
        return {
            "droplets": [self.public(d) for d in self.droplets.values()],
            "active_at": {str(d["id"]): d["_active_wall"] for d in self.droplets.values()},
            "user_data": {str(d["id"]): d["_user_data"] for d in self.droplets.values()},
            "firewalls": list(self.firewalls.values()),
            "volumes": [self.public(v) for v in self.volumes.values()],
            "policies": list(self.policies.values()),
            "tags": sorted(self.tags, key=self.tags.get),
            "actions": [self.public(a) for a in self.actions.values()],
            "requests": self.requests,
            "methods": self.by_method,
            "answers": self.answers,
            "log": self.log,
            "held": [h for h, _ in self.held],
            "listening": sorted(self.listeners),
            "ratelimit_violations": self.violations,
            "faults": {name: getattr(self, name) for name in FAULTS},
        }


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

    def lose(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def read_json(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        return json.loads(raw) if raw.strip() else {}

    def control(self, st, url):
        if url.path == "/_state" and self.command == "GET":
            with st.lock:
                st.tick()
                self.send_json(200, st.dump())
            return True
        if url.path == "/_release" and self.command == "POST":
            with st.lock:
                st.release()
            self.send_json(200, {})
            return True
        if url.path in ("/_fault", "/_reset") and self.command == "POST":
            try:
                changes = self.read_json()
                with st.lock:
                    unknown = [k for k in changes if k not in FAULTS]
                    if unknown:
                        raise ValueError("unknown fault " + unknown[0])
                    if url.path == "/_reset":
                        st.clear()
                        st.set_faults(changes)
                    else:
                        for k, v in changes.items():
                            setattr(st, k, v)
            except ValueError as e:
                self.send_json(400, error("bad_request", str(e)))
                return True
            with st.lock:
                self.send_json(200, st.dump()["faults"])
            return True
        return False

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        st = self.server.state
        if self.control(st, url):
            return
        body = None
        if self.command in ("POST", "PUT"):
            try:
                body = self.read_json()
            except ValueError:
                body = None
        held = None
        with st.lock:
            st.requests += 1
            st.by_method[self.command] = st.by_method.get(self.command, 0) + 1
            st.log.append("%s %s" % (self.command, url.path))
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
            rule = st.take_rule(self.command, url.path)
            what = rule.get("do") if rule else None
            if what == "fail":
                st.count("failed")
                status = int(rule.get("status", 500))
                answer = reply_error(status, rule.get("message", "Injected failure."))
            elif what == "hold":
                answer = LOST
            else:
                st.tick()
                answer = self.route(st, url, body)
            if what in ("hold", "hold_after"):
                held = threading.Event()
                st.held.append(("%s %s" % (self.command, url.path), held))
                st.count("held")
            elif what == "lose" and answer is not LOST:
                st.count("lost")
                answer = LOST
            if held is None:
                self.answer(answer, extra)
                return
        held.wait()
        self.lose()

    def answer(self, answer, extra):
        if answer is LOST:
            return self.lose()
        status, payload = answer
        if payload is None:
            return self.send(status, b"", extra=extra)
        return self.send_json(status, payload, extra)

    def route(self, st, url, body):
        """The reply to a /v2 request: (status, JSON or None), or LOST."""
        parts = url.path.strip("/").split("/")
        m = self.command
        if parts[:2] == ["v2", "droplets"]:
            if len(parts) == 2 and m == "POST":
                return self.create_droplet(st, body)
            if len(parts) == 2 and m == "GET":
                return self.list_droplets(st, url)
            if len(parts) >= 3 and parts[2] not in st.droplets:
                st.count("404")
                return reply_error(404, NOT_FOUND)
            d = st.droplets.get(parts[2]) if len(parts) >= 3 else None
            if len(parts) == 3 and m == "GET":
                if d["_get404"] > 0:
                    d["_get404"] -= 1
                    st.count("404")
                    return reply_error(404, NOT_FOUND)
                st.count("droplet")
                return 200, {"droplet": st.public(d)}
            if len(parts) == 3 and m == "DELETE":
                return self.delete_droplet(st, d)
            if len(parts) == 4 and parts[3] == "actions" and m == "POST":
                return self.droplet_action(st, d, body)
            if len(parts) == 5 and parts[3] == "actions" and m == "GET":
                return self.get_action(st, "droplet:%d" % d["id"], parts[4])
        if parts[:2] == ["v2", "firewalls"]:
            if len(parts) == 2 and m == "POST":
                return self.create_firewall(st, body)
            if len(parts) == 2 and m == "GET":
                return self.send_page(st, url, "firewalls", list(st.firewalls.values()))
            if len(parts) == 3 and m == "PUT":
                if parts[2] not in st.firewalls:
                    st.count("404")
                    return reply_error(404, NOT_FOUND)
                return self.create_firewall(st, body, parts[2])
            if len(parts) == 3 and m == "DELETE":
                if st.firewalls.pop(parts[2], None) is None:
                    st.count("404")
                    return reply_error(404, NOT_FOUND)
                st.count("deleted")
                return 204, None
        if parts[:2] == ["v2", "tags"]:
            if len(parts) == 2 and m == "POST":
                return self.create_tag(st, body)
            if len(parts) == 3 and m == "GET":
                name = urllib.parse.unquote(parts[2])
                if name not in st.tags:
                    st.count("404")
                    return reply_error(404, NOT_FOUND)
                st.count("tag")
                return 200, {"tag": st.tag_object(name)}
        if parts[:2] == ["v2", "volumes"]:
            if len(parts) == 2 and m == "POST":
                return self.create_volume(st, body)
            if len(parts) == 2 and m == "GET":
                return self.list_volumes(st, url)
            if len(parts) >= 3 and parts[2] not in st.volumes:
                st.count("404")
                return reply_error(404, NOT_FOUND)
            v = st.volumes.get(parts[2]) if len(parts) >= 3 else None
            if len(parts) == 3 and m == "GET":
                st.count("volume")
                return 200, {"volume": st.public(v)}
            if len(parts) == 3 and m == "DELETE":
                if v["droplet_ids"]:
                    st.count("409")
                    return reply_error(409, "attached volume cannot be deleted")
                del st.volumes[v["id"]]
                st.count("deleted")
                return 204, None
            if len(parts) == 4 and parts[3] == "actions" and m == "POST":
                return self.volume_action(st, v, body)
            if len(parts) == 5 and parts[3] == "actions" and m == "GET":
                return self.get_action(st, "volume:" + v["id"], parts[4])
        if parts[:3] == ["v2", "monitoring", "alerts"]:
            if len(parts) == 3 and m == "POST":
                return self.put_policy(st, None, body)
            if len(parts) == 3 and m == "GET":
                return self.send_page(st, url, "policies", list(st.policies.values()))
            if len(parts) == 4 and parts[3] not in st.policies:
                st.count("404")
                return reply_error(404, NOT_FOUND)
            if len(parts) == 4 and m == "GET":
                st.count("policy")
                return 200, {"policy": st.policies[parts[3]]}
            if len(parts) == 4 and m == "PUT":
                return self.put_policy(st, parts[3], body)
            if len(parts) == 4 and m == "DELETE":
                del st.policies[parts[3]]
                st.count("deleted")
                return 204, None
        st.count("404")
        return reply_error(404, "no such endpoint")

    def unprocessable(self, st, message):
        st.count("422")
        return reply_error(422, message)

    # ---- droplets ----

    def create_droplet(self, st, body):
        if not isinstance(body, dict):
            return self.unprocessable(st, "the body is not a JSON object")
        names = body.get("names")
        if names is not None:
            if ("name" in body or not isinstance(names, list) or not 1 <= len(names) <= 10
                    or not all(isinstance(n, str) and n for n in names)):
                return self.unprocessable(st, "names must be 1 to 10 names, without name")
        elif not isinstance(body.get("name"), str) or not body["name"]:
            return self.unprocessable(st, "name is required")
        if not isinstance(body.get("size"), str) or not body["size"]:
            return self.unprocessable(st, "size is required")
        image = body.get("image")
        if not (isinstance(image, str) and image) and not (isinstance(image, int) and image > 0):
            return self.unprocessable(st, "You specified an invalid image for Droplet creation.")
        tags = body.get("tags") or []
        keys = body.get("ssh_keys") or []
        volumes = body.get("volumes") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            return self.unprocessable(st, "tags must be strings")
        if not isinstance(keys, list) or not all(isinstance(k, (str, int)) for k in keys):
            return self.unprocessable(st, "ssh_keys must be ids or fingerprints")
        if not isinstance(volumes, list) or not all(isinstance(v, str) for v in volumes):
            return self.unprocessable(st, "volumes must be volume ids")
        for name in ("region", "user_data", "vpc_uuid"):
            if name in body and not isinstance(body[name], str):
                return self.unprocessable(st, "%s must be a string" % name)
        if len(body.get("user_data", "").encode()) > 65536:
            return self.unprocessable(st, "user_data is longer than 64 KiB")
        region = body.get("region", "nyc3")
        for vid in volumes:
            v = st.volumes.get(vid)
            if v is None:
                return self.unprocessable(st, "Invalid volume allocations: no volume %s" % vid)
            if v["_region"] != region:
                return self.unprocessable(st, "Invalid volume allocations: volume %s is in %s, not %s"
                                          % (vid, v["_region"], region))
            if v["droplet_ids"]:
                return self.unprocessable(st, "This volume is already attached to a Droplet.")
        if len(volumes) > 15:
            return self.unprocessable(st, "At most 15 volumes may be attached to a Droplet.")
        if names is not None and volumes:
            return self.unprocessable(st, "A volume can be attached to one Droplet only.")
        if "monitoring" in body and not isinstance(body["monitoring"], bool):
            return self.unprocessable(st, "monitoring must be a boolean")
        made = [self.make_droplet(st, body, name, image, region, tags, keys, volumes)
                for name in (names or [body["name"]])]
        if st.lose_create > 0:
            st.lose_create -= 1
            st.count("lost")
            return LOST
        st.count("created")
        links = {"actions": [{"id": 7515 + i, "rel": "create",
                              "href": "http://example.invalid/v2/actions/%d" % (7515 + i)}
                             for i in range(len(made))]}
        if names is not None:
            return 202, {"droplets": [st.public(d) for d in made], "links": links}
        return 202, {"droplet": st.public(made[0]), "links": links}

    def make_droplet(self, st, body, name, image, region, tags, keys, volumes):
        n = len(st.droplets) + 1 + (st.next_id - 3164444)
        ident = st.next_id
        st.next_id += 1
        features = ["ipv6", "private_networking"] + (["monitoring"] if body.get("monitoring") else [])
        d = {"id": ident, "name": name, "memory": 1024, "vcpus": size_vcpus(body["size"]), "disk": 25,
             "disk_info": [{"type": "local", "size": {"amount": 25, "unit": "gib"}}],
             "locked": False, "status": "new", "kernel": None,
             "created_at": now_iso(),
             "features": features, "backup_ids": [],
             "next_backup_window": None, "snapshot_ids": [], "volume_ids": list(volumes),
             "image": image_object(image, region), "size": size_object(body["size"], region),
             "size_slug": body["size"], "networks": {"v4": [], "v6": []},
             "region": region_object(region, body["size"]),
             "tags": tags, "vpc_uuid": body.get("vpc_uuid", "760e09ef-dc84-11e8-981e-3cfdfeaae000"),
             "_created": time.monotonic(), "_n": (n % 250) + 1, "_get404": st.get404_for,
             "_active_wall": None if st.never_active else time.time() + st.active_after,
             "_user_data": body.get("user_data"), "_ssh_keys": keys}
        st.droplets[str(ident)] = d
        st.add_tags(tags)
        for vid in volumes:
            st.volumes[vid]["droplet_ids"] = [ident]
        return d

    def delete_droplet(self, st, d):
        del st.droplets[str(d["id"])]
        for v in st.volumes.values():
            if d["id"] in v["droplet_ids"]:
                v["_detach_at"] = time.monotonic() + st.action_after
        for fw in st.firewalls.values():
            if d["id"] in fw["droplet_ids"]:
                fw["droplet_ids"].remove(d["id"])
        st.count("deleted")
        return 204, None

    def droplet_action(self, st, d, body):
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            return self.unprocessable(st, "type is required")
        kind = body["type"]
        if d["locked"]:
            return self.unprocessable(st, "Droplet already has a pending event.")
        wants = {"shutdown": ("active", "off"), "power_on": ("off", "active")}
        if kind not in wants:
            return self.unprocessable(st, "This fake supports only the shutdown and power_on actions.")
        before, after = wants[kind]
        if d["status"] != before:
            return self.unprocessable(st, "Droplet is %s: it cannot be sent %s." % (d["status"], kind))

        def apply():
            d["status"] = after

        a = st.new_action("droplet", kind, d["id"], d["region"]["slug"], d["id"],
                          "droplet:%d" % d["id"], apply)
        st.count("action")
        return 201, {"action": st.public(a)}

    def get_action(self, st, owner, action_id):
        a = st.actions.get(int(action_id)) if action_id.isdigit() else None
        if a is None or a["_owner"] != owner:
            st.count("404")
            return reply_error(404, NOT_FOUND)
        return 200, {"action": st.public(a)}

    def send_page(self, st, url, member, items):
        """One page of items as {member: [...], links.pages, meta.total}."""
        q = dict(urllib.parse.parse_qsl(url.query))
        try:
            per_page = max(1, min(200, int(q.get("per_page", "20"))))
            page = max(1, int(q.get("page", "1")))
        except ValueError:
            return reply_error(400, "bad paging")
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
        return 200, {member: chunk, "links": {"pages": pages}, "meta": {"total": len(items)}}

    def list_droplets(self, st, url):
        tag = dict(urllib.parse.parse_qsl(url.query)).get("tag_name")
        found = [d for d in st.droplets.values() if tag is None or tag in d["tags"]]
        return self.send_page(st, url, "droplets", [st.public(d) for d in found])

    # ---- firewalls ----

    def create_firewall(self, st, body, ident=None):
        """Create a firewall, or with ident replace that one's (PUT)."""
        if (not isinstance(body, dict) or not isinstance(body.get("name"), str)
                or not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9.-]+", body["name"])):
            return self.unprocessable(st, "name is required: letters, digits, '.' and '-'")
        for key, target in (("inbound_rules", "sources"), ("outbound_rules", "destinations")):
            rules = body.get(key) or []
            if not isinstance(rules, list):
                return self.unprocessable(st, "%s must be an array" % key)
            for r in rules:
                if (not isinstance(r, dict) or r.get("protocol") not in ("tcp", "udp", "icmp")
                        or not isinstance(r.get("ports"), str)
                        or not isinstance(r.get(target), dict)):
                    return self.unprocessable(st, "a rule in %s is malformed" % key)
                named = r[target].get("tags") or []
                if not isinstance(named, list) or not all(isinstance(t, str) for t in named):
                    return self.unprocessable(st, "%s.tags in %s must be tag names" % (target, key))
                missing = [t for t in named if t not in st.tags]
                if missing:
                    return self.unprocessable(st, "a rule in %s names the tag %s, which does not exist"
                                              % (key, missing[0]))
        tags = body.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            return self.unprocessable(st, "tags must be tag names")
        missing = [t for t in tags if t not in st.tags]
        if missing:
            return self.unprocessable(st, "tags names the tag %s, which does not exist" % missing[0])
        fw = dict({"droplet_ids": [], "tags": []}, **body)
        if ident is None:
            fw = dict(fw, id=str(uuid.uuid4()), status="waiting", pending_changes=[],
                      created_at=now_iso())
        else:
            old = st.firewalls[ident]
            fw = dict(fw, id=ident, status="waiting", pending_changes=[],
                      created_at=old["created_at"])
        st.firewalls[fw["id"]] = fw
        st.count("created" if ident is None else "updated")
        return (202, {"firewall": fw}) if ident is None else (200, {"firewall": fw})

    # ---- tags ----

    def create_tag(self, st, body):
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not TAG_NAME.fullmatch(name):
            st.count("400")
            why = "tag-name %s contains invalid characters or is not 1 to 255 long" % json.dumps(name)
            return 400, {"error": "Error validating resource tag: " + why, "messages": None,
                         "root_causes": ["rpc error: code = InvalidArgument desc = " + why]}
        if name in st.tags:
            st.count("tag")
        else:
            st.add_tags([name])
            st.count("created")
        return 201, {"tag": st.tag_object(name)}

    # ---- volumes ----

    def create_volume(self, st, body):
        if not isinstance(body, dict):
            return self.unprocessable(st, "the body is not a JSON object")
        name, region, size = body.get("name"), body.get("region"), body.get("size_gigabytes")
        if not isinstance(name, str) or not VOLUME_NAME.fullmatch(name):
            return self.unprocessable(st, "name must be lowercase letters, numbers and '-', starting with a letter, at most 64")
        if not isinstance(region, str) or not region:
            return self.unprocessable(st, "region is required")
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 16384:
            return self.unprocessable(st, "size_gigabytes must be 1 to 16384")
        tags = body.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            return self.unprocessable(st, "tags must be strings")
        if any(v["name"] == name and v["_region"] == region for v in st.volumes.values()):
            st.count("409")
            return reply_error(409, "already exists")
        v = {"id": str(uuid.uuid4()), "name": name, "size_gigabytes": size,
             "description": body.get("description", "") if isinstance(body.get("description"), str) else "",
             "droplet_ids": [], "tags": tags, "created_at": now_iso(),
             "region": region_object(region), "filesystem_type": "", "filesystem_label": "",
             "_region": region, "_attaching": False}
        st.volumes[v["id"]] = v
        st.add_tags(tags)
        st.count("created")
        return 201, {"volume": st.public(v)}

    def list_volumes(self, st, url):
        q = dict(urllib.parse.parse_qsl(url.query))
        found = [st.public(v) for v in st.volumes.values()
                 if q.get("name") in (None, v["name"]) and q.get("region") in (None, v["_region"])]
        return self.send_page(st, url, "volumes", found)

    def volume_action(self, st, v, body):
        if not isinstance(body, dict) or body.get("type") not in ("attach", "detach"):
            return self.unprocessable(st, "This fake supports only the attach and detach actions.")
        kind, did = body["type"], body.get("droplet_id")
        if isinstance(did, str) and did.isdigit():
            did = int(did)
        if not isinstance(did, int) or isinstance(did, bool):
            return self.unprocessable(st, "droplet_id is required")
        d = st.droplets.get(str(did))
        if d is None:
            st.count("404")
            return reply_error(404, NOT_FOUND)
        if body.get("region") not in (None, v["_region"]):
            return self.unprocessable(st, "The volume is in %s, not %s." % (v["_region"], body["region"]))
        if d["locked"]:
            return self.unprocessable(st, "Droplet already has a pending event.")
        if kind == "attach":
            if v["droplet_ids"] or v["_attaching"]:
                return self.unprocessable(st, "This volume is already attached to a Droplet.")
            if d["region"]["slug"] != v["_region"]:
                return self.unprocessable(st, "Volume and Droplet must be in the same region.")
            if len(d["volume_ids"]) >= 15:
                return self.unprocessable(st, "At most 15 volumes may be attached to a Droplet.")
            v["_attaching"] = True
        elif did not in v["droplet_ids"]:
            return self.unprocessable(st, "Attachment not found")

        def apply():
            if kind == "attach":
                v["_attaching"] = False
                v["droplet_ids"] = [did]
                if v["id"] not in d["volume_ids"]:
                    d["volume_ids"].append(v["id"])
            else:
                v["droplet_ids"] = [i for i in v["droplet_ids"] if i != did]
                if v["id"] in d["volume_ids"]:
                    d["volume_ids"].remove(v["id"])

        a = st.new_action("volume", kind + "_volume", None, v["_region"], did, "volume:" + v["id"], apply)
        st.count("action")
        return 202, {"action": st.public(a)}

    # ---- monitoring alert policies ----

    @staticmethod
    def policy_error(body):
        """What is wrong with an alert_policy_request, or None."""
        if not isinstance(body, dict):
            return "the body is not a JSON object"
        for name in ALERT_MEMBERS:
            if name not in body:
                return "%s is required" % name
        extra = sorted(set(body) - set(ALERT_MEMBERS))
        if extra:
            return "unknown member %s" % extra[0]
        if body["type"] not in ALERT_TYPES:
            return "type is not an alert policy type"
        if not isinstance(body["description"], str):
            return "description must be a string"
        if body["compare"] not in ("GreaterThan", "LessThan"):
            return "compare must be GreaterThan or LessThan"
        if not isinstance(body["value"], (int, float)) or isinstance(body["value"], bool):
            return "value must be a number"
        if body["window"] not in ("5m", "10m", "30m", "1h"):
            return "window must be 5m, 10m, 30m or 1h"
        for name in ("entities", "tags"):
            if not isinstance(body[name], list) or not all(isinstance(x, str) for x in body[name]):
                return "%s must be an array of strings" % name
        if not all(TAG_NAME.fullmatch(t) for t in body["tags"]):
            return "tags must be tag names"
        alerts = body["alerts"]
        if (not isinstance(alerts, dict) or not isinstance(alerts.get("email"), list)
                or not isinstance(alerts.get("slack"), list)):
            return "alerts must have email and slack arrays"
        if not all(isinstance(e, str) for e in alerts["email"]):
            return "alerts.email must be strings"
        if not all(isinstance(x, dict) and isinstance(x.get("channel"), str) and isinstance(x.get("url"), str)
                   for x in alerts["slack"]):
            return "alerts.slack must be {channel, url} objects"
        if not isinstance(body["enabled"], bool):
            return "enabled must be a boolean"
        return None

    def put_policy(self, st, uuid_, body):
        """Create (uuid_ None) or update a policy."""
        problem = self.policy_error(body)
        if problem:
            return self.unprocessable(st, problem)
        p = dict(body, uuid=uuid_ or str(uuid.uuid4()))
        st.policies[p["uuid"]] = p
        st.count("created" if uuid_ is None else "updated")
        return 200, {"policy": p}

    do_GET = do_POST = do_PUT = do_DELETE = handle_any

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
    p.add_argument("--action-after", type=float, default=0.5, metavar="SEC")
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
        with state.lock:
            state.release()
            state.public_loopback = False
            state.serve()
        threading.Thread(target=server.shutdown, daemon=True).start()

    def ticker():
        # Time passes between requests too: droplets come up and start listening.
        while True:
            time.sleep(0.1)
            with state.lock:
                state.tick()

    threading.Thread(target=ticker, daemon=True).start()

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
