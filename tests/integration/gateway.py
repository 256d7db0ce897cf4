"""gateway.py -- a kafkagate of a test's own, from a configuration file,
and the small helpers the tests that start one share (test_reload.py,
test_auth.py).  Environment: KAFKAGATE_BIN, KAFKAGATE_BOOTSTRAP,
KAFKAGATE_WRAPPER, KAFKAGATE_TIMEOUT_SCALE as for run.sh.
"""

import asyncio
import os
import shlex
import signal
import socket
import subprocess
import time
import uuid

from pubsub_client import timeout_scale

try:
    import confluent_kafka
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError:  # pragma: no cover
    confluent_kafka = None

SCALE = timeout_scale()
BIN = os.environ.get("KAFKAGATE_BIN")
BOOTSTRAP = os.environ.get("KAFKAGATE_BOOTSTRAP")
WRAPPER = shlex.split(os.environ.get("KAFKAGATE_WRAPPER", ""))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def refused_port():
    return free_port()


def make_topic(n, prefix="t-"):
    name = prefix + uuid.uuid4().hex[:8]
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    admin.create_topics([NewTopic(name, 1, 1)])[name].result(30 * SCALE)
    p = confluent_kafka.Producer({"bootstrap.servers": BOOTSTRAP})
    for i in range(n):
        p.produce(name, value=b"record %d" % i, partition=0)
    p.flush(30 * SCALE)
    return name


def config(port, routes, extra=""):
    text = "listen: [\"127.0.0.1:%d\"]\n%sroutes:\n" % (port, extra)
    for uri, nodes in routes:
        text += "  - uri: %s\n    upstream:\n      nodes:\n" % uri
        for n in nodes:
            text += "        \"%s\": 1\n" % n
    return text


class Gateway:
    """kafkagate -c FILE on a free port, its log in a file."""

    def __init__(self, d, name, routes, env=None, extra="", text=None):
        """routes: [(uri, [nodes])] for config(); or the whole file as
        text, with {port} for the listener's port."""
        self.port = free_port()
        self.file = os.path.join(d, name + ".yaml")
        if text is not None:
            self.write_raw(text.replace("{port}", str(self.port)))
        else:
            self.write(routes, extra)
        self.log = os.path.join(d, name + ".log")
        self.logf = open(self.log, "wb")
        self.proc = subprocess.Popen(WRAPPER + [BIN, "-c", self.file, "-v"], stdout=self.logf,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=dict(os.environ, **(env or {})))
        deadline = time.monotonic() + 20 * SCALE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited: %s" % (name, self.text()[-2000:]))
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("%s does not listen" % name)

    def write(self, routes, extra="", port=None):
        with open(self.file + ".new", "w") as f:
            f.write(config(port or self.port, routes, extra))
        os.replace(self.file + ".new", self.file)

    def write_raw(self, text):
        with open(self.file, "w") as f:
            f.write(text)

    def url(self, path):
        return "ws://127.0.0.1:%d%s" % (self.port, path)

    def text(self):
        if not self.logf.closed:
            self.logf.flush()
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    async def hup(self, expect):
        """SIGHUP, then wait for the line that says how it went."""
        n = self.text().count(expect)
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10 * SCALE
        while self.text().count(expect) == n:
            if time.monotonic() > deadline:
                raise AssertionError("no %r after SIGHUP: %s" % (expect, self.text()[-1500:]))
            await asyncio.sleep(0.05)

    def stop(self, test):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(15 * SCALE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = "hung"
        self.logf.close()
        log = self.text()
        test.assertNotIn("Sanitizer", log, log[-3000:])
        test.assertNotIn("runtime error", log, log[-3000:])
        test.assertEqual(rc, 0, log[-2000:])


async def read_some(test, c, topic, offset, n):
    """Fetch from offset until n more records came; the next offset."""
    end = offset + n
    while offset < end:
        r = await c.fetch(topic, 0, offset)
        test.assertKind(r, "kafka_fetch_resp")
        for m in r.kafka_fetch_resp.messages:
            test.assertEqual(m.offset, offset, "a gap or a repeat")
            test.assertEqual(m.value, b"record %d" % offset)
            offset += 1
            if offset == end:
                break
    return offset
