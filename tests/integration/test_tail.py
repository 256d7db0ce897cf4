#!/usr/bin/python3
"""kafkagate at the tail: many clients waiting at the end of a partition.

A fetch at the end of the log is held (--fetch-wait, 500 ms by default)
and answered the moment records arrive.  However many clients wait, the
partition's reader keeps one Fetch at a time to the broker, and every
client gets every record once, in order.

Run by tests/integration/run.sh against its gateway (KAFKAGATE_URL, whose
log is KAFKAGATE_LOG: the gateway runs with -v and logs each Fetch it
sends) and broker (KAFKAGATE_BOOTSTRAP).
"""

import asyncio
import os
import sys
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import RespAsserts, main  # noqa: E402
from pubsub_client import PubSubClient, timeout_scale  # noqa: E402

SCALE = timeout_scale()
PB = None
URL = os.environ.get("KAFKAGATE_URL")
LOG = os.environ.get("KAFKAGATE_LOG")
BOOTSTRAP = os.environ.get("KAFKAGATE_BOOTSTRAP")
IN_CI = os.environ.get("CI", "") not in ("", "0", "false")

try:
    import confluent_kafka
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError:  # pragma: no cover
    confluent_kafka = None

CLIENTS = 100
RECORDS = 20


def note(fmt, *args):
    print("#   " + (fmt % args if args else fmt), flush=True)


def create_topic(name):
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    admin.create_topics([NewTopic(name, 1, 1)])[name].result(30 * SCALE)
    deadline = time.monotonic() + 30 * SCALE
    while time.monotonic() < deadline:
        t = admin.list_topics(name, timeout=5).topics.get(name)
        if t is not None and t.error is None and t.partitions and t.partitions[0].leader >= 0:
            return
        time.sleep(0.2)
    raise RuntimeError("topic %s has no leader" % name)


def log_size():
    return os.path.getsize(LOG) if LOG and os.path.exists(LOG) else 0


def log_since(pos):
    with open(LOG, "rb") as f:
        f.seek(pos)
        return f.read().decode("utf-8", "replace")


class Tail(RespAsserts, unittest.IsolatedAsyncioTestCase):

    def setUp(self):
        if not URL or not BOOTSTRAP or not LOG:
            self.skipTest("needs KAFKAGATE_URL, KAFKAGATE_BOOTSTRAP, KAFKAGATE_LOG")
        if confluent_kafka is None:
            if IN_CI:
                self.fail("python3-confluent-kafka is missing")
            self.skipTest("python3-confluent-kafka is missing")

    async def test_hundred_clients_at_the_tail(self):
        topic = "tail-" + uuid.uuid4().hex[:8]
        await asyncio.to_thread(create_topic, topic)
        clients = [await PubSubClient.connect(URL, PB) for _ in range(CLIENTS)]
        got = [[] for _ in range(CLIENTS)]
        waits = []

        async def follow(i, c):
            offset = 0
            while len(got[i]) < RECORDS:
                t0 = time.monotonic()
                r = await c.fetch(topic, 0, offset)
                self.assertKind(r, "kafka_fetch_resp")
                msgs = list(r.kafka_fetch_resp.messages)
                if not msgs:
                    waits.append(time.monotonic() - t0)
                for m in msgs:
                    self.assertEqual(m.offset, offset, "client %d: a gap or a repeat" % i)
                    got[i].append((m.offset, m.value, time.monotonic()))
                    offset += 1

        def produce():
            p = confluent_kafka.Producer({"bootstrap.servers": BOOTSTRAP, "linger.ms": 0})
            for n in range(RECORDS):
                p.produce(topic, value=b"%d %.6f" % (n, time.time()), partition=0)
                p.flush(10 * SCALE)
                time.sleep(0.2)

        pos = log_size()
        t0 = time.monotonic()
        tasks = [asyncio.create_task(follow(i, c)) for i, c in enumerate(clients)]
        await asyncio.sleep(1.0)        # every client is waiting at offset 0
        await asyncio.to_thread(produce)
        await asyncio.wait_for(asyncio.gather(*tasks), 30 * SCALE)
        elapsed = time.monotonic() - t0
        for c in clients:
            await c.ws.close()
        for i in range(CLIENTS):
            self.assertEqual([int(v.split()[0]) for _, v, _ in got[i]], list(range(RECORDS)),
                             "client %d" % i)
        note("%d clients x %d records in %.1f s", CLIENTS, RECORDS, elapsed)
        fetches = log_since(pos).count(": Fetch of ")
        note("%d Fetch requests from the gateway to the broker for %d client fetches",
             fetches, CLIENTS * RECORDS)
        if waits:
            note("empty answers after a wait: %d, median wait %.3f s", len(waits),
                 sorted(waits)[len(waits) // 2])
        # One Fetch at a time for the partition: a few per record and per
        # --fetch-wait period, never one per client.
        self.assertGreater(fetches, 0, "no Fetch in the gateway log: nothing measured")
        self.assertLessEqual(fetches, 3 * RECORDS + 2 * int(elapsed / 0.5) + 10)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], sys.modules[__name__], "kafkagate tail tests",
                  lambda: "# gateway %s, broker %s" % (URL, BOOTSTRAP)))
