#!/usr/bin/python3
"""kafkagate fault-injection tests: the daemon against a scripted fake broker.

tests/integration/faults.sh starts tests/integration/fault_broker.py (one
port per fault mode) and one kafkagate per mode, then runs this file.  A
mock broker is used only for faults a real broker cannot produce on demand
(docs/STYLE.md, section 6): hangs, malformed or oversized frames, wrong
correlation ids, closed connections, NOT_LEADER/FENCED answers on cue,
corrupt record batches, old API version ranges.

Environment:
  KAFKAGATE_FAULT_GATEWAYS  a file of lines "MODE PORT PID LOGFILE", one per
                            gateway (ws://127.0.0.1:PORT/kafka)
  KAFKAGATE_FAULT_CONTROL   host:port of the fake broker's control socket
  KAFKAGATE_REQUEST_TIMEOUT the gateways' --request-timeout (default 3)
  KAFKAGATE_PROTO           the schema (default $srcdir/proto/pubsub.proto)
  KAFKAGATE_TIMEOUT_SCALE   multiplies every timeout and slack (default 1)

Usage: test_faults.py [-v] [-k SUBSTRING]... [TestClass[.test_name]]...
Prints one line per test (and "#" notes with measured codes, timings,
counts) and a last line exactly "N passed, M failed" (skips are counted on a
"#" line before it); exits 1 if any test failed or none ran.
"""

import asyncio
import json
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import RespAsserts, main  # noqa: E402
from pubsub_client import PubSubClient, describe, timeout_scale  # noqa: E402

SCALE = timeout_scale()
PB = None  # the generated module, loaded in main()
RT = float(os.environ.get("KAFKAGATE_REQUEST_TIMEOUT", "3"))
SLACK = 2.0 * SCALE          # a deadline may be late by this much
CPU_BUDGET = 0.5 * SCALE     # CPU seconds a gateway may burn while waiting
RSS_GROWTH_KB = 32 * 1024    # RSS a gateway may gain during one scenario
MAX_METADATA = 20            # Metadata requests allowed in the badmd test

API_FETCH, API_LIST_OFFSETS, API_METADATA, API_VERSIONS = 1, 2, 3, 18
NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH = 6, 74
CODE_TIMEOUT, CODE_PROTOCOL, CODE_CORRUPT = 1002, 1003, 1004
LATEST = 42  # the fake broker's answer to ListOffsets -1


def read_gateways():
    gws = {}
    path = os.environ.get("KAFKAGATE_FAULT_GATEWAYS")
    if path and os.path.isfile(path):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3:
                    gws[parts[0]] = {"port": int(parts[1]), "pid": int(parts[2]),
                                     "log": parts[3] if len(parts) > 3 else None}
    return gws


GATEWAYS = read_gateways()
CONTROL = os.environ.get("KAFKAGATE_FAULT_CONTROL", "")


def note(fmt, *args):
    print("#   " + (fmt % args if args else fmt), flush=True)


# --- the fake broker's control socket -----------------------------------------

