#!/usr/bin/python3
"""kafkagate and Kafka transactions: offsets that hold no data record.

A transaction's COMMIT or ABORT marker takes an offset and is no record a
client can see.  When everything a broker answers after the asked offset
is markers, the gateway must read on until it has records or reaches the
end of the log: a client must never get an empty answer while records
exist after its offset (it would ask for the same offset forever).  Two
real cases, produced with real transactions (python3-confluent-kafka,
librdkafka's transactional producer):

  * a log segment that ends in a COMMIT marker (a broker answers a Fetch
    from one segment only);
  * a compacted changelog written by transactions: compaction removes the
    older records and keeps the markers, so a thousand markers come
    before the live data.

And read_committed (--isolation): records of aborted transactions and of
open ones are not delivered, list_offset -1 is the last stable offset.

Run by tests/integration/run.sh after test_pubsub.py, against the same
gateway (KAFKAGATE_URL), one with --isolation read_committed
(KAFKAGATE_RC_URL), and broker (KAFKAGATE_BOOTSTRAP; its data
directory KAFKAGATE_BROKER_DATA, to check that the segments really are as
the test means them).
"""

import asyncio
import glob
import os
import sys
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import RespAsserts, main  # noqa: E402
from pubsub_client import PubSubClient, describe, timeout_scale  # noqa: E402

SCALE = timeout_scale()
PB = None
URL = os.environ.get("KAFKAGATE_URL")
RC_URL = os.environ.get("KAFKAGATE_RC_URL")  # --isolation read_committed
BOOTSTRAP = os.environ.get("KAFKAGATE_BOOTSTRAP")
DATA = os.environ.get("KAFKAGATE_BROKER_DATA")
IN_CI = os.environ.get("CI", "") not in ("", "0", "false")

try:
    import confluent_kafka
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError:  # pragma: no cover
    confluent_kafka = None


def note(fmt, *args):
    print("#   " + (fmt % args if args else fmt), flush=True)


def create_topic(name, config):
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    fs = admin.create_topics([NewTopic(name, 1, 1, config=config)])
    fs[name].result(30 * SCALE)
    # the leader is known to the broker's metadata a moment later
    deadline = time.monotonic() + 30 * SCALE
    while time.monotonic() < deadline:
        md = admin.list_topics(name, timeout=5)
        t = md.topics.get(name)
        if t is not None and t.error is None and t.partitions and \
                t.partitions[0].leader >= 0:
            return
        time.sleep(0.2)
    raise RuntimeError("topic %s has no leader" % name)


def tx_producer():
    p = confluent_kafka.Producer({"bootstrap.servers": BOOTSTRAP,
                                  "transactional.id": "kg-test-" + uuid.uuid4().hex,
                                  "linger.ms": 0})
    p.init_transactions(30 * SCALE)
    return p


def plain_produce(topic, key, value):
    p = confluent_kafka.Producer({"bootstrap.servers": BOOTSTRAP, "linger.ms": 0})
    p.produce(topic, value=value, key=key, partition=0)
    if p.flush(30 * SCALE) != 0:
        raise RuntimeError("a record was not delivered")


def wait_compacted(topic, past, limit):
    """The first offset a direct consumer reads from 0, once it is past
    `past' (the cleaner ran); fails after `limit' seconds."""
    deadline = time.monotonic() + limit
    while True:
        c = confluent_kafka.Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "kg-test",
                                      "enable.auto.commit": False})
        try:
            c.assign([confluent_kafka.TopicPartition(topic, 0, 0)])
            m = c.poll(10)
            first = m.offset() if m is not None and m.error() is None else -1
        finally:
            c.close()
        if first > past:
            return first
        if time.monotonic() > deadline:
            raise AssertionError("the log was not compacted in %.0f s (first record at %d)"
                                 % (limit, first))
        time.sleep(1)


