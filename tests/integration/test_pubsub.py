#!/usr/bin/python3
"""kafkagate integration tests: the APISIX pubsub protocol against a real Kafka.

Runs against already running gateways (tests/integration/run.sh starts them):

  KAFKAGATE_URL        ws://host:port/kafka of a kafkagate whose broker holds
                       the data of `tests/broker/kafka-broker.sh seed`
                       (default ws://127.0.0.1:$KAFKAGATE_PORT/kafka)
  KAFKAGATE_BAD_URL    a kafkagate whose broker is unreachable
                       (default ws://127.0.0.1:$KAFKAGATE_BAD_PORT/kafka;
                       its tests are skipped when neither is set)
  KAFKAGATE_PROTO      the schema (default $srcdir/proto/pubsub.proto)
  KAFKAGATE_MAX_FRAME  the gateway's --max-frame (default 65536)
  KAFKAGATE_TIMEOUT_SCALE  multiplies every timeout (default 1)

Usage: test_pubsub.py [-v] [-k SUBSTRING]... [TestClass[.test_name]]...
Prints one line per test and a last line "N passed, M failed[, K skipped]";
exits 1 if any test failed.

Compares decoded messages, never raw bytes (field order on the wire is free).
"""

import asyncio
import hashlib
import http.client
import os
import sys
import time
import traceback
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import websockets.exceptions  # noqa: E402

from harness import RespAsserts, main  # noqa: E402
from pubsub_client import PubSubClient, describe, timeout_scale  # noqa: E402

SCALE = timeout_scale()
PB = None  # the generated module, loaded in main()


def _url(var, portvar):
    if os.environ.get(var):
        return os.environ[var]
    if os.environ.get(portvar):
        return "ws://127.0.0.1:%s/kafka" % os.environ[portvar]
    return None


URL = _url("KAFKAGATE_URL", "KAFKAGATE_PORT")
BAD_URL = _url("KAFKAGATE_BAD_URL", "KAFKAGATE_BAD_PORT")
MAX_FRAME = int(os.environ.get("KAFKAGATE_MAX_FRAME", "65536"))

# Silence timeout for "no response expected" checks.
QUIET = 1.0 * SCALE

# --- the seeded data (tests/broker/kafka-broker.sh seed) ---------------------
BIG_VALUE_LEN = 1048576
BUDGET_COUNT = 200


def big_value():
    return b"".join(b"%07d\n" % i for i in range(131072))


def budget_value(i):
    c = bytes([ord("a") + i % 26])
    return b"budget-%03d-" % i + c * 989


THREE_PARTS = {0: 3, 1: 5, 2: 7}  # partition -> record count
KEYS = [  # offset, key, value as a proto3 client sees them (null == empty)
    (0, b"", b"null-key"),
    (1, b"", b"empty-key"),
    (2, b"\x00bin\xff\x00", b"binary-key"),
    (3, b"k3", b""),
    (4, b"tombstone", b""),
]


class GatewayTest(RespAsserts, unittest.IsolatedAsyncioTestCase):
    url = URL

    def setUp(self):
        if not self.url:
            self.skipTest("no gateway URL (KAFKAGATE_URL / KAFKAGATE_PORT)")

    async def connect(self, url=None, **kw):
        return await PubSubClient.connect(url or self.url, PB, **kw)

    # -- assertions on decoded responses (and RespAsserts) --
    def assertError(self, resp, message=None, seq=None, code_nonzero=True):
        self.assertKind(resp, "error_resp", seq)
        if message is not None:
            self.assertEqual(resp.error_resp.message, message)
        if code_nonzero:
            self.assertNotEqual(resp.error_resp.code, 0,
                                "error_resp.code must be meaningful: " + describe(resp))

    def messages(self, resp, seq=None):
        self.assertKind(resp, "kafka_fetch_resp", seq)
        return list(resp.kafka_fetch_resp.messages)

    def assertRecords(self, msgs, expected):
        """expected: list of (offset, key, value)."""
        got = [(m.offset, m.key, m.value) for m in msgs]
        self.assertEqual(got, expected)

    async def fetch_all(self, c, topic, partition, offset, end):
        """Fetch from offset until end (exclusive); returns the messages and
        the number of responses it took."""
        out, n = [], 0
        while offset < end:
            msgs = self.messages(await c.fetch(topic, partition, offset))
            n += 1
            self.assertTrue(msgs, "empty fetch at %d before the end %d" % (offset, end))
            self.assertEqual(msgs[0].offset, offset)
            out += msgs
            offset = msgs[-1].offset + 1
            self.assertLess(n, 10000)
        return out, n


