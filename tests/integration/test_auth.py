#!/usr/bin/python3
"""Who may read what: consumers and routes as APISIX writes them (key-auth,
jwt-auth), our topic permissions, Origin checks and per-consumer limits,
on the real daemon against the real broker.

- key-auth by header, query and subprotocol (the one echoed as RFC 6455
  requires); a wrong or missing key is 401, before any upgrade.
- jwt-auth with HS256 and RS256 tokens by header, query, cookie and
  subprotocol; expired, not yet valid, wrong signature, alg "none",
  algorithm confusion (an HS256 token keyed with the RS256 public key)
  and an unknown key are refused.
- topic patterns allow and deny each command; a denied command is
  error_resp 29 in APISIX's message format and the broker is never asked
  (the admin endpoint's Kafka request counters do not move).
- Origin accepted and refused; max_connections of a consumer (429).
- a token expiring on an open session closes it with 1008.
- SIGHUP reloading consumers: a removed consumer's session is closed, a
  new one is let in.

Run by tests/integration/run.sh against its broker (KAFKAGATE_BOOTSTRAP);
starts its own gateways (KAFKAGATE_BIN).  Tokens are made here with the
standard library (HMAC) and openssl (RSA).
"""

import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import RespAsserts, main  # noqa: E402
from pubsub_client import PubSubClient  # noqa: E402
from gateway import (BIN, BOOTSTRAP, SCALE, Gateway, confluent_kafka,  # noqa: E402
                     free_port, make_topic)

PB = None
IN_CI = os.environ.get("CI", "") not in ("", "0", "false")


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token(payload, secret=None, alg="HS256", key_file=None, header=None):
    h = header or {"alg": alg, "typ": "JWT"}
    signing = b64u(json.dumps(h).encode()) + "." + b64u(json.dumps(payload).encode())
    if alg == "none":
        return signing + "."
    if alg == "HS256":
        sig = hmac.new(secret, signing.encode(), hashlib.sha256).digest()
    else:
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key_file],
                             input=signing.encode(), capture_output=True, check=True).stdout
    return signing + "." + b64u(sig)


CONFIG = """
listen: ["127.0.0.1:{port}"]
admin_listen: "127.0.0.1:{admin}"
consumers:
  - username: alice
    plugins:
      key-auth:
        key: alice-key
    kafkagate:
      allow:
        fetch: ["{topic}", "other-*"]
        list_offset: ["other-*"]
      max_connections: 2
  - username: bob
    plugins:
      jwt-auth:
        key: bob-key
        secret: bob-secret
  - username: rita
    plugins:
      jwt-auth:
        key: rita-key
        algorithm: RS256
        public_key_file: {pub}
{extra}routes:
  - uri: /key
    plugins:
      key-auth: {{}}
    upstream:
      nodes:
        "{bootstrap}": 1
  - uri: /jwt
    plugins:
      jwt-auth: {{}}
    kafkagate:
      origins: ["https://app.example.com", "*.example.org"]
    upstream:
      nodes:
        "{bootstrap}": 1
  - uri: /open
    kafkagate:
      allow: ["public-*"]
    upstream:
      nodes:
        "{bootstrap}": 1
"""

EXTRA_CAROL = """  - username: carol
    plugins:
      key-auth:
        key: carol-key
"""


# An APISIX apisix.yaml's consumers and routes, nothing of ours.
APISIX = """
consumers:
  -
    username: jack
    plugins:
      key-auth:
        key: auth-one
  -
    username: jill
    plugins:
      jwt-auth:
        key: user-key
        secret: my-secret-key
routes:
  -
    id: 1
    uri: /kafka-key
    plugins:
      key-auth: {}
    upstream:
      nodes:
        "{bootstrap}": 1
      type: none
      scheme: kafka
  -
    id: 2
    uri: /kafka-jwt
    plugins:
      jwt-auth: {}
    upstream:
      nodes:
        "{bootstrap}": 1
      type: none
      scheme: kafka
#END
"""


