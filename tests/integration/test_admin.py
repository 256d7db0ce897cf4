#!/usr/bin/python3
"""kafkagate's admin endpoint (--admin-listen): the real daemon, a real Kafka.

tests/integration/admin.sh runs this file.  It starts a broker and two
gateways: one whose only route reaches the broker (its admin address in
KAFKAGATE_ADMIN, its WebSocket URL in KAFKAGATE_URL), and one with a
second route /dead whose broker (KAFKAGATE_DEAD_BROKER) refuses
connections (admin address in KAFKAGATE_ADMIN_DEAD).

Checked: /metrics in the Prometheus text format (parsed here, and by
`promtool check metrics' when it is installed: Debian package prometheus;
without it that test is skipped, or fails when CI is set), counters that
move with fetches, list_offsets and pings made through the gateway,
/healthz, /readyz (200 with the broker up, 503 naming the dead route and
why), 404, 405, HEAD, a malformed and an oversized request head, the
read deadline and the connection cap, and that admin clients that stall
do not slow WebSocket clients down.

Environment: KAFKAGATE_URL, KAFKAGATE_ADMIN, KAFKAGATE_ADMIN_DEAD,
KAFKAGATE_DEAD_BROKER, KAFKAGATE_BOOTSTRAP, KAFKAGATE_TIMEOUT_SCALE,
KAFKAGATE_PROTO, CI.
"""

import asyncio
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import RespAsserts, main  # noqa: E402
from pubsub_client import PubSubClient, describe, timeout_scale  # noqa: E402

SCALE = timeout_scale()
PB = None
URL = os.environ.get("KAFKAGATE_URL", "")
ADMIN = os.environ.get("KAFKAGATE_ADMIN", "")
ADMIN_DEAD = os.environ.get("KAFKAGATE_ADMIN_DEAD", "")
DEAD_BROKER = os.environ.get("KAFKAGATE_DEAD_BROKER", "")
DEAD_PID = int(os.environ.get("KAFKAGATE_DEAD_PID", "0"))
DEAD_CONFIG = os.environ.get("KAFKAGATE_DEAD_CONFIG", "")
BOOTSTRAP = os.environ.get("KAFKAGATE_BOOTSTRAP", "")
IN_CI = os.environ.get("CI", "") not in ("", "0", "false")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
HEAD_MAX = 4096          # ADMIN_HEAD_MAX
READ_TIMEOUT = 5.0       # ADMIN_READ_TIMEOUT
MAX_CONNS = 64           # ADMIN_MAX_CONNS


def hostport(addr):
    host, port = addr.rsplit(":", 1)
    return host, int(port)


def get(addr, path, method="GET", headers=None):
    """(status, headers, body) of one request."""
    c = http.client.HTTPConnection(*hostport(addr), timeout=10 * SCALE)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def raw(addr, data, timeout=10.0):
    """Send raw bytes, read until the server closes; the bytes read."""
    with socket.create_connection(hostport(addr), timeout * SCALE) as s:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
        return out


SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def parse(text):
    """{(name, ((label, value), ...)): float}, and the TYPE of each family."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if line.startswith("#") or not line:
            continue
        m = SAMPLE_RE.match(line)
        if m is None:
            raise AssertionError("not a sample line: %r" % line)
        labels = tuple(sorted(LABEL_RE.findall(m.group(3) or "")))
        samples[(m.group(1), labels)] = float(m.group(4))
    return samples, types


def scrape(addr=None):
    status, headers, body = get(addr or ADMIN, "/metrics")
    if status != 200:
        raise AssertionError("/metrics: %d %r" % (status, body[:300]))
    return parse(body.decode())[0]


def total(samples, name, **labels):
    """The sum of the series of name whose labels include these."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items()
               if n == name and want <= set(ls))


def delta(before, after, name, **labels):
    return total(after, name, **labels) - total(before, name, **labels)


def wait_for(what, fn, seconds=15.0):
    """Poll fn until it returns something true; that value, or fail."""
    deadline = time.monotonic() + seconds * SCALE
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last and last[0]:
            return last
        time.sleep(0.2)
    raise AssertionError("%s: still %r after %.0f s" % (what, last, seconds * SCALE))