def http_get(url, path, headers=None):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=10 * SCALE)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


class HttpTests(GatewayTest):
    async def test_plain_get_is_400(self):
        """kafka.t TEST 2: GET /kafka without Upgrade -> 400."""
        path = urllib.parse.urlsplit(self.url).path or "/"
        status = await asyncio.to_thread(http_get, self.url, path)
        self.assertEqual(status, 400)

    async def test_unknown_path_is_404(self):
        status = await asyncio.to_thread(http_get, self.url, "/no-such-route")
        self.assertEqual(status, 404)

    async def test_upgrade_unknown_path_is_404(self):
        u = urllib.parse.urlsplit(self.url)
        with self.assertRaises(websockets.exceptions.InvalidStatusCode) as cm:
            await self.connect(urllib.parse.urlunsplit((u.scheme, u.netloc, "/no-such-route", "", "")))
        self.assertEqual(cm.exception.status_code, 404)

    async def test_handshake_with_deflate_offer(self):
        """A client offering permessage-deflate still gets a working session."""
        c = await self.connect(compression="deflate")
        async with c:
            self.assertKind(await c.ping(b"x"), "pong_resp")


class KafkaT(GatewayTest):
    """APISIX t/pubsub/kafka.t TEST 3, then kafkagate's stricter checks."""

    async def test_kafka_t_test3(self):
        async with await self.connect() as c:
            r = await c.list_offset("not-exist", 0, -1, seq=0)
            self.assertError(r, "failed to list offset, topic: not-exist, partition: 0, err: not found topic", 0)
            r = await c.fetch("not-exist", 0, 0, seq=1)
            self.assertError(r, "failed to fetch message, topic: not-exist, partition: 0, err: not found topic", 1)
            self.assertOffset(await c.list_offset("test-consumer", 0, -2, seq=2), 0, 2)
            self.assertOffset(await c.list_offset("test-consumer", 0, -1, seq=3), 30, 3)
            self.assertOffset(await c.list_offset("test-consumer", 0, 9999999999999, seq=4), -1, 4)
            self.assertOffset(await c.list_offset("test-consumer", 0, 1500000000000, seq=5), 0, 5)
            msgs = self.messages(await c.fetch("test-consumer", 0, 14, seq=6), 6)
            self.assertTrue(msgs)
            self.assertEqual(msgs[0].offset, 14)
            self.assertEqual(msgs[0].value, b"testmsg15")
            self.assertRecords(msgs, [(o, b"", b"testmsg%d" % (o + 1)) for o in range(14, 30)])
            r = await c.fetch("test-consumer", 0, 999, seq=7)
            self.assertError(r, "failed to fetch message, topic: test-consumer, partition: 0, "
                                "err: OFFSET_OUT_OF_RANGE", 7)
            self.assertEqual(r.error_resp.code, 1, "OFFSET_OUT_OF_RANGE is Kafka error 1")

    async def test_timestamps(self):
        async with await self.connect() as c:
            msgs = self.messages(await c.fetch("test-consumer", 0, 0))
            self.assertEqual([m.offset for m in msgs], list(range(30)))
            ts = [m.timestamp for m in msgs]
            now = int(time.time() * 1000)
            for t in ts:
                self.assertGreater(t, 1500000000000)
                self.assertLess(t, now + 3600 * 1000)
            self.assertEqual(ts, sorted(ts))
            # the first offset with a timestamp >= the 11th record's
            r = await c.list_offset("test-consumer", 0, ts[10])
            self.assertOffset(r, ts.index(ts[10]))

    async def test_fetch_at_high_watermark_is_empty(self):
        async with await self.connect() as c:
            msgs = self.messages(await c.fetch("test-consumer", 0, 30, seq=9), 9)
            self.assertEqual(msgs, [])

    async def test_fetch_negative_offset(self):
        """Not an APISIX case: a negative offset must give an error_resp (or
        data), never a dropped connection."""
        async with await self.connect() as c:
            r = await c.fetch("test-consumer", 0, -7, seq=3)
            self.assertIn(r.WhichOneof("resp"), ("error_resp", "kafka_fetch_resp"), describe(r))
            self.assertEqual(r.sequence, 3)
            self.assertKind(await c.ping(b"after"), "pong_resp")


