#!/usr/bin/python3
"""kafkagate integration tests: partition leader fail-over on a three-node
KRaft cluster (tests/integration/failover.sh sets everything up).

One WebSocket connection is opened at the start and used by every step; the
steps run in order (test_1_... to test_8_...) and each leaves the cluster in
the state the next one expects:

  1  baseline: topic `ha` (1 partition, replicas 1,2,3, leader 1,
     min.insync.replicas=2) holds HA_RECORDS records ha-0..; list_offset and
     fetch work
  2  SIGKILL the leader (node 1): the first list_offset(-1) and fetch(0)
     after the kill must succeed within the gateway's request timeout (its
     own retry covers the election)
  3  the same connection recovers (client-side retries only on transient
     errors: gateway codes 1001/1002, Kafka's retriable leader errors), data
     intact, records produced to the new leader are fetched
  4  node 1 restarts and rejoins the ISR
  5  preferred-leader change without a kill: reassign to 3,1,2 and run a
     preferred election; the gateway follows to node 3
  6  controlled shutdown (SIGTERM) of the leader (node 3): requests sent
     while it shuts down and the first ones after it all succeed, new
     records are fetched
  7  a fresh connection sees everything
  8  the first connection is still open and answers pings

Environment (failover.sh sets it):
  KAFKAGATE_URL            ws://host:port/kafka of the gateway under test
  KAFKA_CLUSTER_DIR        the cluster's directory (kafka-broker.sh cluster-start)
  KAFKA_BROKER_SH          tests/broker/kafka-broker.sh
  KAFKA_CLUSTER_BOOTSTRAP  host:port,host:port,host:port of the three nodes
  HA_TOPIC, HA_RECORDS     the topic and its seeded record count (ha, 20)
  KAFKAGATE_REQUEST_TIMEOUT  the gateway's --request-timeout (default 10)
  KAFKAGATE_PROTO, KAFKAGATE_TIMEOUT_SCALE as for test_pubsub.py

Usage: test_failover.py [-v] [-k SUBSTRING]...
Prints one line per step and a last line "N passed, M failed[, K skipped]";
lines starting with "#" report timings and what the gateway answered.
"""

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import main  # noqa: E402
from pubsub_client import PubSubClient, describe, timeout_scale  # noqa: E402

SCALE = timeout_scale()
PB = None

URL = os.environ.get("KAFKAGATE_URL")
CLUSTER_DIR = os.environ.get("KAFKA_CLUSTER_DIR")
BROKER_SH = os.environ.get("KAFKA_BROKER_SH")
BOOTSTRAP = os.environ.get("KAFKA_CLUSTER_BOOTSTRAP")
TOPIC = os.environ.get("HA_TOPIC", "ha")
SEEDED = int(os.environ.get("HA_RECORDS", "20"))
REQUEST_TIMEOUT = float(os.environ.get("KAFKAGATE_REQUEST_TIMEOUT", "10"))

# Gateway codes that mean "the backend is in transition, try again"
# (src/bridge.h) and Kafka's retriable leadership errors.
TRANSIENT_CODES = {
    1001,  # unreachable
    1002,  # timeout
    5,     # LEADER_NOT_AVAILABLE
    6,     # NOT_LEADER_OR_FOLLOWER
    7,     # REQUEST_TIMED_OUT
    74,    # FENCED_LEADER_EPOCH
    76,    # UNKNOWN_LEADER_EPOCH (not a leader error, but transient)
}


def note(msg):
    print("# " + msg, flush=True)


def expected_values():
    """Record values in offset order, as the steps produce them."""
    vals = [b"ha-%d" % i for i in range(SEEDED)]
    for phase in State.produced:
        vals += [b"%s-%d" % (phase.encode(), i) for i in range(5)]
    return vals


class State:
    loop = None
    conn = None
    produced = []      # phases whose 5 records were produced, in order
    killed = None      # node SIGKILLed in step 2
    stopped = None     # node stopped in step 6