class Auth(RespAsserts, unittest.IsolatedAsyncioTestCase):

    def setUp(self):
        if not BIN or not BOOTSTRAP:
            self.skipTest("needs KAFKAGATE_BIN and KAFKAGATE_BOOTSTRAP")
        if confluent_kafka is None:
            if IN_CI:
                self.fail("python3-confluent-kafka is missing")
            self.skipTest("python3-confluent-kafka is missing")
        self.dir = tempfile.TemporaryDirectory()
        d = self.dir.name
        self.key = os.path.join(d, "rita.key")
        self.pub = os.path.join(d, "rita.pub")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", self.key], check=True,
                       capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", self.key, "-pubout", "-out", self.pub],
                       check=True, capture_output=True)
        self.topic = make_topic(20, "auth-")
        self.admin = free_port()

    def tearDown(self):
        self.dir.cleanup()

    def text(self, extra=""):
        return (CONFIG.replace("{admin}", str(self.admin)).replace("{pub}", self.pub)
                .replace("{topic}", self.topic).replace("{bootstrap}", BOOTSTRAP)
                .replace("{extra}", extra).replace("{{}}", "{}"))

    def kafka_requests(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.admin, timeout=10) as f:
            text = f.read().decode()
        return sum(float(m.group(1)) for m in
                   re.finditer(r'^kafkagate_kafka_requests_total\{[^}]*\} (\S+)$', text, re.M))

    async def refused(self, url, status, **kw):
        try:
            c = await PubSubClient.connect(url, PB, **kw)
        except Exception as e:  # noqa: BLE001
            self.assertIn(str(status), str(e))
            return
        await c.close()
        self.fail("%s: connected, expected %d" % (url, status))

    async def fetch_ok(self, c, topic=None):
        r = await c.fetch(topic or self.topic, 0, 0)
        self.assertKind(r, "kafka_fetch_resp")
        self.assertGreater(len(r.kafka_fetch_resp.messages), 0)

    async def test_key_auth(self):
        gw = Gateway(self.dir.name, "key", None, text=self.text())
        try:
            url = gw.url("/key")
            c = await PubSubClient.connect(url, PB, extra_headers={"apikey": "alice-key"})
            await self.fetch_ok(c)
            await c.close()
            c = await PubSubClient.connect(url + "?apikey=alice-key", PB)
            await self.fetch_ok(c)
            await c.close()
            # The subprotocol form; "kafkagate" offered too is what comes back.
            proto = "apikey." + b64u(b"alice-key")
            c = await PubSubClient.connect(url, PB, subprotocols=[proto])
            self.assertEqual(c.ws.subprotocol, proto)
            await c.close()
            c = await PubSubClient.connect(url, PB, subprotocols=["kafkagate", proto])
            self.assertEqual(c.ws.subprotocol, "kafkagate")
            await self.fetch_ok(c)
            await c.close()
            await self.refused(url, 401)
            await self.refused(url, 401, extra_headers={"apikey": "alice-keY"})
            await self.refused(url + "?apikey=wrong", 401)
            # The query string never reaches the log.
            self.assertNotIn("alice-key", gw.text())
            self.assertIn("refused with 401: invalid API key", gw.text())
        finally:
            gw.stop(self)

    async def test_permissions(self):
        gw = Gateway(self.dir.name, "acl", None, text=self.text())
        try:
            c = await PubSubClient.connect(gw.url("/key"), PB,
                                           extra_headers={"apikey": "alice-key"})
            # Denials first: nothing else has asked Kafka anything yet
            # (a fetch would leave the partition's reader polling).
            before = self.kafka_requests()
            r = await c.fetch("payroll", 0, 0)
            self.assertKind(r, "error_resp")
            self.assertEqual(r.error_resp.code, 29)
            self.assertEqual(r.error_resp.message, "failed to fetch message, topic: payroll, "
                             "partition: 0, err: Topic authorization failed")
            r = await c.list_offset(self.topic, 0, -1)
            self.assertKind(r, "error_resp")
            self.assertEqual(r.error_resp.code, 29)
            self.assertIn("failed to list offset, topic: %s" % self.topic, r.error_resp.message)
            self.assertEqual(self.kafka_requests(), before, "a denied command reached Kafka")
            self.assertIn("consumer alice: fetch of topic payroll denied", gw.text())
            await self.fetch_ok(c)
            # A route allow-list without consumers.
            o = await PubSubClient.connect(gw.url("/open"), PB)
            r = await o.fetch(self.topic, 0, 0)
            self.assertEqual(r.error_resp.code, 29)
            r = await o.list_offset("public-nothing", 0, -1)
            self.assertKind(r, "error_resp")
            self.assertNotEqual(r.error_resp.code, 29)     # allowed: Kafka's own answer
            # max_connections 2 for alice: a third is 429.
            c2 = await PubSubClient.connect(gw.url("/key"), PB,
                                            extra_headers={"apikey": "alice-key"})
            await self.refused(gw.url("/key"), 429, extra_headers={"apikey": "alice-key"})
            await c2.close()
            await asyncio.sleep(0.2)
            c3 = await PubSubClient.connect(gw.url("/key"), PB,
                                            extra_headers={"apikey": "alice-key"})
            for s in (c, c3, o):
                await s.close()
        finally:
            gw.stop(self)

    async def test_jwt_auth(self):
        gw = Gateway(self.dir.name, "jwt", None, text=self.text())
        try:
            url = gw.url("/jwt")
            now = int(time.time())
            good = token({"key": "bob-key", "exp": now + 600}, b"bob-secret")
            c = await PubSubClient.connect(url, PB, extra_headers={"Authorization":
                                                                   "Bearer " + good})
            await self.fetch_ok(c)
            await c.close()
            for kw in ({"extra_headers": {"Cookie": "x=1; jwt=" + good}},
                       {"subprotocols": ["kafkagate", "jwt." + good]}):
                c = await PubSubClient.connect(url, PB, **kw)
                await self.fetch_ok(c)
                await c.close()
            c = await PubSubClient.connect(url + "?jwt=" + good, PB)
            await c.close()
            rsa = token({"key": "rita-key", "exp": now + 600}, alg="RS256", key_file=self.key)
            c = await PubSubClient.connect(url + "?jwt=" + rsa, PB)
            await self.fetch_ok(c)
            await c.close()
            with open(self.pub, "rb") as f:
                pem = f.read()
            bad = {
                "expired": token({"key": "bob-key", "exp": now - 10}, b"bob-secret"),
                "not yet valid": token({"key": "bob-key", "nbf": now + 600}, b"bob-secret"),
                "wrong signature": token({"key": "bob-key"}, b"not-bob-secret"),
                "alg none": token({"key": "bob-key"}, alg="none",
                                  header={"alg": "none", "typ": "JWT"}),
                "confusion": token({"key": "rita-key"}, pem),
                "unknown key": token({"key": "nobody"}, b"bob-secret"),
                "garbage": "a.b.c",
            }
            for name, t in bad.items():
                with self.subTest(name):
                    await self.refused(url + "?jwt=" + t, 401)
            await self.refused(url, 401)
            # Origin: allowed, a subdomain, refused; none (not a browser) is fine.
            ok = {"Authorization": good}
            for origin, status in (("https://app.example.com", 0), ("https://x.example.org", 0),
                                   ("https://evil.example.com", 403), ("null", 403)):
                h = dict(ok, Origin=origin)
                if status:
                    await self.refused(url, status, extra_headers=h)
                else:
                    c = await PubSubClient.connect(url, PB, extra_headers=h)
                    await c.close()
            self.assertNotIn(good, gw.text())
            self.assertNotIn("bob-secret", gw.text())
        finally:
            gw.stop(self)

    async def test_apisix_file_as_is(self):
        text = "listen: [\"127.0.0.1:{port}\"]\n" + APISIX.replace("{bootstrap}", BOOTSTRAP)
        gw = Gateway(self.dir.name, "apisix", None, text=text)
        try:
            c = await PubSubClient.connect(gw.url("/kafka-key"), PB,
                                           extra_headers={"apikey": "auth-one"})
            await self.fetch_ok(c)
            await c.close()
            await self.refused(gw.url("/kafka-key"), 401, extra_headers={"apikey": "auth-two"})
            t = token({"key": "user-key", "exp": int(time.time()) + 60}, b"my-secret-key")
            c = await PubSubClient.connect(gw.url("/kafka-jwt"), PB,
                                           extra_headers={"Authorization": t})
            await self.fetch_ok(c)
            await c.close()
            await self.refused(gw.url("/kafka-jwt"), 401)
        finally:
            gw.stop(self)

    async def test_reload_tightens(self):
        gw = Gateway(self.dir.name, "tight", None, text=self.text())
        try:
            t = token({"key": "bob-key", "exp": int(time.time()) + 600}, b"bob-secret")
            bob = await PubSubClient.connect(gw.url("/jwt"), PB,
                                             extra_headers={"Authorization": t})
            alice = await PubSubClient.connect(gw.url("/key"), PB,
                                               extra_headers={"apikey": "alice-key"})
            opened = await PubSubClient.connect(gw.url("/open"), PB)
            # bob's secret rotated, /key now wants origins: both closed;
            # /open did not change.
            text = self.text().replace("secret: bob-secret", "secret: bob-rotated")
            text = text.replace("      key-auth: {}\n",
                                "      key-auth: {}\n    kafkagate:\n"
                                "      origins: [\"https://app.example.com\"]\n", 1)
            gw.write_raw(text.replace("{port}", str(gw.port)))
            await gw.hup("reloaded")
            for s in (bob, alice):
                await asyncio.wait_for(s.ws.wait_closed(), 10 * SCALE)
                self.assertEqual(s.ws.close_code, 1001)
            r = await opened.ping(b"still")
            self.assertEqual(r.WhichOneof("resp"), "pong_resp")
            await self.refused(gw.url("/jwt") + "?jwt=" + t, 401)
            await opened.close()
        finally:
            gw.stop(self)

    async def test_failed_attempts_budget(self):
        gw = Gateway(self.dir.name, "guess", None, text=self.text())
        try:
            url = gw.url("/key")
            for i in range(20):
                await self.refused(url, 401, extra_headers={"apikey": "guess-%d" % i})
            # Out of failures: 429 without the key being looked at.
            await self.refused(url, 429, extra_headers={"apikey": "guess-x"})
            await self.refused(url, 429, extra_headers={"apikey": "alice-key"})
            self.assertIn("too many failed attempts from this address", gw.text())
            await asyncio.sleep(1.0)          # 5 a second come back
            c = await PubSubClient.connect(url, PB, extra_headers={"apikey": "alice-key"})
            await c.close()
        finally:
            gw.stop(self)

    async def test_quotas(self):
        text = ("listen: [\"127.0.0.1:{port}\"]\n%s\nroutes:\n  - uri: /q\n"
                "    upstream:\n      nodes:\n        \"" + BOOTSTRAP + "\": 1\n")
        gw = Gateway(self.dir.name, "quota", None, text=text % "max_commands_per_second: 5")
        gb = Gateway(self.dir.name, "quota-bytes", None,
                     text=text % "max_bytes_per_second: 20000")
        try:
            c = await PubSubClient.connect(gw.url("/q"), PB)
            # Commands: a second's worth at once, the rest refused with 1105.
            for i in range(8):
                await c.send_req(c.req_ping(b"x", seq=i))
            kinds = []
            for i in range(8):
                r = await c.recv_resp()
                self.assertEqual(r.sequence, i)
                kinds.append(r.WhichOneof("resp"))
                if kinds[-1] == "error_resp":
                    self.assertEqual(r.error_resp.code, 1105)
            self.assertEqual(kinds.count("pong_resp"), 5, kinds)
            # Bytes: 10 answers of 10 kB at 20 kB/s after a 64 KiB burst:
            # the last ones wait, none is lost.
            c2 = await PubSubClient.connect(gb.url("/q"), PB)
            t0 = time.monotonic()
            for i in range(5):
                await c2.send_req(c2.req_ping(os.urandom(10000), seq=i))
            for i in range(5):
                r = await c2.recv_resp(timeout=20 * SCALE)
                self.assertEqual(r.WhichOneof("resp"), "pong_resp")
            await asyncio.sleep(0.2)
            for i in range(5, 10):
                await c2.send_req(c2.req_ping(os.urandom(10000), seq=i))
                r = await c2.recv_resp(timeout=20 * SCALE)
                self.assertEqual(r.WhichOneof("resp"), "pong_resp")
            took = time.monotonic() - t0
            self.assertGreater(took, 1.0, "100 kB at 20 kB/s after a 64 KiB burst")
            for s in (c, c2):
                await s.close()
        finally:
            gw.stop(self)
            gb.stop(self)

    async def test_token_expires_on_open_session(self):
        gw = Gateway(self.dir.name, "exp", None, text=self.text())
        try:
            t = token({"key": "bob-key", "exp": int(time.time()) + 2}, b"bob-secret")
            c = await PubSubClient.connect(gw.url("/jwt"), PB,
                                           extra_headers={"Authorization": t})
            await self.fetch_ok(c)
            await asyncio.wait_for(c.ws.wait_closed(), 10 * SCALE)
            self.assertEqual(c.ws.close_code, 1008)
            self.assertEqual(c.ws.close_reason, "credentials expired")
        finally:
            gw.stop(self)

    async def test_reload_consumers(self):
        gw = Gateway(self.dir.name, "hup", None, text=self.text(EXTRA_CAROL))
        try:
            carol = await PubSubClient.connect(gw.url("/key"), PB,
                                               extra_headers={"apikey": "carol-key"})
            alice = await PubSubClient.connect(gw.url("/key"), PB,
                                               extra_headers={"apikey": "alice-key"})
            await self.fetch_ok(carol)
            # carol goes, dave comes.
            gw.write_raw(self.text(EXTRA_CAROL.replace("carol", "dave")).replace(
                "{port}", str(gw.port)))
            await gw.hup("reloaded")
            await asyncio.wait_for(carol.ws.wait_closed(), 10 * SCALE)
            self.assertEqual(carol.ws.close_code, 1001)
            await self.fetch_ok(alice)
            await self.refused(gw.url("/key"), 401, extra_headers={"apikey": "carol-key"})
            dave = await PubSubClient.connect(gw.url("/key"), PB,
                                              extra_headers={"apikey": "dave-key"})
            await self.fetch_ok(dave)
            # alice's limit still counts her open session after the reload.
            a2 = await PubSubClient.connect(gw.url("/key"), PB,
                                            extra_headers={"apikey": "alice-key"})
            await self.refused(gw.url("/key"), 429, extra_headers={"apikey": "alice-key"})
            for s in (alice, a2, dave):
                await s.close()
        finally:
            gw.stop(self)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], sys.modules[__name__], "kafkagate authentication tests",
                  lambda: "# kafkagate %s, broker %s" % (BIN, BOOTSTRAP)))
