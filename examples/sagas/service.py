#!/usr/bin/env python3
"""A small HTTP service for Ringfence sagas: the demo's backend and the tests' fake.

Every POST is a saga step (SPEC §10.2). The path says how to answer, so a saga file scripts
its own failures:

  /ok/...                       200 with a JSON receipt
  /fail/STATUS/...              always STATUS (e.g. 500 retryable, 422 not)
  /flaky/N/STATUS/...           STATUS for the first N requests of an idempotency key, then 200
  /slow/MS/...                  200 after MS milliseconds
  /hang/...                     never answers (until the client gives up)
  /garbage/...                  bytes that are not HTTP, then closes
  /redirect/...                 302 to itself, forever
  /huge/...                     200 with an endless chunked body (stops when the client leaves)
  /rendezvous/GROUP/N/MS/...    200 once N requests of GROUP are waiting together; 503 for one
                                that waited MS milliseconds (it then no longer counts)

The service is idempotent as a real one must be: the first 2xx for an idempotency key is the
step's effect, and later requests with that key get the same answer without a second effect.
It checks every request (the body's fields, the key = saga/step/phase) and records what it saw:

  GET  /_stats    {"keys": {KEY: {"requests", "effects"}}, "effects": [KEY in order], "violations": [...]}
  GET  /_wait/P   {"seen": true} once a request whose key starts with P has arrived ({"seen": false} after 20 s)
  POST /_reset    forgets everything

Run: service.py [--port N] [--stop-on-eof] (port 0 picks a free port); the first line printed is
`listening on URL`. With --stop-on-eof it exits when its standard input ends.
"""
import argparse
import json
import os
import select
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Condition()
STATE = {"keys": {}, "effects": [], "violations": [], "answers": {}, "groups": {}, "met": set()}
FIELDS = {"saga", "step", "action", "agent", "attempt", "phase", "input"}


def reset():
    with LOCK:
        STATE.update({"keys": {}, "effects": [], "violations": [], "answers": {}, "groups": {}, "met": set()})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=()):
        data = json.dumps(body, sort_keys=True).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.startswith("/_wait/"):
            prefix = self.path[len("/_wait/"):]
            with LOCK:
                seen = LOCK.wait_for(lambda: any(key.startswith(prefix) for key in STATE["keys"]), timeout=20)
            self.reply(200, {"seen": seen})
        elif self.path == "/_stats":
            with LOCK:
                snapshot = {"keys": STATE["keys"], "effects": STATE["effects"], "violations": STATE["violations"]}
                self.reply(200, snapshot)
        else:
            self.reply(404, {"error": "not found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if len(raw) < length:
            # The client went away mid-body (a killed `saga run`): the request never arrived
            # whole, so, as any HTTP server does, nothing is done and nothing is counted.
            self.close_connection = True
            return
        if self.path == "/_reset":
            reset()
            return self.reply(200, {})
        key = self.headers.get("Idempotency-Key") or ""
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with LOCK:
            problem = None
            if not isinstance(body, dict) or set(body) != FIELDS:
                problem = "the body is not {saga, step, action, agent, attempt, phase, input}"
            elif key != "%s/%s/%s" % (body["saga"], body["step"], body["phase"]):
                problem = "the idempotency key %r is not saga/step/phase" % key
            if problem:
                STATE["violations"].append({"path": self.path, "key": key, "problem": problem})
            entry = STATE["keys"].setdefault(key, {"requests": 0, "effects": 0})
            entry["requests"] += 1
            count = entry["requests"]
            LOCK.notify_all()
            answered = STATE["answers"].get(key)
        if problem:
            return self.reply(400, {"error": problem})
        if answered is not None:
            return self.reply(200, answered)
        parts = [p for p in self.path.split("/") if p]
        verb = parts[0] if parts else "ok"
        if verb == "fail":
            return self.reply(int(parts[1]), {"error": "failing on command"})
        if verb == "flaky" and count <= int(parts[1]):
            return self.reply(int(parts[2]), {"error": "failing %d of %s" % (count, parts[1])})
        if verb == "slow":
            time.sleep(int(parts[1]) / 1000)
        if verb == "hang":
            return self.hang()
        if verb == "garbage":
            self.wfile.write(b"THIS IS NOT HTTP\r\n\r\n\x00\xff")
            self.close_connection = True
            return
        if verb == "redirect":
            self.send_response(302)
            self.send_header("Location", self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if verb == "huge":
            return self.huge()
        if verb == "rendezvous":
            if not self.rendezvous(parts[1], int(parts[2]), int(parts[3])):
                return self.reply(503, {"error": "nobody came to the rendezvous"})
        answer = {"ok": True, "key": key, "step": body["step"], "phase": body["phase"], "attempt": body["attempt"]}
        with LOCK:
            if key not in STATE["answers"]:
                STATE["answers"][key] = answer
                STATE["keys"][key]["effects"] += 1
                STATE["effects"].append(key)
            answer = STATE["answers"][key]
        self.reply(200, answer)

    def hang(self):
        deadline = time.time() + 120
        while time.time() < deadline:
            readable, _, _ = select.select([self.connection], [], [], 0.05)
            if readable and not self.connection.recv(1, 2):  # MSG_PEEK: b"" once the client left
                break
        self.close_connection = True

    def huge(self):
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"x" * 65536
        framed = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
        try:
            for _ in range(16384):  # 1 GiB
                self.wfile.write(framed)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def rendezvous(self, group, n, wait_ms):
        """True once N requests of GROUP are waiting at the same time; a request that has waited
        WAIT_MS gives up and no longer counts for later arrivals."""
        with LOCK:
            STATE["groups"][group] = STATE["groups"].get(group, 0) + 1
            LOCK.notify_all()
            if LOCK.wait_for(lambda: group in STATE["met"] or STATE["groups"][group] >= n, timeout=wait_ms / 1000):
                STATE["met"].add(group)
                return True
            STATE["groups"][group] -= 1
            return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--stop-on-eof", action="store_true", help="exit when standard input ends (its parent has gone)")
    args = parser.parse_args()
    # A parent may have blocked or ignored signals (test runners do); the service must stop when told.
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if args.stop_on_eof:
        threading.Thread(target=lambda: (sys.stdin.buffer.read(), os._exit(0)), daemon=True).start()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print("listening on http://127.0.0.1:%d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