def control(**req):
    host, port = CONTROL.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(json.dumps(req).encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    resp = json.loads(buf)
    if isinstance(resp, dict) and "error" in resp:
        raise RuntimeError("fault broker: %s" % resp["error"])
    return resp


def stats(mode=None):
    return control(cmd="stats", mode=mode) if mode else control(cmd="stats")


def nreq(st, api):
    return st["requests"].get(str(api), 0)


# --- the gateway process -----------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / CLK_TCK  # utime + stime


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is dead too
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def log_tail(mode, n=15):
    gw = GATEWAYS.get(mode) or {}
    try:
        with open(gw.get("log") or "") as f:
            lines = f.read().splitlines()[-n:]
        return "\n  gateway log tail:\n    " + "\n    ".join(lines)
    except OSError:
        return ""


class FaultTest(RespAsserts, unittest.IsolatedAsyncioTestCase):
    mode = None

    def setUp(self):
        if self.mode not in GATEWAYS:
            self.skipTest("no gateway for mode %r (KAFKAGATE_FAULT_GATEWAYS)" % self.mode)
        if not CONTROL:
            self.skipTest("no fault broker control port (KAFKAGATE_FAULT_CONTROL)")
        self.gw = GATEWAYS[self.mode]
        self.pid = self.gw["pid"]
        self.url = "ws://127.0.0.1:%d/kafka" % self.gw["port"]
        self.assertTrue(alive(self.pid), "gateway %s (pid %d) is not running%s"
                        % (self.mode, self.pid, log_tail(self.mode)))

    async def connect(self, url=None):
        return await PubSubClient.connect(url or self.url, PB)

    # -- assertions (and RespAsserts) --

    def assertError(self, resp, prefix=None, seq=None, code=None):
        self.assertKind(resp, "error_resp", seq)
        if prefix is not None:
            self.assertTrue(resp.error_resp.message.startswith(prefix),
                            "expected %r..., got %s" % (prefix, describe(resp)))
        if code is not None:
            self.assertEqual(resp.error_resp.code, code, describe(resp))
        else:
            self.assertNotEqual(resp.error_resp.code, 0, "error_resp.code must be "
                                "meaningful: " + describe(resp))

    def assertMentions(self, resp, words, what):
        m = resp.error_resp.message.lower()
        self.assertTrue(any(w in m for w in words),
                        "the error should say %s (one of %s): %s" % (what, words, describe(resp)))

    def assertRecords(self, resp, expected, seq=None):
        self.assertKind(resp, "kafka_fetch_resp", seq)
        got = [(m.offset, m.key, m.value) for m in resp.kafka_fetch_resp.messages]
        self.assertEqual(got, expected)

    def assertWithin(self, elapsed, limit, what):
        self.assertLessEqual(elapsed, limit, "%s took %.2f s, more than %.2f s%s"
                             % (what, elapsed, limit, log_tail(self.mode)))

    async def timed(self, coro):
        t0 = time.monotonic()
        r = await coro
        return r, time.monotonic() - t0

    async def assertPing(self, c, state=b"still alive"):
        r = await c.ping(state)
        self.assertKind(r, "pong_resp")
        self.assertEqual(r.pong_resp.state, state)


LO_PREFIX = "failed to list offset, topic: t, partition: 0, err: "
FETCH_PREFIX = "failed to fetch message, topic: t, partition: 0, err: "


def expected(base, n=3):
    return [(o, b"k%d" % o, b"v%d" % o) for o in range(base, base + n)]


# --- 1. hang ---------------------------------------------------------------------------

class Hang(FaultTest):
    """ApiVersions answered, then nothing: the request deadline must fire,
    without the gateway spinning or growing."""
    mode = "hang"

    async def test_1_list_offset_times_out(self):
        cpu0, rss0 = cpu_seconds(self.pid), rss_kb(self.pid)
        async with await self.connect() as c:
            r, el = await self.timed(c.list_offset("t", 0, -1, seq=1, timeout=RT + SLACK + 10))
            cpu = cpu_seconds(self.pid) - cpu0
            rss1 = rss_kb(self.pid)
            note("hang: list_offset -> %s after %.2f s; gateway CPU %.3f s, RSS %d -> %d kB",
                 describe(r), el, cpu, rss0, rss1)
            self.assertError(r, LO_PREFIX, 1)
            if r.error_resp.code != CODE_TIMEOUT:
                note("hang: error code is %d, not %d (timeout)", r.error_resp.code, CODE_TIMEOUT)
            self.assertMentions(r, ("timed out", "timeout", "did not answer", "no answer"),
                                "that the broker did not answer in time")
            self.assertWithin(el, RT + SLACK, "the error_resp")
            self.assertLess(cpu, CPU_BUDGET, "the gateway burned %.3f s CPU in a %.2f s wait%s"
                            % (cpu, el, log_tail(self.mode)))
            self.assertLess(rss1 - rss0, RSS_GROWTH_KB, "RSS grew %d -> %d kB" % (rss0, rss1))
            await self.assertPing(c)

    async def test_2_pipelined_requests_all_answered(self):
        """A list_offset, a fetch, a ping and a list_offset in one go: two
        errors, the pong, an error, in order, all within one deadline."""
        async with await self.connect() as c:
            # Right after the timeout the broker is in its reconnect backoff:
            # record what a request gets then (informational).
            r, el = await self.timed(c.list_offset("t", 0, -1, seq=9, timeout=RT + SLACK + 10))
            note("hang: a request right after the timeout -> %s after %.2f s", describe(r), el)
            self.assertError(r, LO_PREFIX, 9)
            await asyncio.sleep(1.0)  # past the backoff: this time the deadline must fire
            cpu0 = cpu_seconds(self.pid)
            reqs = [c.req_list_offset("t", 0, -2, seq=10), c.req_fetch("t", 0, 0, seq=11),
                    c.req_ping(b"mid", seq=12), c.req_list_offset("t", 0, -1, seq=13)]
            t0 = time.monotonic()
            for q in reqs:
                await c.send_req(q)
            resps = [await c.recv_resp(RT + SLACK + 10) for _ in reqs]
            el = time.monotonic() - t0
            cpu = cpu_seconds(self.pid) - cpu0
            note("hang: 4 pipelined requests answered in %.2f s (codes %s), CPU %.3f s", el,
                 [r.error_resp.code for r in resps if r.WhichOneof("resp") == "error_resp"], cpu)
            self.assertEqual([r.sequence for r in resps], [10, 11, 12, 13])
            self.assertError(resps[0], LO_PREFIX)
            self.assertError(resps[1], FETCH_PREFIX)
            self.assertKind(resps[2], "pong_resp")
            self.assertError(resps[3], LO_PREFIX)
            self.assertWithin(el, RT + SLACK, "the four answers")
            self.assertLess(cpu, CPU_BUDGET, "CPU %.3f s" % cpu)

    async def test_3_idle_after_timeouts(self):
        """After the timeouts, with no client request, the gateway neither
        spins nor hammers the broker with reconnects."""
        s0, cpu0 = stats(self.mode), cpu_seconds(self.pid)
        await asyncio.sleep(2.0)
        s1, cpu = stats(self.mode), cpu_seconds(self.pid) - cpu0
        conns = s1["connections"] - s0["connections"]
        note("hang: idle 2 s: CPU %.3f s, %d new broker connections", cpu, conns)
        self.assertLess(cpu, 0.2 * SCALE, "an idle gateway burned %.3f s CPU in 2 s" % cpu)
        self.assertLessEqual(conns, 2, "%d broker connections while idle" % conns)


# --- 2. malformed Metadata ------------------------------------------------------------

class BadMetadata(FaultTest):
    """Metadata answered with a 2-byte body: an error, a backoff, no storm."""
    mode = "badmd"

    async def test_error_backoff_no_storm(self):
        s0 = stats(self.mode)
        t_start = time.monotonic()
        codes, times = [], []
        async with await self.connect() as c:
            for i in range(5):
                if i:
                    await asyncio.sleep(0.6)
                r, el = await self.timed(c.list_offset("t", 0, -1, seq=i, timeout=RT + SLACK + 10))
                times.append(round(el, 2))
                if i == 0:
                    note("badmd: list_offset -> %s after %.2f s", describe(r), el)
                self.assertError(r, LO_PREFIX, i)
                codes.append(r.error_resp.code)
                self.assertWithin(el, RT + SLACK, "error_resp %d" % i)
                if i == 0:
                    self.assertMentions(r, ("malformed", "metadata", "protocol", "invalid"),
                                        "that the Metadata answer was bad")
            await asyncio.sleep(1.5)   # and idle: nothing more should reach the broker
            await self.assertPing(c)
        s1 = stats(self.mode)
        md = nreq(s1, API_METADATA) - nreq(s0, API_METADATA)
        conns = s1["connections"] - s0["connections"]
        note("badmd: 5 requests over %.1f s: codes %s, times %s, %d Metadata requests, "
             "%d broker connections", time.monotonic() - t_start, codes, times, md, conns)
        self.assertLess(md, MAX_METADATA, "a Metadata storm: %d requests%s" % (md, log_tail(self.mode)))
        self.assertGreaterEqual(md, 2, "the gateway asked for Metadata only %d times in 5 "
                                "requests over 4 s: no retry after the backoff?" % md)
        self.assertGreaterEqual(conns, 2, "the gateway did not reconnect (%d connections)" % conns)
        self.assertLess(conns, MAX_METADATA, "a reconnect storm: %d connections" % conns)


# --- 3. oversize frame ----------------------------------------------------------------

class Oversize(FaultTest):
    """A response whose size prefix is 0x7fffffff: refused before allocating."""
    mode = "oversize"

    async def test_error_no_huge_allocation(self):
        rss0 = rss_kb(self.pid)
        s0 = stats(self.mode)
        async with await self.connect() as c:
            r, el = await self.timed(c.list_offset("t", 0, -1, seq=3, timeout=RT + SLACK + 10))
            rss1 = rss_kb(self.pid)
            note("oversize: list_offset -> %s after %.2f s; RSS %d -> %d kB", describe(r), el, rss0, rss1)
            self.assertError(r, LO_PREFIX, 3)
            self.assertWithin(el, RT + SLACK, "the error_resp")
            self.assertMentions(r, ("2147483647", "bytes", "size", "large", "limit"),
                                "that the response frame was too large")
            self.assertLess(rss1 - rss0, RSS_GROWTH_KB, "RSS grew %d -> %d kB" % (rss0, rss1))
            # again, after the backoff: the same answer, no leak of the last attempt
            await asyncio.sleep(0.5)
            r = await c.fetch("t", 0, 0, seq=4, timeout=RT + SLACK + 10)
            self.assertError(r, FETCH_PREFIX, 4)
            rss2 = rss_kb(self.pid)
            self.assertLess(rss2 - rss0, RSS_GROWTH_KB, "RSS grew %d -> %d kB" % (rss0, rss2))
            await self.assertPing(c)
        s1 = stats(self.mode)
        self.assertLess(s1["connections"] - s0["connections"], MAX_METADATA)


# --- 4. wrong correlation id -------------------------------------------------------------

class WrongCorrelation(FaultTest):
    mode = "wrongcorr"

    async def test_error(self):
        async with await self.connect() as c:
            r, el = await self.timed(c.list_offset("t", 0, -1, seq=5, timeout=RT + SLACK + 10))
            note("wrongcorr: list_offset -> %s after %.2f s", describe(r), el)
            self.assertError(r, LO_PREFIX, 5)
            self.assertWithin(el, RT + SLACK, "the error_resp")
            self.assertMentions(r, ("correlation",), "that the correlation id was wrong")
            await self.assertPing(c)


# --- 5. connection closed after ApiVersions -----------------------------------------------

class CloseAfterApiVersions(FaultTest):
    mode = "close"

    async def test_error_mentions_closed(self):
        async with await self.connect() as c:
            r, el = await self.timed(c.list_offset("t", 0, -1, seq=6, timeout=RT + SLACK + 10))
            note("close: list_offset -> %s after %.2f s", describe(r), el)
            self.assertError(r, LO_PREFIX, 6)
            self.assertWithin(el, RT + SLACK, "the error_resp")
            self.assertMentions(r, ("closed", "reset", "eof"), "that the broker closed the connection")
            r = await c.fetch("t", 0, 0, seq=7, timeout=RT + SLACK + 10)
            self.assertError(r, FETCH_PREFIX, 7)
            await self.assertPing(c)


# --- 6. NOT_LEADER_OR_FOLLOWER / FENCED_LEADER_EPOCH, then success -------------------

class NotLeader(FaultTest):
    """The first two answers carry a retriable error; the client must see
    only the success (the gateway refreshes metadata and retries)."""
    mode = "notleader"

    def tearDown(self):
        if self.mode in GATEWAYS and CONTROL:
            for api in (API_LIST_OFFSETS, API_FETCH):
                control(cmd="arm", mode=self.mode, api=api, code=0, count=0)

    async def _retried(self, api, code, offset=0):
        s0 = stats(self.mode)
        control(cmd="arm", mode=self.mode, api=api, code=code, count=2)
        async with await self.connect() as c:
            if api == API_LIST_OFFSETS:
                r, el = await self.timed(c.list_offset("t", 0, -1, seq=20, timeout=RT + SLACK + 10))
                self.assertKind(r, "kafka_list_offset_resp", 20)
                self.assertEqual(r.kafka_list_offset_resp.offset, LATEST, describe(r))
            else:
                r, el = await self.timed(c.fetch("t", 0, offset, seq=21,
                                                 timeout=RT + SLACK + 10))
                self.assertRecords(r, expected(offset), 21)
        s1 = stats(self.mode)
        n = nreq(s1, api) - nreq(s0, api)
        md = nreq(s1, API_METADATA) - nreq(s0, API_METADATA)
        note("notleader: api %d error %d x2 -> %s in %.2f s: %d requests, %d Metadata refreshes",
             api, code, describe(r), el, n, md)
        # A Fetch may be followed by one read-ahead (the partition reader
        # fetches the next stretch once a client reads the last one).
        if api == API_FETCH:
            self.assertIn(n, (3, 4), "expected 2 failed + 1 good request "
                          "(+ 1 read-ahead), saw %d" % n)
        else:
            self.assertEqual(n, 3, "expected 2 failed + 1 good request, saw %d" % n)
        self.assertGreaterEqual(md, 1, "no Metadata refresh after error %d" % code)
        self.assertEqual(s1["arms"].get(str(api)), [code, 0])
        self.assertWithin(el, RT, "the retried request")

    async def test_list_offsets_not_leader(self):
        await self._retried(API_LIST_OFFSETS, NOT_LEADER_OR_FOLLOWER)

    async def test_list_offsets_fenced_leader_epoch(self):
        await self._retried(API_LIST_OFFSETS, FENCED_LEADER_EPOCH)

    # Offsets no other test reads: the gateway's partition reader keeps
    # what it fetched, and would answer from memory.
    async def test_fetch_not_leader(self):
        await self._retried(API_FETCH, NOT_LEADER_OR_FOLLOWER, 40)

    async def test_fetch_fenced_leader_epoch(self):
        await self._retried(API_FETCH, FENCED_LEADER_EPOCH, 60)

    async def test_persistent_not_leader_gives_up(self):
        """Error 6 on every answer: a bounded number of retries, then the
        Kafka error itself; and a working answer once the broker recovers."""
        s0 = stats(self.mode)
        control(cmd="arm", mode=self.mode, api=API_LIST_OFFSETS, code=NOT_LEADER_OR_FOLLOWER,
                count=1000)
        async with await self.connect() as c:
            r, el = await self.timed(c.list_offset("t", 0, -1, seq=22, timeout=RT + SLACK + 10))
            s1 = stats(self.mode)
            n = nreq(s1, API_LIST_OFFSETS) - nreq(s0, API_LIST_OFFSETS)
            note("notleader: persistent error 6 -> %s after %.2f s and %d ListOffsets requests",
                 describe(r), el, n)
            self.assertError(r, LO_PREFIX + "NOT_LEADER_OR_FOLLOWER", 22, NOT_LEADER_OR_FOLLOWER)
            self.assertWithin(el, RT + SLACK, "giving up")
            self.assertLess(n, 20, "%d ListOffsets requests for one client request" % n)
            control(cmd="arm", mode=self.mode, api=API_LIST_OFFSETS, code=0, count=0)
            r = await c.list_offset("t", 0, -1, seq=23)
            self.assertKind(r, "kafka_list_offset_resp", 23)
            self.assertEqual(r.kafka_list_offset_resp.offset, LATEST)


# --- 7. record batch CRC ------------------------------------------------------------------

class Crc(FaultTest):
    mode = "crc"

    async def test_bad_crc(self):
        async with await self.connect() as c:
            r = await c.fetch("t", 0, 100, seq=30)
            note("crc: bad CRC -> %s", describe(r))
            self.assertError(r, FETCH_PREFIX, 30, CODE_CORRUPT)
            self.assertMentions(r, ("crc",), "that the CRC is wrong")
            await self.assertPing(c)

    async def test_good_batch(self):
        async with await self.connect() as c:
            self.assertRecords(await c.fetch("t", 0, 200, seq=31), expected(200), 31)
            # from inside the batch: nothing below the requested offset
            self.assertRecords(await c.fetch("t", 0, 500, seq=32), expected(500), 32)

    async def test_truncated_second_batch(self):
        async with await self.connect() as c:
            self.assertRecords(await c.fetch("t", 0, 300, seq=33), expected(300), 33)
            await self.assertPing(c)


# --- 8. an oversized topic name from the client ---------------------------------------------

class LongTopic(FaultTest):
    mode = "ok"

    async def _long(self, n):
        """A topic name of n bytes: an error_resp in APISIX's format ending
        with `not found topic` (the topic itself may be shortened in the
        message), then a working session and gateway."""
        topic = "a" * n
        s0 = stats(self.mode)
        async with await self.connect() as c:
            req = c.req_list_offset(topic, 0, -1, seq=40)
            self.assertLess(len(req.SerializeToString()), 65535)
            await c.send_req(req)
            r1, el = await self.timed(c.recv_resp(RT + SLACK + 10))
            r2 = await c.fetch(topic, 0, 0, seq=41, timeout=RT + SLACK + 10)
            await self.assertPing(c)
            r3 = await c.list_offset("t", 0, -1, seq=42)
        for r, what in ((r1, "list_offset"), (r2, "fetch")):
            note("topic of %d bytes: %s -> error_resp code %d, message of %d bytes: %r ... %r",
                 n, what, r.error_resp.code, len(r.error_resp.message), r.error_resp.message[:40],
                 r.error_resp.message[-40:])
        self.assertError(r1, "failed to list offset, topic: ", 40)
        self.assertTrue(r1.error_resp.message.endswith(", partition: 0, err: not found topic"),
                        "list_offset: the message (%d bytes) does not end with the error: ...%r"
                        % (len(r1.error_resp.message), r1.error_resp.message[-60:]))
        self.assertError(r2, "failed to fetch message, topic: ", 41)
        self.assertTrue(r2.error_resp.message.endswith(", partition: 0, err: not found topic"),
                        "fetch: the message (%d bytes) does not end with the error: ...%r"
                        % (len(r2.error_resp.message), r2.error_resp.message[-60:]))
        self.assertWithin(el, RT + SLACK, "the error_resp")
        self.assertKind(r3, "kafka_list_offset_resp", 42)
        self.assertEqual(r3.kafka_list_offset_resp.offset, LATEST)
        s1 = stats(self.mode)
        self.assertEqual(s1["violations"], s0["violations"], "the broker got malformed requests")

    async def test_300_byte_topic(self):
        await self._long(300)     # over Kafka's 249-character limit, a short message

    async def test_40000_byte_topic(self):
        await self._long(40000)   # over a Kafka STRING's 32767 bytes too


# --- 9. no Fetch version in common -----------------------------------------------------------

class OldFetch(FaultTest):
    """ApiVersions lists Fetch 0-3 only (we speak 4-12)."""
    mode = "oldfetch"

    async def test_fetch_unsupported_version(self):
        s0 = stats(self.mode)
        async with await self.connect() as c:
            r, el = await self.timed(c.fetch("t", 0, 0, seq=50, timeout=RT + SLACK + 10))
            note("oldfetch: fetch -> %s after %.2f s", describe(r), el)
            self.assertError(r, FETCH_PREFIX, 50)
            self.assertMentions(r, ("version",), "that no Fetch version is supported")
            self.assertEqual(r.error_resp.code, CODE_PROTOCOL, describe(r))
            self.assertWithin(el, RT + SLACK, "the error_resp")
            # the connection itself is fine for other APIs
            r = await c.list_offset("t", 0, -1, seq=51)
            self.assertKind(r, "kafka_list_offset_resp", 51)
            self.assertEqual(r.kafka_list_offset_resp.offset, LATEST)
            await self.assertPing(c)
        s1 = stats(self.mode)
        self.assertEqual(nreq(s1, API_FETCH), nreq(s0, API_FETCH), "a Fetch reached the broker")
        if el > 1.0:
            note("oldfetch: the unsupported-version error took %.2f s (retried until the deadline?)", el)


# --- 10. afterwards -------------------------------------------------------------------------------

class Afterwards(unittest.IsolatedAsyncioTestCase):
    """Every gateway survived; version negotiation stayed inside what the
    fake broker advertised."""

    def setUp(self):
        if not GATEWAYS or not CONTROL:
            self.skipTest("no gateways / fault broker")

    async def test_every_gateway_alive_and_answering(self):
        dead = [m for m, g in GATEWAYS.items() if not alive(g["pid"])]
        self.assertEqual(dead, [], "dead gateways: %s%s" % (dead, "".join(log_tail(m) for m in dead)))
        for mode, g in GATEWAYS.items():
            c = await PubSubClient.connect("ws://127.0.0.1:%d/kafka" % g["port"], PB)
            async with c:
                r = await c.ping(mode.encode())
                self.assertEqual(r.WhichOneof("resp"), "pong_resp", "%s: %s" % (mode, describe(r)))

    def test_one_warning_per_broker_connection(self):
        """A broker connection that fails is reported once: a connection
        killed from inside its own read callback must not be logged (and
        backed off) twice.  Needs the gateways' -v log ('connecting to')."""
        for mode, g in GATEWAYS.items():
            if not g.get("log"):
                continue
            with open(g["log"], errors="replace") as f:
                lines = f.read().splitlines()
            connects = sum("debug: kafka: connecting to " in l for l in lines)
            warns = [l for l in lines if l.startswith("warning: kafka: broker ")]
            self.assertLessEqual(len(warns), connects,
                                 "%s: %d broker warnings for %d connections:\n  %s"
                                 % (mode, len(warns), connects, "\n  ".join(warns[:10])))

    def test_negotiated_versions(self):
        st = stats()
        for mode, s in st.items():
            self.assertEqual(s["violations"], [], "%s: %s" % (mode, s["violations"]))
            seen = {}
            for key, n in s["versions"].items():
                api, ver = (int(x) for x in key.split(":"))
                seen.setdefault(api, set()).add(ver)
            for api, want in ((API_METADATA, {1}), (API_LIST_OFFSETS, {1}), (API_FETCH, {4})):
                if api in seen:
                    self.assertEqual(seen[api], want, "%s: api %d versions %s" % (mode, api, seen[api]))
            if s["connections"]:
                av = seen.get(API_VERSIONS, set())
                if s["style"] == "v3":
                    self.assertEqual(av, {3}, "%s: ApiVersions versions %s" % (mode, av))
                else:
                    self.assertEqual(av, {2, 3}, "%s: %s broker, ApiVersions versions %s"
                                     % (mode, s["style"], av))
        note("versions per mode: %s", {m: s["versions"] for m, s in st.items()})


ORDER = [Hang, BadMetadata, Oversize, WrongCorrelation, CloseAfterApiVersions, NotLeader, Crc,
         LongTopic, OldFetch, Afterwards]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], sys.modules[__name__], "kafkagate fault-injection tests",
                  lambda: "# gateways %s, fault broker control %s, request timeout %g s, timeout scale %g"
                  % (" ".join("%s=%d" % (m, g["port"]) for m, g in GATEWAYS.items()) or "none",
                     CONTROL or "none", RT, SCALE),
                  classes=ORDER, skips="note"))