# --- cluster helpers ----------------------------------------------------------

def broker_sh(*args, timeout=120):
    t0 = time.monotonic()
    p = subprocess.run(["bash", BROKER_SH] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=timeout * SCALE)
    if p.returncode != 0:
        raise AssertionError("kafka-broker.sh %s failed (%d):\n%s" % (" ".join(args), p.returncode, p.stdout))
    return time.monotonic() - t0


def describe_partition():
    """(leader, replicas, isr) of TOPIC partition 0 from kcat -L, or None."""
    p = subprocess.run(["kcat", "-L", "-b", BOOTSTRAP, "-t", TOPIC, "-m", "5"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=30)
    m = re.search(r"partition 0, leader (-?\d+), replicas: ([\d,]*), isrs: ([\d,]*)", p.stdout)
    if not m:
        return None
    ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    return int(m.group(1)), ints(m.group(2)), ints(m.group(3))


def wait_partition(pred, what, limit=30):
    deadline = time.monotonic() + limit * SCALE
    last = None
    while time.monotonic() < deadline:
        last = describe_partition()
        if last and pred(*last):
            return last
        time.sleep(0.3)
    raise AssertionError("%s: not reached within %g s, last seen (leader, replicas, isr) = %r"
                         % (what, limit * SCALE, last))


def end_offset():
    p = subprocess.run(["kcat", "-Q", "-b", BOOTSTRAP, "-t", "%s:0:-1" % TOPIC, "-m", "5"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=30)
    m = re.search(r"offset (-?\d+)", p.stdout)
    return int(m.group(1)) if m else None


def produce(phase):
    """Produce PHASE-0..PHASE-4 with acks=all (idempotent: no duplicates on
    retries) and wait until the end offset shows them."""
    before = SEEDED + 5 * len(State.produced)
    data = "".join("%s-%d\n" % (phase, i) for i in range(5))
    p = subprocess.run(["kcat", "-P", "-b", BOOTSTRAP, "-t", TOPIC, "-p", "0",
                        "-X", "acks=all", "-X", "enable.idempotence=true",
                        "-X", "message.timeout.ms=%d" % int(30000 * SCALE)],
                       input=data, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=60 * SCALE)
    # kcat reports the dead bootstrap node ("% ERROR: Local: Broker transport
    # failure"), harmless: judge by its status and the end offset
    if p.returncode != 0 or "Delivery failed" in p.stdout:
        raise AssertionError("kcat could not produce %s (%d):\n%s" % (phase, p.returncode, p.stdout))
    deadline = time.monotonic() + 10 * SCALE
    while True:
        end = end_offset()
        if end == before + 5:
            break
        if time.monotonic() > deadline:
            raise AssertionError("end offset %r after producing %s, expected %d; kcat said:\n%s"
                                 % (end, phase, before + 5, p.stdout))
        time.sleep(0.2)
    State.produced.append(phase)


# --- the steps ----------------------------------------------------------------

class Failover(unittest.TestCase):
    """Steps in name order, on one connection (State.conn)."""

    @classmethod
    def setUpClass(cls):
        State.loop = asyncio.new_event_loop()

    @classmethod
    def tearDownClass(cls):
        if State.conn is not None:
            try:
                State.loop.run_until_complete(asyncio.wait_for(State.conn.close(), 5))
            except Exception:
                pass
        State.loop.close()

    def setUp(self):
        for name, val in (("KAFKAGATE_URL", URL), ("KAFKA_CLUSTER_DIR", CLUSTER_DIR),
                          ("KAFKA_BROKER_SH", BROKER_SH), ("KAFKA_CLUSTER_BOOTSTRAP", BOOTSTRAP)):
            if not val:
                self.skipTest("%s is not set (run failover.sh)" % name)

    def run_async(self, coro):
        return State.loop.run_until_complete(coro)

    def conn(self):
        if State.conn is None:
            self.fail("no connection (step 1 did not open it)")
        return State.conn

    # -- requests, timed --

    def timed(self, coro):
        t0 = time.monotonic()
        r = self.run_async(coro)
        return r, time.monotonic() - t0

    def client_timeout(self):
        # the gateway answers within its request timeout; allow some slack
        return (REQUEST_TIMEOUT + 5) * SCALE

    def list_offset(self, c, ts):
        return self.timed(c.list_offset(TOPIC, 0, ts, timeout=self.client_timeout()))

    def fetch(self, c, offset):
        return self.timed(c.fetch(TOPIC, 0, offset, timeout=self.client_timeout()))

    def assertAnswerOk(self, r, kind, what, took):
        self.assertEqual(r.WhichOneof("resp"), kind,
                         "%s answered after %.2f s with %s" % (what, took, describe(r)))

    def first_requests(self, label):
        """The first list_offset(-1) and fetch(0) after a leader change: both
        must succeed at once, within the request timeout."""
        c = self.conn()
        r, took = self.list_offset(c, -1)
        note("%s: first list_offset(-1) answered in %.2f s: %s" % (label, took, describe(r)))
        r2, took2 = self.fetch(c, 0)
        note("%s: first fetch(0) answered in %.2f s: %s" % (label, took2, describe(r2)[:160]))
        self.assertAnswerOk(r, "kafka_list_offset_resp", "list_offset(-1) after %s (the gateway should "
                            "retry until its %g s request timeout)" % (label, REQUEST_TIMEOUT), took)
        self.assertLessEqual(took, REQUEST_TIMEOUT * SCALE + 1)
        self.assertEqual(r.kafka_list_offset_resp.offset, len(expected_values()))
        self.assertAnswerOk(r2, "kafka_fetch_resp", "fetch(0) after %s" % label, took2)
        self.assertLessEqual(took2, REQUEST_TIMEOUT * SCALE + 1)

    def retry_transient(self, make, kind, what, limit):
        """Send make() until the answer is of kind; retries only answers that
        are transient errors, for at most limit seconds.  Returns the answer
        and (tries, seconds)."""
        t0 = time.monotonic()
        tries = 0
        while True:
            tries += 1
            r, _ = self.timed(make())
            if r.WhichOneof("resp") == kind:
                return r, tries, time.monotonic() - t0
            self.assertEqual(r.WhichOneof("resp"), "error_resp", describe(r))
            self.assertIn(r.error_resp.code, TRANSIENT_CODES,
                          "%s: not a transient error: %s" % (what, describe(r)))
            if time.monotonic() - t0 > limit * SCALE:
                self.fail("%s: still failing after %d tries in %.1f s: %s"
                          % (what, tries, time.monotonic() - t0, describe(r)))
            self.run_async(asyncio.sleep(0.5))

    def check_all_records(self, c, label, retry_limit=0):
        """list_offset(-1) == the expected count and fetch from 0 returns
        every record in order (retrying transient errors if retry_limit)."""
        want = expected_values()
        if retry_limit:
            r, tries, secs = self.retry_transient(
                lambda: c.list_offset(TOPIC, 0, -1, timeout=self.client_timeout()),
                "kafka_list_offset_resp", label + " list_offset(-1)", retry_limit)
            note("%s: list_offset(-1) succeeded after %d tries, %.2f s" % (label, tries, secs))
        else:
            r, took = self.list_offset(c, -1)
            self.assertAnswerOk(r, "kafka_list_offset_resp", label + " list_offset(-1)", took)
        self.assertEqual(r.kafka_list_offset_resp.offset, len(want), label)
        got, off, n = [], 0, 0
        while off < len(want):
            if retry_limit:
                r, tries, secs = self.retry_transient(
                    lambda: c.fetch(TOPIC, 0, off, timeout=self.client_timeout()),
                    "kafka_fetch_resp", label + " fetch(%d)" % off, retry_limit)
                if tries > 1:
                    note("%s: fetch(%d) succeeded after %d tries, %.2f s" % (label, off, tries, secs))
            else:
                r, took = self.fetch(c, off)
                self.assertAnswerOk(r, "kafka_fetch_resp", "%s fetch(%d)" % (label, off), took)
            msgs = list(r.kafka_fetch_resp.messages)
            self.assertTrue(msgs, "%s: empty fetch at %d of %d" % (label, off, len(want)))
            self.assertEqual(msgs[0].offset, off, label)
            got += [(m.offset, m.value) for m in msgs]
            off = msgs[-1].offset + 1
            n += 1
            self.assertLess(n, 100)
        self.assertEqual(got, list(enumerate(want)), label)

    # -- steps --

    def test_1_baseline(self):
        leader, replicas, isr = wait_partition(lambda l, r, i: l == 1 and sorted(i) == [1, 2, 3],
                                               "leader 1 with the full ISR")
        note("baseline: leader %d, replicas %s, isr %s" % (leader, replicas, isr))
        State.conn = self.run_async(PubSubClient.connect(URL, PB, timeout=self.client_timeout()))
        c = self.conn()
        r, took = self.list_offset(c, -2)
        self.assertAnswerOk(r, "kafka_list_offset_resp", "list_offset(-2)", took)
        self.assertEqual(r.kafka_list_offset_resp.offset, 0)
        self.check_all_records(c, "baseline")

    def test_2_sigkill_leader_first_requests(self):
        leader = describe_partition()[0]
        self.assertEqual(leader, 1, "step 1 expects node 1 to lead")
        t0 = time.monotonic()
        broker_sh("node-kill", CLUSTER_DIR, str(leader))
        State.killed = leader
        note("SIGKILLed node %d in %.2f s" % (leader, time.monotonic() - t0))
        try:
            self.first_requests("SIGKILL of leader %d" % leader)
        finally:
            info = describe_partition()
            note("%.2f s after the kill: (leader, replicas, isr) = %r" % (time.monotonic() - t0, info))

    def test_3_sigkill_connection_recovers(self):
        self.assertIsNotNone(State.killed, "step 2 did not kill a node")
        # the same connection; transient errors are retried client-side
        self.check_all_records(self.conn(), "after SIGKILL", retry_limit=REQUEST_TIMEOUT + 20)
        leader, _, isr = wait_partition(lambda l, r, i: l not in (-1, State.killed),
                                        "a new leader after the kill")
        note("after SIGKILL: leader %d, isr %s" % (leader, isr))
        produce("after-kill")
        self.check_all_records(self.conn(), "after producing to leader %d" % leader,
                               retry_limit=REQUEST_TIMEOUT + 20)

    def test_4_restart_killed_node(self):
        self.assertIsNotNone(State.killed, "step 2 did not kill a node")
        took = broker_sh("node-start", CLUSTER_DIR, str(State.killed))
        note("node %d restarted in %.1f s" % (State.killed, took))
        info = wait_partition(lambda l, r, i: sorted(i) == [1, 2, 3], "node %d back in the ISR" % State.killed)
        note("after restart: (leader, replicas, isr) = %r" % (info,))
        State.killed = None
        self.check_all_records(self.conn(), "after the restart")

    def test_5_preferred_leader_change(self):
        leader, replicas, isr = describe_partition()
        self.assertEqual(sorted(isr), [1, 2, 3], "step 5 needs the full ISR")
        target = 3 if leader != 3 else 2
        order = [target] + [n for n in (1, 2, 3) if n != target]
        path = os.path.join(CLUSTER_DIR, "reassign.json")
        with open(path, "w") as f:
            json.dump({"version": 1, "partitions": [{"topic": TOPIC, "partition": 0, "replicas": order}]}, f)
        t0 = time.monotonic()
        broker_sh("tool", CLUSTER_DIR, "org.apache.kafka.tools.reassign.ReassignPartitionsCommand",
                  "--bootstrap-server", BOOTSTRAP, "--reassignment-json-file", path, "--execute")
        wait_partition(lambda l, r, i: r == order, "replicas %s" % order)
        broker_sh("tool", CLUSTER_DIR, "org.apache.kafka.tools.LeaderElectionCommand",
                  "--bootstrap-server", BOOTSTRAP, "--election-type", "preferred",
                  "--topic", TOPIC, "--partition", "0")
        info = wait_partition(lambda l, r, i: l == target, "leader %d after the preferred election" % target)
        note("preferred election: leader %d -> %d in %.1f s, (leader, replicas, isr) = %r"
             % (leader, target, time.monotonic() - t0, info))
        self.first_requests("preferred election %d -> %d" % (leader, target))
        self.check_all_records(self.conn(), "after the election")
        produce("after-elect")
        self.check_all_records(self.conn(), "after producing to leader %d" % target)

    def test_6_sigterm_leader(self):
        leader, replicas, isr = describe_partition()
        self.assertEqual(sorted(isr), [1, 2, 3], "step 6 needs the full ISR")
        c = self.conn()
        # requests keep coming while the leader shuts down (controlled
        # shutdown moves leadership first, then the process exits)
        t0 = time.monotonic()
        proc = subprocess.Popen(["bash", BROKER_SH, "node-stop", CLUSTER_DIR, str(leader)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        State.stopped = leader
        during, bad = [], []
        try:
            self.run_async(asyncio.sleep(0.2))
            while proc.poll() is None and time.monotonic() - t0 < 60 * SCALE:
                for what, (r, took) in (("list_offset(-1)", self.list_offset(c, -1)),
                                        ("fetch(0)", self.fetch(c, 0))):
                    during.append(took)
                    if r.WhichOneof("resp") not in ("kafka_list_offset_resp", "kafka_fetch_resp"):
                        bad.append("%s at +%.2f s answered in %.2f s: %s"
                                   % (what, time.monotonic() - t0, took, describe(r)))
                self.run_async(asyncio.sleep(0.2))
        finally:
            out, _ = proc.communicate(timeout=60 * SCALE)
        self.assertEqual(proc.returncode, 0, "node-stop failed:\n" + out)
        note("SIGTERM: node %d stopped in %.2f s; %d requests meanwhile, slowest %.2f s, %d failed"
             % (leader, time.monotonic() - t0, len(during), max(during or [0]), len(bad)))
        for b in bad:
            note("  " + b)
        info = wait_partition(lambda l, r, i: l not in (-1, leader), "a new leader after SIGTERM", 10)
        note("after SIGTERM: (leader, replicas, isr) = %r" % (info,))
        try:
            self.first_requests("SIGTERM of leader %d" % leader)
            self.assertEqual(bad, [], "requests failed during the controlled shutdown of the leader")
        finally:
            # keep going for the next steps even if the answers above failed
            self.check_all_records(c, "after SIGTERM", retry_limit=REQUEST_TIMEOUT + 20)
        produce("after-term")
        self.check_all_records(c, "after producing to leader %d" % info[0])

    def test_7_fresh_connection(self):
        async def go():
            return await PubSubClient.connect(URL, PB, timeout=self.client_timeout())
        c = self.run_async(go())
        try:
            self.check_all_records(c, "fresh connection")
        finally:
            self.run_async(c.close())

    def test_8_first_connection_still_open(self):
        c = self.conn()
        self.assertIsNone(c.close_code, "the gateway closed the first connection")
        r, took = self.timed(c.ping(b"still-here"))
        self.assertEqual(r.WhichOneof("resp"), "pong_resp", describe(r))
        self.assertEqual(r.pong_resp.state, b"still-here")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], sys.modules[__name__], "kafkagate leader fail-over tests",
                  lambda: "# gateway %s, cluster %s (%s), topic %s, request timeout %g s, timeout scale %g"
                  % (URL, CLUSTER_DIR, BOOTSTRAP, TOPIC, REQUEST_TIMEOUT, SCALE),
                  classes=[Failover], names=False,
                  k_help="run only steps whose name contains SUBSTRING (later steps rely on earlier ones)"))