class BadBroker(GatewayTest):
    """kafka.t TEST 4, on a gateway whose broker is unreachable."""
    url = BAD_URL

    def setUp(self):
        if not self.url:
            self.skipTest("no unreachable-broker gateway (KAFKAGATE_BAD_URL / KAFKAGATE_BAD_PORT)")

    async def test_kafka_t_test4(self):
        async with await self.connect() as c:
            r = await c.list_offset("test-consumer", 0, -2, seq=0, timeout=30 * SCALE)
            self.assertError(r, seq=0)
            prefix = "failed to list offset, topic: test-consumer, partition: 0, err: "
            msg = r.error_resp.message
            self.assertTrue(msg.startswith(prefix), msg)
            err = msg[len(prefix):].lower()
            self.assertTrue(any(w in err for w in ("connect", "unreachable", "refused")),
                            "the error should say the broker is unreachable: %r" % msg)

    async def test_fetch_unreachable(self):
        async with await self.connect() as c:
            r = await c.fetch("test-consumer", 0, 0, seq=5, timeout=30 * SCALE)
            self.assertError(r, seq=5)
            self.assertTrue(r.error_resp.message.startswith(
                "failed to fetch message, topic: test-consumer, partition: 0, err: "), describe(r))
            # the session survives
            self.assertKind(await c.ping(b"still here", seq=6), "pong_resp", 6)


