#!/usr/bin/python3
"""kafkagate reloads its configuration on SIGHUP, tells systemd how it is
doing, and any instance serves any client.

- SIGHUP with a changed file: sessions on unchanged routes go on without a
  gap, sessions on removed or changed routes are closed with 1001, a new
  route serves at once, a removed one answers 404.
- A file that does not parse or check, or that moves a listener, leaves
  the running configuration as it is and says why.
- $NOTIFY_SOCKET gets READY=1, RELOADING=1 (with MONOTONIC_USEC), READY=1
  and STOPPING=1, as systemd's Type=notify wants.
- Two gateways on the same cluster: a client reading half a topic from one
  and the rest from the other gets every record once, in order.

Run by tests/integration/run.sh against its broker (KAFKAGATE_BOOTSTRAP);
starts its own gateways (KAFKAGATE_BIN).
"""

import asyncio
import os
import signal
import socket
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import RespAsserts, main  # noqa: E402
from pubsub_client import PubSubClient  # noqa: E402
from gateway import (BIN, BOOTSTRAP, SCALE, Gateway, confluent_kafka,  # noqa: E402
                     config, free_port, make_topic, read_some, refused_port)

PB = None
IN_CI = os.environ.get("CI", "") not in ("", "0", "false")
RECORDS = 200


def note(fmt, *args):
    print("#   " + (fmt % args if args else fmt), flush=True)


class Reload(RespAsserts, unittest.IsolatedAsyncioTestCase):

    def setUp(self):
        if not BIN or not BOOTSTRAP:
            self.skipTest("needs KAFKAGATE_BIN and KAFKAGATE_BOOTSTRAP")
        if confluent_kafka is None:
            if IN_CI:
                self.fail("python3-confluent-kafka is missing")
            self.skipTest("python3-confluent-kafka is missing")
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    async def test_routes_change_on_sighup(self):
        topic = await asyncio.to_thread(make_topic, RECORDS, "reload-")
        dead = "127.0.0.1:%d" % refused_port()
        gw = Gateway(self.dir.name, "reload", [("/a", [BOOTSTRAP]), ("/b", [BOOTSTRAP]),
                                               ("/c", [BOOTSTRAP])])
        try:
            a = await PubSubClient.connect(gw.url("/a"), PB)
            b = await PubSubClient.connect(gw.url("/b"), PB)
            c = await PubSubClient.connect(gw.url("/c"), PB)
            oa = await read_some(self, a, topic, 0, 50)
            await read_some(self, b, topic, 0, 10)
            await read_some(self, c, topic, 0, 10)

            # /a unchanged, /b removed, /c to other brokers, /d new.
            gw.write([("/a", [BOOTSTRAP]), ("/c", [dead]), ("/d", [BOOTSTRAP])])
            await gw.hup("reloaded")
            self.assertIn("2 sessions on removed or changed routes closed", gw.text())
            for name, s in (("/b", b), ("/c", c)):
                try:
                    await asyncio.wait_for(s.ws.wait_closed(), 10 * SCALE)
                except asyncio.TimeoutError:
                    self.fail("the session on %s was not closed" % name)
                self.assertEqual(s.ws.close_code, 1001, name)
            # /a goes on where it was, without a gap.
            oa = await read_some(self, a, topic, oa, 50)
            d = await PubSubClient.connect(gw.url("/d"), PB)
            await read_some(self, d, topic, 0, 10)
            # /b is gone: 404 at the upgrade.
            with self.assertRaises(Exception) as cm:
                await PubSubClient.connect(gw.url("/b"), PB)
            self.assertIn("404", str(cm.exception))
            # /c now points at nothing: a fetch fails (1001), quickly.
            c2 = await PubSubClient.connect(gw.url("/c"), PB)
            r = await c2.fetch(topic, 0, 0, timeout=30 * SCALE)
            self.assertKind(r, "error_resp")

            # A file that does not parse: the running configuration stays.
            gw.write_raw("listen: [\n")
            await gw.hup("the running configuration stays")
            oa = await read_some(self, a, topic, oa, 20)
            await read_some(self, d, topic, 10, 10)
            # Nor one that fails the checks (a route without brokers).
            gw.write_raw(config(gw.port, []).replace("routes:\n", "routes: [{uri: /x}]\n"))
            await gw.hup("the running configuration stays")
            # Nor one that moves the listener.
            gw.write([("/a", [BOOTSTRAP])], port=free_port())
            await gw.hup("the running configuration stays")
            self.assertIn("the listen addresses changed", gw.text())
            oa = await read_some(self, a, topic, oa, 20)
            # Limits change for new sessions: 3 open, max_sessions 3 -> 503.
            gw.write([("/a", [BOOTSTRAP]), ("/c", [dead]), ("/d", [BOOTSTRAP])],
                     extra="max_sessions: 3\n")
            await gw.hup("reloaded")
            self.assertIn("0 sessions on removed or changed routes closed", gw.text())
            await read_some(self, a, topic, oa, 10)
            try:
                extra = await PubSubClient.connect(gw.url("/a"), PB)
                await extra.close()
                self.fail("a fourth session with max_sessions 3: %s" % gw.text()[-3000:])
            except Exception as e:  # noqa: BLE001
                self.assertIn("503", str(e))
            for s in (a, d, c2):
                await s.close()
        finally:
            gw.stop(self)
        note("reloads logged: %d", gw.text().count("received SIGHUP"))

    async def test_notify_socket(self):
        path = os.path.join(self.dir.name, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(10 * SCALE)
        try:
            gw = Gateway(self.dir.name, "notify", [("/a", [BOOTSTRAP])],
                         env={"NOTIFY_SOCKET": path})
            self.assertEqual(sock.recv(4096), b"READY=1")
            gw.proc.send_signal(signal.SIGHUP)
            msg = sock.recv(4096).decode()
            self.assertTrue(msg.startswith("RELOADING=1\nMONOTONIC_USEC="), msg)
            usec = int(msg.split("=")[-1])
            self.assertLess(abs(usec / 1e6 - time.clock_gettime(time.CLOCK_MONOTONIC)), 30)
            self.assertEqual(sock.recv(4096), b"READY=1")
            # A failed reload still ends with READY=1.
            gw.write_raw("routes: [\n")
            gw.proc.send_signal(signal.SIGHUP)
            self.assertTrue(sock.recv(4096).startswith(b"RELOADING=1"))
            self.assertEqual(sock.recv(4096), b"READY=1")
            gw.proc.send_signal(signal.SIGTERM)
            self.assertEqual(sock.recv(4096), b"STOPPING=1")
            gw.stop(self)
        finally:
            sock.close()

    async def test_clients_move_between_instances(self):
        topic = await asyncio.to_thread(make_topic, RECORDS, "reload-")
        g1 = Gateway(self.dir.name, "one", [("/kafka", [BOOTSTRAP])])
        g2 = Gateway(self.dir.name, "two", [("/kafka", [BOOTSTRAP])])
        try:
            offset, hops = 0, 0
            while offset < RECORDS:
                gw = (g1, g2)[hops % 2]
                async with await PubSubClient.connect(gw.url("/kafka"), PB) as c:
                    offset = await read_some(self, c, topic, offset,
                                             min(37, RECORDS - offset))
                hops += 1
            self.assertEqual(offset, RECORDS)
            note("%d records read in %d hops between two gateways", RECORDS, hops)
        finally:
            g1.stop(self)
            g2.stop(self)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], sys.modules[__name__], "kafkagate reload tests",
                  lambda: "# kafkagate %s, broker %s" % (BIN, BOOTSTRAP)))