class Transactions(RespAsserts, unittest.IsolatedAsyncioTestCase):

    def setUp(self):
        if not URL or not BOOTSTRAP:
            self.skipTest("no gateway URL or bootstrap (KAFKAGATE_URL, KAFKAGATE_BOOTSTRAP)")
        if confluent_kafka is None:
            if IN_CI:
                self.fail("python3-confluent-kafka is missing")
            self.skipTest("python3-confluent-kafka is missing")

    async def fetch(self, c, topic, offset):
        r = await c.fetch(topic, 0, offset)
        self.assertKind(r, "kafka_fetch_resp")
        return list(r.kafka_fetch_resp.messages)

    def segments(self, topic):
        if not DATA:
            return None
        return len(glob.glob(os.path.join(DATA, topic + "-0", "*.log")))

    async def test_segment_ends_in_commit_marker(self):
        topic = "txn-seg-" + uuid.uuid4().hex[:8]
        # A segment is rolled at the first append more than segment.ms
        # after its first record.
        await asyncio.to_thread(create_topic, topic, {"segment.ms": "1000"})
        def produce():
            p = tx_producer()
            p.begin_transaction()
            for i in range(3):
                p.produce(topic, value=b"tx-%d" % i, partition=0)
            p.commit_transaction(30 * SCALE)     # offsets 0-2, COMMIT at 3
            time.sleep(1.5)
            plain_produce(topic, None, b"after")  # offset 4, a new segment
        await asyncio.to_thread(produce)
        n = self.segments(topic)
        if n is not None:
            self.assertGreaterEqual(n, 2, "the segment was not rolled: the test means nothing")
        async with await PubSubClient.connect(URL, PB) as c:
            self.assertOffset(await c.list_offset(topic, 0, -1), 5)
            msgs = await self.fetch(c, topic, 0)
            self.assertEqual([(m.offset, m.value) for m in msgs][:3],
                             [(0, b"tx-0"), (1, b"tx-1"), (2, b"tx-2")])
            # The APISIX client's next fetch: the marker's offset.
            msgs = await self.fetch(c, topic, 3)
            self.assertTrue(msgs, "an empty answer at the COMMIT marker while offset 4 holds a record")
            self.assertEqual([(m.offset, m.value) for m in msgs], [(4, b"after")])
            # At the end of the log: empty, as before.
            self.assertEqual(await self.fetch(c, topic, 5), [])

    async def test_compacted_markers_before_data(self):
        topic = "txn-compact-" + uuid.uuid4().hex[:8]
        ntx = 1000   # ~78 bytes a marker: more than one 64 KiB fetch of markers
        await asyncio.to_thread(create_topic, topic, {
            "cleanup.policy": "compact", "segment.ms": "100",
            "min.cleanable.dirty.ratio": "0.01", "min.compaction.lag.ms": "0",
            "delete.retention.ms": "86400000"})

        def produce_all():
            p = tx_producer()
            for i in range(ntx):
                p.begin_transaction()
                p.produce(topic, key=b"k", value=b"v%d" % i, partition=0)
                p.commit_transaction(30 * SCALE)
            time.sleep(0.2)
            plain_produce(topic, b"live", b"live-data")
        t0 = time.monotonic()
        await asyncio.to_thread(produce_all)
        end = 2 * ntx + 1
        note("%d transactions in %.1f s", ntx, time.monotonic() - t0)
        # Wait for the cleaner, seen by a direct consumer: the first record
        # from 0 moves past offset 0 once the old values are gone.  (Not
        # through the gateway: its partition reader would keep what it
        # read before the cleaning, as any consumer that read it would.)
        # Half the log cleaned is enough (the last segments, still dirty or
        # active, may keep their records): hundreds of markers lead.
        first = await asyncio.to_thread(wait_compacted, topic, ntx, 120 * SCALE)
        note("compacted: a direct consumer's first record from 0 is at %d", first)
        async with await PubSubClient.connect(URL, PB) as c:
            self.assertOffset(await c.list_offset(topic, 0, -1), end)
            msgs = await self.fetch(c, topic, 0)
            self.assertTrue(msgs, "an empty answer at offset 0 while records exist after it")
            note("after compaction a fetch from 0 starts at %d: %s", msgs[0].offset,
                 [(m.offset, m.key, m.value) for m in msgs])
            # Read on as a client does: no empty answer before the end.
            got, offset = list(msgs), msgs[-1].offset + 1
            while offset < end:
                msgs = await self.fetch(c, topic, offset)
                self.assertTrue(msgs, "an empty answer at %d before the end %d" % (offset, end))
                got += msgs
                offset = msgs[-1].offset + 1
            self.assertEqual(got[-1].value, b"live-data")
            # (the cleaner may have run again since the direct read)
            self.assertGreaterEqual(got[0].offset, first, "a record a direct consumer no "
                                    "longer sees")
            self.assertEqual([m.value for m in got][-2:], [b"v999", b"live-data"])

    async def test_read_committed(self):
        if not RC_URL:
            self.skipTest("no read_committed gateway (KAFKAGATE_RC_URL)")
        topic = "txn-rc-" + uuid.uuid4().hex[:8]
        await asyncio.to_thread(create_topic, topic, {})

        def produce():
            p = tx_producer()
            p.begin_transaction()
            p.produce(topic, value=b"aborted-0", partition=0)
            p.produce(topic, value=b"aborted-1", partition=0)
            p.flush(30 * SCALE)
            p.abort_transaction(30 * SCALE)      # 0, 1; ABORT at 2
            p.begin_transaction()
            p.produce(topic, value=b"committed-3", partition=0)
            p.produce(topic, value=b"committed-4", partition=0)
            p.commit_transaction(30 * SCALE)     # 3, 4; COMMIT at 5
            p.begin_transaction()
            p.produce(topic, value=b"open-6", partition=0)
            p.flush(30 * SCALE)                  # 6, still open
            return p
        p = await asyncio.to_thread(produce)
        try:
            async with await PubSubClient.connect(RC_URL, PB) as c:
                self.assertOffset(await c.list_offset(topic, 0, -1), 6)  # the LSO
                msgs = await self.fetch(c, topic, 0)
                self.assertEqual([(m.offset, m.value) for m in msgs],
                                 [(3, b"committed-3"), (4, b"committed-4")])
                self.assertEqual(await self.fetch(c, topic, 5), [])
            async with await PubSubClient.connect(URL, PB) as c:
                self.assertOffset(await c.list_offset(topic, 0, -1), 7)  # the HWM
                msgs = await self.fetch(c, topic, 0)
                self.assertEqual([m.value for m in msgs],
                                 [b"aborted-0", b"aborted-1", b"committed-3", b"committed-4",
                                  b"open-6"])
            await asyncio.to_thread(p.commit_transaction, 30 * SCALE)   # COMMIT at 7
            async with await PubSubClient.connect(RC_URL, PB) as c:
                # The coordinator writes the marker after EndTxn returns:
                # the last stable offset moves a moment later.
                deadline = time.monotonic() + 10 * SCALE
                while True:
                    r = await c.list_offset(topic, 0, -1)
                    self.assertKind(r, "kafka_list_offset_resp")
                    if r.kafka_list_offset_resp.offset == 8 or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.1)
                self.assertOffset(r, 8)
                msgs = await self.fetch(c, topic, 5)
                self.assertEqual([(m.offset, m.value) for m in msgs], [(6, b"open-6")])
        finally:
            del p


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], sys.modules[__name__], "kafkagate transaction tests",
                  lambda: "# gateway %s, broker %s" % (URL, BOOTSTRAP)))