class AdminT(RespAsserts, unittest.IsolatedAsyncioTestCase):

    def test_healthz(self):
        status, headers, body = get(ADMIN, "/healthz")
        self.assertEqual((status, body), (200, b"ok\n"))
        self.assertEqual(headers.get("connection"), "close")

    def test_readyz_ready(self):
        def ready():
            status, _, body = get(ADMIN, "/readyz")
            return status == 200, status, body
        _, _, body = wait_for("/readyz of the gateway whose broker is up", ready)
        self.assertEqual(body, b"ready\n")

    def test_readyz_names_dead_route(self):
        def named():
            status, _, body = get(ADMIN_DEAD, "/readyz")
            text = body.decode()
            return (status == 503 and "route /dead" in text and
                    "Connection refused" in text and "route /kafka" not in text,
                    status, text)
        _, _, text = wait_for("/readyz naming /dead (refused) and not /kafka", named)
        self.assertTrue(text.startswith("not ready\n"), text)
        self.assertIn(DEAD_BROKER, text)
        # The route whose broker is up is reachable on that gateway too.
        samples = scrape(ADMIN_DEAD)
        self.assertEqual(total(samples, "kafkagate_kafka_broker_up", broker=BOOTSTRAP), 1)
        self.assertGreaterEqual(total(samples, "kafkagate_kafka_connection_failures_total",
                                      broker=DEAD_BROKER), 1)

    def test_metrics_format(self):
        status, headers, body = get(ADMIN, "/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("content-type"), CONTENT_TYPE)
        self.assertEqual(int(headers.get("content-length")), len(body))
        samples, types = parse(body.decode())
        for family in ("kafkagate_build_info", "process_start_time_seconds",
                       "kafkagate_sessions_open", "kafkagate_sessions_accepted_total",
                       "kafkagate_commands_total", "kafkagate_records_delivered_total",
                       "kafkagate_websocket_received_bytes_total",
                       "kafkagate_websocket_sent_bytes_total",
                       "kafkagate_websocket_queued_bytes", "kafkagate_cache_bytes",
                       "kafkagate_cache_budget_bytes", "kafkagate_kafka_requests_total",
                       "kafkagate_kafka_request_duration_seconds",
                       "kafkagate_kafka_broker_up", "kafkagate_reloads_total",
                       "kafkagate_config_last_reload_success_timestamp_seconds"):
            self.assertIn(family, types, "no TYPE line for " + family)
        start = total(samples, "process_start_time_seconds")
        self.assertTrue(time.time() - 3600 < start <= time.time() + 1, start)
        self.assertEqual(len([k for k in samples if k[0] == "kafkagate_build_info"]), 1)
        self.assertEqual(total(samples, "kafkagate_cache_budget_bytes"), 268435456)

    def test_promtool(self):
        promtool = shutil.which("promtool")
        if promtool is None:
            if IN_CI:
                self.fail("promtool not found (Debian: prometheus), and CI is set")
            self.skipTest("promtool not found (Debian: prometheus)")
        for addr in (ADMIN, ADMIN_DEAD):
            _, _, body = get(addr, "/metrics")
            p = subprocess.run([promtool, "check", "metrics"], input=body,
                               capture_output=True, timeout=30 * SCALE)
            self.assertEqual(p.returncode, 0, "promtool: %s%s" % (
                p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")))

    async def test_counters_move(self):
        before = scrape()
        async with await PubSubClient.connect(URL, PB) as c:
            r = await c.fetch("test-consumer", 0, 0)
            self.assertKind(r, "kafka_fetch_resp")
            records = r.kafka_fetch_resp.messages
            self.assertGreater(len(records), 0)
            nbytes = sum(len(m.key) + len(m.value) for m in records)
            for _ in range(3):
                self.assertKind(await c.list_offset("test-consumer", 0, -1),
                                "kafka_list_offset_resp")
            for _ in range(2):
                self.assertKind(await c.ping(b"p"), "pong_resp")
            r = await c.fetch("no-such-topic", 0, 0)
            self.assertKind(r, "error_resp")
            self.assertEqual(r.error_resp.code, 3, describe(r))
            during = scrape()
            self.assertGreaterEqual(total(during, "kafkagate_sessions_open"), 1)
        after = scrape()
        d = lambda name, **kw: delta(before, after, name, **kw)  # noqa: E731
        self.assertEqual(d("kafkagate_commands_total", command="fetch", outcome="ok"), 1)
        self.assertEqual(d("kafkagate_commands_total", command="fetch", outcome="error"), 1)
        self.assertEqual(d("kafkagate_commands_total", command="list_offset", outcome="ok"), 3)
        self.assertEqual(d("kafkagate_commands_total", command="ping", outcome="ok"), 2)
        self.assertEqual(d("kafkagate_command_errors_total", code="3"), 1)
        self.assertEqual(d("kafkagate_records_delivered_total"), len(records))
        self.assertEqual(d("kafkagate_record_bytes_delivered_total"), nbytes)
        self.assertEqual(d("kafkagate_sessions_accepted_total"), 1)
        self.assertEqual(d("kafkagate_websocket_connections_accepted_total"), 1)
        self.assertGreater(d("kafkagate_websocket_received_bytes_total"), 0)
        self.assertGreater(d("kafkagate_websocket_sent_bytes_total"), nbytes)
        self.assertGreaterEqual(d("kafkagate_kafka_requests_total", api="ListOffsets"), 3)
        self.assertGreaterEqual(d("kafkagate_kafka_request_duration_seconds_count",
                                  api="ListOffsets", connection="main"), 3)
        self.assertGreaterEqual(total(after, "kafkagate_kafka_requests_total", api="Fetch"), 1)
        self.assertGreaterEqual(total(after, "kafkagate_kafka_request_duration_seconds_bucket",
                                      api="Fetch", le="+Inf"), 1)
        self.assertEqual(total(after, "kafkagate_kafka_broker_up", broker=BOOTSTRAP), 1)
        self.assertGreaterEqual(total(after, "kafkagate_kafka_connections", broker=BOOTSTRAP), 1)
        self.assertEqual(total(after, "kafkagate_kafka_request_errors_total"), 0)
        self.assertGreater(total(after, "kafkagate_cache_bytes"), 0)
        self.assertGreaterEqual(d("kafkagate_cache_misses_total"), 1)

    def test_http_errors(self):
        status, _, body = get(ADMIN, "/nope")
        self.assertEqual((status, body), (404, b"not found\n"))
        status, headers, _ = get(ADMIN, "/metrics", method="POST")
        self.assertEqual(status, 405)
        self.assertEqual(headers.get("allow"), "GET, HEAD")
        status, headers, body = get(ADMIN, "/metrics", method="HEAD")
        self.assertEqual((status, body), (200, b""))
        self.assertEqual(headers.get("content-type"), CONTENT_TYPE)
        self.assertGreater(int(headers.get("content-length")), 1000)
        # HTTP/1.1 without Host: the parser's 400, and its reason.
        out = raw(ADMIN, b"GET /healthz HTTP/1.1\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 400 "), out[:200])
        self.assertTrue(out.endswith(b"\r\n\r\nno Host header\n"), out[-200:])
        # A head over 4 KiB: 431, whatever follows.
        out = raw(ADMIN, b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " +
                  b"a" * (HEAD_MAX + 100) + b"\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 431 "), out[:200])

    def test_reloads_counted(self):
        """SIGHUP: a reload that works and one that is refused, counted
        by result, with the time of the last good one."""
        def reloaded(result, n):
            def check():
                s = scrape(ADMIN_DEAD)
                return (total(s, "kafkagate_reloads_total", result=result) >= n, s)
            return wait_for("kafkagate_reloads_total{result=%s} %d" % (result, n), check, 10)[1]

        with open(DEAD_CONFIG) as f:
            good = f.read()
        before = scrape(ADMIN_DEAD)
        ok0 = total(before, "kafkagate_reloads_total", result="ok")
        failed0 = total(before, "kafkagate_reloads_total", result="failed")
        t0 = total(before, "kafkagate_config_last_reload_success_timestamp_seconds")
        self.assertEqual(total(before, "kafkagate_config_last_reload_successful"), 1)
        time.sleep(0.1)
        os.kill(DEAD_PID, signal.SIGHUP)
        s = reloaded("ok", ok0 + 1)
        self.assertEqual(total(s, "kafkagate_config_last_reload_successful"), 1)
        t1 = total(s, "kafkagate_config_last_reload_success_timestamp_seconds")
        self.assertGreater(t1, t0)
        try:
            with open(DEAD_CONFIG, "w") as f:
                f.write(good + "max_frame: nonsense\n")
            os.kill(DEAD_PID, signal.SIGHUP)
            s = reloaded("failed", failed0 + 1)
            self.assertEqual(total(s, "kafkagate_config_last_reload_successful"), 0)
            self.assertEqual(total(s, "kafkagate_config_last_reload_success_timestamp_seconds"),
                             t1)
        finally:
            with open(DEAD_CONFIG, "w") as f:
                f.write(good)
        os.kill(DEAD_PID, signal.SIGHUP)
        s = reloaded("ok", ok0 + 2)
        self.assertEqual(total(s, "kafkagate_config_last_reload_successful"), 1)
        self.assertEqual(total(s, "kafkagate_reloads_total", result="failed"), failed0 + 1)

    async def test_stalled_admin_clients(self):
        """Admin connections that send half a request, or take no
        response, hold nothing of the loop: WebSocket clients are
        answered at once, the stalled ones are closed at the read
        deadline, and connections over the cap are closed at accept."""
        host, port = hostport(ADMIN)
        stalled = []
        try:
            for _ in range(MAX_CONNS):
                s = socket.create_connection((host, port), 5 * SCALE)
                s.sendall(b"GET /metr")
                stalled.append(s)
            t0 = time.monotonic()
            async with await PubSubClient.connect(URL, PB) as c:
                for i in range(20):
                    self.assertKind(await c.ping(b"%d" % i), "pong_resp")
                self.assertKind(await c.list_offset("test-consumer", 0, -2),
                                "kafka_list_offset_resp")
            elapsed = time.monotonic() - t0
            self.assertLess(elapsed, 2 * SCALE, "20 pings took %.2f s" % elapsed)
            # Over the cap: closed at once, without an answer.
            with socket.create_connection((host, port), 5 * SCALE) as s:
                s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                s.settimeout(2 * SCALE)
                try:
                    self.assertEqual(s.recv(100), b"")
                except ConnectionResetError:
                    pass
            # The stalled ones are dropped at the read deadline (waited
            # for off the event loop: the sockets block).
            deadline = t0 + (READ_TIMEOUT + 3) * SCALE

            def closed(s):
                s.settimeout(max(0.1, deadline - time.monotonic()))
                try:
                    return s.recv(100)
                except ConnectionResetError:
                    return b""
            for s in stalled:
                self.assertEqual(await asyncio.to_thread(closed, s), b"")
            self.assertGreaterEqual(time.monotonic() - t0, READ_TIMEOUT - 0.5)
        finally:
            for s in stalled:
                s.close()
        # And the endpoint serves again.
        status, _, body = get(ADMIN, "/healthz")
        self.assertEqual((status, body), (200, b"ok\n"))

    async def test_unread_response(self):
        """A client that asks for /metrics and never reads: the response
        is written without blocking, and the gateway goes on."""
        host, port = hostport(ADMIN)
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((host, port))
        try:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            async with await PubSubClient.connect(URL, PB) as c:
                t0 = time.monotonic()
                self.assertKind(await c.ping(b"x"), "pong_resp")
                self.assertLess(time.monotonic() - t0, 1 * SCALE)
            status, _, _ = get(ADMIN, "/healthz")
            self.assertEqual(status, 200)
        finally:
            s.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], sys.modules[__name__], "kafkagate admin endpoint tests",
                  lambda: "# admin %s (ws %s), admin %s with a dead route to %s" % (
                      ADMIN, URL, ADMIN_DEAD, DEAD_BROKER)))