class PubSubT(GatewayTest):
    """APISIX t/pubsub/pubsub.t, where kafkagate answers instead of staying silent."""

    async def test_ping(self):
        async with await self.connect() as c:
            r = await c.ping(b"test", seq=0)
            self.assertKind(r, "pong_resp", 0)
            self.assertEqual(r.pong_resp.state, b"test")

    async def test_ping_binary_state(self):
        state = b"\x00\x01\xff\x00non-utf8 \xc3\x28\x00"
        async with await self.connect() as c:
            r = await c.ping(state, seq=12)
            self.assertKind(r, "pong_resp", 12)
            self.assertEqual(r.pong_resp.state, state)

    async def test_ping_empty_state(self):
        async with await self.connect() as c:
            r = await c.ping(b"", seq=1)
            self.assertKind(r, "pong_resp", 1)
            self.assertEqual(r.pong_resp.state, b"")

    async def test_cmd_empty_unknown_command(self):
        async with await self.connect() as c:
            r = await c.empty(seq=42)
            self.assertError(r, "unknown command", 42, code_nonzero=False)

    async def test_text_frame_ignored(self):
        async with await self.connect() as c:
            await c.send_raw("test")
            with self.assertRaises(asyncio.TimeoutError):
                await c.recv(QUIET)
            r = await c.ping(b"alive", seq=2)
            self.assertKind(r, "pong_resp", 2)
            self.assertEqual(r.pong_resp.state, b"alive")

    async def test_empty_binary_frame(self):
        async with await self.connect() as c:
            await c.send_raw(b"")
            r = await c.recv_resp()
            self.assertKind(r, "error_resp")
            m = r.error_resp.message.lower()
            self.assertTrue("empty" in m or "unknown" in m or "no command" in m, describe(r))
            self.assertKind(await c.ping(b"after"), "pong_resp")

    async def test_garbage_bytes(self):
        """pubsub.t TEST 8: an error_resp or nothing, then a working session;
        or a close frame -- never a dropped TCP connection."""
        async with await self.connect() as c:
            await c.send_raw("!@#$%^&*中文".encode())
            try:
                try:
                    r = await c.recv_resp(QUIET)
                    self.assertKind(r, "error_resp")
                except asyncio.TimeoutError:
                    pass
                r = await c.ping(b"after", seq=3)
                self.assertKind(r, "pong_resp", 3)
            except websockets.exceptions.ConnectionClosed as e:
                self.assertIsNotNone(e.rcvd, "connection dropped without a close frame")

    async def test_unknown_command_field(self):
        """A PubSubReq holding only field 35 (a future command) -> error_resp."""
        async with await self.connect() as c:
            await c.send_raw(b"\x08\x07\x9a\x02\x00")  # sequence 7, field 35 = {}
            r = await c.recv_resp()
            self.assertError(r, seq=7, code_nonzero=False)
            self.assertKind(await c.ping(b"after", seq=8), "pong_resp", 8)

    async def test_large_and_negative_sequences(self):
        async with await self.connect() as c:
            for seq in (2 ** 40, -5, 2 ** 63 - 1, -(2 ** 63), 4294967296):
                r = await c.ping(b"s", seq=seq)
                self.assertKind(r, "pong_resp", seq)
                r = await c.list_offset("test-consumer", 0, -1, seq=seq)
                self.assertOffset(r, 30, seq)

    async def test_pipelining(self):
        async with await self.connect() as c:
            reqs = [
                c.req_ping(b"p1", seq=100),
                c.req_list_offset("test-consumer", 0, -1, seq=101),
                c.req_fetch("test-consumer", 0, 28, seq=102),
                c.req_list_offset("not-exist", 0, -1, seq=103),
                c.req_ping(b"p5", seq=104),
            ]
            for r in reqs:
                await c.send_req(r)
            resps = [await c.recv_resp() for _ in reqs]
            self.assertEqual([r.sequence for r in resps], [100, 101, 102, 103, 104])
            self.assertEqual(resps[0].pong_resp.state, b"p1")
            self.assertOffset(resps[1], 30)
            self.assertRecords(self.messages(resps[2]), [(28, b"", b"testmsg29"), (29, b"", b"testmsg30")])
            self.assertError(resps[3], "failed to list offset, topic: not-exist, partition: 0, err: not found topic")
            self.assertEqual(resps[4].pong_resp.state, b"p5")


class WebSocketT(GatewayTest):
    async def test_ws_ping_gets_pong(self):
        async with await self.connect() as c:
            await c.ws_ping(b"hello")
            self.assertKind(await c.ping(b"x"), "pong_resp")

    async def test_close_1000_echoed(self):
        c = await self.connect()
        await c.ping(b"x")
        await c.close(1000)
        self.assertEqual(c.close_code, 1000)

    async def test_close_4000_echoed(self):
        c = await self.connect()
        await c.close(4000, "bye")
        self.assertEqual(c.close_code, 4000)


class FetchT(GatewayTest):
    """Record decoding beyond APISIX."""

    async def test_multi_batch_no_records_below_offset(self):
        """apache/apisix#9779: a fetch inside a batch starts at the offset."""
        async with await self.connect() as c:
            msgs = self.messages(await c.fetch("multi-batch", 0, 5))
            self.assertRecords(msgs, [(o, b"", b"m%d" % o) for o in range(5, 10)])
            msgs = self.messages(await c.fetch("multi-batch", 0, 0))
            self.assertRecords(msgs, [(o, b"", b"m%d" % o) for o in range(10)])
            msgs = self.messages(await c.fetch("multi-batch", 0, 9))
            self.assertRecords(msgs, [(9, b"", b"m9")])

    async def test_many_clients_same_offset(self):
        """Fan-out: clients fetching the same offset at the same moment share
        one broker fetch; each still gets the whole, correct answer."""
        clients = [await self.connect() for _ in range(12)]
        try:
            for c in clients:
                await c.send_req(c.req_fetch("codec-zstd", 0, 3, seq=77))
            for c in clients:
                r = await c.recv_resp()
                self.assertKind(r, "kafka_fetch_resp", 77)
                self.assertRecords(self.messages(r),
                                   [(i, b"k%d" % i, b"v%d" % i) for i in range(3, 20)])
        finally:
            for c in clients:
                await c.close()

    async def _codec(self, codec):
        async with await self.connect() as c:
            msgs = self.messages(await c.fetch("codec-" + codec, 0, 0))
            self.assertRecords(msgs, [(i, b"k%d" % i, b"v%d" % i) for i in range(20)])
            msgs = self.messages(await c.fetch("codec-" + codec, 0, 13))
            self.assertRecords(msgs, [(i, b"k%d" % i, b"v%d" % i) for i in range(13, 20)])
            self.assertOffset(await c.list_offset("codec-" + codec, 0, -1), 20)

    async def test_codec_gzip(self):
        await self._codec("gzip")

    async def test_codec_snappy(self):
        await self._codec("snappy")

    async def test_codec_lz4(self):
        await self._codec("lz4")

    async def test_codec_zstd(self):
        await self._codec("zstd")

    async def test_three_partitions(self):
        async with await self.connect() as c:
            for p, n in THREE_PARTS.items():
                self.assertOffset(await c.list_offset("three-parts", p, -1), n)
                self.assertOffset(await c.list_offset("three-parts", p, -2), 0)
                msgs = self.messages(await c.fetch("three-parts", p, 0))
                self.assertRecords(msgs, [(i, b"", b"p%d-%d" % (p, i)) for i in range(n)])
            r = await c.list_offset("three-parts", 3, -1, seq=50)
            self.assertError(r, "failed to list offset, topic: three-parts, partition: 3, "
                                "err: not found partition", 50)
            r = await c.fetch("three-parts", 3, 0, seq=51)
            self.assertError(r, "failed to fetch message, topic: three-parts, partition: 3, "
                                "err: not found partition", 51)

    async def test_big_record(self):
        async with await self.connect() as c:
            msgs = self.messages(await c.fetch("big-record", 0, 0, timeout=30 * SCALE))
            self.assertEqual(len(msgs), 1)
            m = msgs[0]
            self.assertEqual(m.offset, 0)
            self.assertEqual(m.key, b"")
            self.assertEqual(len(m.value), BIG_VALUE_LEN)
            self.assertEqual(hashlib.sha256(m.value).hexdigest(), hashlib.sha256(big_value()).hexdigest())

    async def test_keys(self):
        async with await self.connect() as c:
            msgs = self.messages(await c.fetch("keys", 0, 0))
            self.assertRecords(msgs, KEYS)
            msgs = self.messages(await c.fetch("keys", 0, 2))
            self.assertRecords(msgs, KEYS[2:])

    async def test_frame_budget(self):
        """A fetch larger than --max-frame is cut at a record boundary; fetching
        on from the next offset reads everything, in order, without gaps."""
        async with await self.connect() as c:
            offset, sizes, got = 0, [], []
            while offset < BUDGET_COUNT:
                msgs = self.messages(await c.fetch("budget", 0, offset))
                sizes.append(c.last_size)
                self.assertTrue(msgs, "empty fetch at offset %d" % offset)
                self.assertLessEqual(c.last_size, MAX_FRAME + 1024,
                                     "a %d-byte response over the %d-byte budget" % (c.last_size, MAX_FRAME))
                for i, m in enumerate(msgs):
                    self.assertEqual(m.offset, offset + i)
                    self.assertEqual(m.value, budget_value(m.offset))
                got += msgs
                offset = msgs[-1].offset + 1
                self.assertLessEqual(len(sizes), BUDGET_COUNT)
            self.assertEqual(len(got), BUDGET_COUNT)
            self.assertGreater(len(sizes), 1, "200 KB cannot fit one %d-byte frame" % MAX_FRAME)
            # cut by size, not one record at a time
            self.assertGreaterEqual(len(got) / len(sizes), 2, "sizes %s" % sizes)
            self.assertOffset(await c.list_offset("budget", 0, -1), BUDGET_COUNT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], sys.modules[__name__], "kafkagate pubsub integration tests",
                  lambda: "# gateway %s, unreachable-broker gateway %s, max frame %d, timeout scale %g"
                  % (URL, BAD_URL, MAX_FRAME, SCALE)))
