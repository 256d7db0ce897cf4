#!/usr/bin/python3
"""kafkagate integration tests: TLS, SASL (PLAIN, SCRAM, OAUTHBEARER), mTLS,
re-authentication and wss://
against a real Kafka broker (tests/broker/kafka-broker.sh, KAFKA_SECURE=1).

tests/integration/security.sh starts the broker and one gateway per case and
describes them in environment variables:

  KAFKAGATE_SEC_GATEWAYS   a file of lines "CASE<TAB>URL<TAB>LOG<TAB>STATE<TAB>PID",
                           STATE "up", or "dead..." when the gateway exited at
                           start (its tests then fail with the log's tail)
  KAFKAGATE_SEC_CERTS      the certificate directory (tests/broker/certs.sh)
  KAFKAGATE_SEC_LISTENERS  the broker's listeners file ("NAME host:port")
  KAFKAGATE_REAUTH_MS      the REAUTH listener's connections.max.reauth.ms
  KAFKAGATE_REQUEST_TIMEOUT  the gateways' --request-timeout (seconds)
  KAFKAGATE_PROTO, KAFKAGATE_TIMEOUT_SCALE   as for test_pubsub.py

The cases (security.sh's table; listeners as in kafka-broker.sh):

  tls-noverify  SSLSELF         --kafka-tls --kafka-tls-no-verify   kafka.t TEST 5
  tlsv          SSLSELF         --kafka-tls (no CA)                 kafka.t TEST 6
  tlsv-pinned   SSLSELF         --kafka-tls --kafka-ca self.pem
  tls-ca        SSL             --kafka-tls --kafka-ca ca.pem
  tls-wrong-ca  SSL             --kafka-tls --kafka-ca other-ca.pem
  sasl-plain    SASL_PLAINTEXT  PLAIN admin, password file ending in a newline  TEST 7
  sasl-plain-bad SASL_PLAINTEXT PLAIN admin, wrong password
  scram-256     SASL_PLAINTEXT  SCRAM-SHA-256 carol, password file without newline
  scram-512     SASL_PLAINTEXT  SCRAM-SHA-512 dave, KAFKAGATE_SASL_PASSWORD
  scram-bad     SASL_PLAINTEXT  SCRAM-SHA-512 alice, wrong password
  sasl-ssl      SASL_SSL        --kafka-tls --kafka-ca ca.pem, SCRAM-SHA-512 alice
  mtls          MTLS            --kafka-tls --kafka-ca ca.pem --kafka-cert/--kafka-key client
  mtls-nocert   MTLS            --kafka-tls --kafka-ca ca.pem
  reauth-plain  REAUTH          PLAIN alice
  reauth-scram  REAUTH          SCRAM-SHA-256 alice
  wss           PLAINTEXT       --tls-cert gateway.pem --tls-key gateway.key
  oauth         OAUTH           OAUTHBEARER, unsecured JWS sub=admin, exp in 1 h
  oauth-expired OAUTH           OAUTHBEARER, unsecured JWS whose exp has passed
  oauth-garbage OAUTH           OAUTHBEARER, a b64token that is no JWS
  oauth-malformed OAUTH         OAUTHBEARER, '=' inside the token (no b64token):
                                Kafka's client-first message parser refuses it
  oauth-short   OAUTH           OAUTHBEARER, a JWS whose exp is 25 s (scaled)
                                after the gateways start
  oauth-rotate  OAUTH           OAUTHBEARER, its token file (secrets/rotate.jwt)
                                starts expired; the test renames new tokens over it

Usage: test_security.py [-v] [-k SUBSTRING]... [TestClass[.test_name]]...
Prints one line per test and a last line "N passed, M failed" (a skipped
test counts as failed: every case must run).

Also a raw Kafka SASL probe (stdlib only, independent of librdkafka, whose
SCRAM before 2.6.1 fails against Kafka 4.x), used by security.sh --broker-only:

  test_security.py --probe HOST:PORT MECHANISM USER PASSWORD [--tls CAFILE|none]
                   [--expire]
prints "ok session_lifetime_ms=N" (exit 0) or "error CODE MESSAGE" (exit 1);
--expire then sleeps past the session lifetime and reports whether the broker
closed the connection on the next request ("closed-after-expiry").  For
OAUTHBEARER, USER is "-" and PASSWORD the token; a JSON error from the broker
is printed as "challenge JSON" and answered with 0x01 (RFC 7628 3.2.3), after
which the broker fails the exchange ("error 58 ...").

  test_security.py --jwt SUB SECONDS
prints an unsecured JWS (RFC 7515 header {"alg":"none"}, empty signature) for
Kafka's default OAUTHBEARER validator: claims sub=SUB and exp = now + SECONDS
(negative: expired), iat = exp - 2 h when expired (exp must follow iat), now
otherwise.
"""

import asyncio
import base64
import hashlib
import hmac
import os
import re
import socket
import ssl
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# --- a raw Kafka SASL client (no gateway involved) ---------------------------


class KafkaProbeError(Exception):
    def __init__(self, code, message):
        super().__init__("error %d %s" % (code, message))
        self.code = code
        self.message = message


class RawKafka:
    """Just enough of the Kafka protocol to authenticate: SaslHandshake v1,
    SaslAuthenticate v1 (non-flexible, response header v0), ApiVersions v0."""

    def __init__(self, host, port, cafile=None, tls=False, timeout=10.0):
        s = socket.create_connection((host, port), timeout)
        if tls:
            ctx = ssl.create_default_context(cafile=cafile) if cafile else ssl._create_unverified_context()
            s = ctx.wrap_socket(s, server_hostname=host)
        self.s = s
        self.corr = 0

    def close(self):
        self.s.close()

    @staticmethod
    def _str(v):
        b = v.encode()
        return struct.pack(">h", len(b)) + b

    def _recv_exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.s.recv(n - len(out))
            if not chunk:
                raise ConnectionError("the broker closed the connection")
            out += chunk
        return out

    def request(self, key, version, body):
        self.corr += 1
        hdr = struct.pack(">hhi", key, version, self.corr) + self._str("kafkagate-test-probe")
        msg = hdr + body
        self.s.sendall(struct.pack(">i", len(msg)) + msg)
        n = struct.unpack(">i", self._recv_exact(4))[0]
        resp = self._recv_exact(n)
        corr = struct.unpack(">i", resp[:4])[0]
        if corr != self.corr:
            raise ConnectionError("correlation id %d, expected %d" % (corr, self.corr))
        return resp[4:]

    def api_versions(self):
        r = self.request(18, 0, b"")
        return struct.unpack(">h", r[:2])[0]

    def handshake(self, mechanism):
        r = self.request(17, 1, self._str(mechanism))
        err = struct.unpack(">h", r[:2])[0]
        if err:
            raise KafkaProbeError(err, "SaslHandshake: mechanism %s not enabled" % mechanism)

    def authenticate(self, data):
        r = self.request(36, 1, struct.pack(">i", len(data)) + data)
        err, = struct.unpack(">h", r[:2])
        pos = 2
        mlen, = struct.unpack(">h", r[pos:pos + 2])
        pos += 2
        msg = ""
        if mlen >= 0:
            msg = r[pos:pos + mlen].decode(errors="replace")
            pos += mlen
        blen, = struct.unpack(">i", r[pos:pos + 4])
        pos += 4
        auth = r[pos:pos + max(blen, 0)]
        pos += max(blen, 0)
        lifetime, = struct.unpack(">q", r[pos:pos + 8])
        if err:
            raise KafkaProbeError(err, msg)
        return auth, lifetime

    def login(self, mechanism, user, password):
        """Authenticate; returns the session lifetime in ms (0: none).
        OAUTHBEARER: PASSWORD is the token; a broker's JSON error lands in
        self.challenges before the exchange fails."""
        self.challenges = []
        self.handshake(mechanism)
        if mechanism == "OAUTHBEARER":
            out, lifetime = self.authenticate(b"n,,\x01auth=Bearer " + password.encode() + b"\x01\x01")
            if out:
                self.challenges.append(out.decode(errors="replace"))
                self.authenticate(b"\x01")
                raise KafkaProbeError(-1, "the broker accepted 0x01 after its error %r" % out)
            return lifetime
        if mechanism == "PLAIN":
            _, lifetime = self.authenticate(b"\0" + user.encode() + b"\0" + password.encode())
            return lifetime
        h = {"SCRAM-SHA-256": hashlib.sha256, "SCRAM-SHA-512": hashlib.sha512}[mechanism]
        nonce = base64.b64encode(os.urandom(18)).decode()
        uname = user.replace("=", "=3D").replace(",", "=2C")
        first_bare = "n=%s,r=%s" % (uname, nonce)
        server_first, _ = self.authenticate(("n,," + first_bare).encode())
        attrs = dict(kv.split("=", 1) for kv in server_first.decode().split(","))
        if not attrs["r"].startswith(nonce):
            raise KafkaProbeError(-1, "server nonce does not extend ours")
        salted = hashlib.pbkdf2_hmac(h().name, password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", h).digest()
        stored_key = h(client_key).digest()
        final_bare = "c=biws,r=%s" % attrs["r"]
        auth_msg = ",".join((first_bare, server_first.decode(), final_bare)).encode()
        sig = hmac.new(stored_key, auth_msg, h).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        server_final, lifetime = self.authenticate(
            (final_bare + ",p=" + base64.b64encode(proof).decode()).encode())
        server_key = hmac.new(salted, b"Server Key", h).digest()
        want = "v=" + base64.b64encode(hmac.new(server_key, auth_msg, h).digest()).decode()
        if server_final.decode() != want:
            raise KafkaProbeError(-1, "bad server signature %r" % server_final)
        return lifetime


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsecured_jwt(sub, seconds, now=None):
    """An unsecured JWS (alg none, empty signature) with sub, iat and exp
    (seconds since the epoch, as Kafka's OAuthBearerUnsecuredJws reads them)."""
    import json
    now = int(time.time()) if now is None else now
    exp = now + seconds
    iat = exp - 7200 if seconds < 0 else now
    header = b64url(json.dumps({"alg": "none"}, separators=(",", ":")).encode())
    claims = b64url(json.dumps({"sub": sub, "iat": iat, "exp": exp}, separators=(",", ":")).encode())
    return header + "." + claims + "."


def probe_main(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="test_security.py --probe")
    ap.add_argument("addr")
    ap.add_argument("mechanism")
    ap.add_argument("user")
    ap.add_argument("password")
    ap.add_argument("--tls", metavar="CAFILE|none")
    ap.add_argument("--expire", action="store_true")
    a = ap.parse_args(argv)
    host, port = a.addr.rsplit(":", 1)
    try:
        k = RawKafka(host, int(port), tls=a.tls is not None,
                     cafile=None if a.tls in (None, "none") else a.tls)
        try:
            lifetime = k.login(a.mechanism, a.user, a.password)
        finally:
            for c in getattr(k, "challenges", []):
                print("challenge %s" % c)
        if k.api_versions() != 0:
            raise KafkaProbeError(-1, "ApiVersions failed after authentication")
    except KafkaProbeError as e:
        print("error %d %s" % (e.code, e.message))
        return 1
    except (OSError, ssl.SSLError) as e:
        print("error -1 %s: %s" % (type(e).__name__, e))
        return 1
    print("ok session_lifetime_ms=%d" % lifetime)
    if a.expire:
        if lifetime <= 0:
            print("no-session-lifetime")
            return 1
        time.sleep(lifetime / 1000.0 + 1.0)
        try:
            k.api_versions()
            print("still-open-after-expiry")
            return 1
        except (OSError, ssl.SSLError):
            print("closed-after-expiry")
    k.close()
    return 0


# --- the gateway tests -------------------------------------------------------

if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--probe":
    sys.exit(probe_main(sys.argv[2:]))
if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--jwt":
    print(unsecured_jwt(sys.argv[2], int(sys.argv[3])))
    sys.exit(0)

import websockets.exceptions  # noqa: E402

from harness import RespAsserts, main  # noqa: E402
from pubsub_client import PubSubClient, describe, timeout_scale  # noqa: E402
from test_pubsub import big_value, BIG_VALUE_LEN  # noqa: E402

SCALE = timeout_scale()
PB = None
CERTS = os.environ.get("KAFKAGATE_SEC_CERTS", "")
REAUTH_MS = int(os.environ.get("KAFKAGATE_REAUTH_MS", "3000"))
REQUEST_TIMEOUT = float(os.environ.get("KAFKAGATE_REQUEST_TIMEOUT", "5"))
# how long a failing request may take: the gateway's deadline plus margin
ERR_WAIT = (REQUEST_TIMEOUT + 10.0) * SCALE
LO_PREFIX = "failed to list offset, topic: test-consumer, partition: 0, err: "


def read_table(path, ncols):
    rows = {}
    if path and os.path.isfile(path):
        with open(path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t" if ncols > 2 else None)
                if len(parts) >= ncols:
                    rows[parts[0]] = parts[1:]
    return rows


GATEWAYS = read_table(os.environ.get("KAFKAGATE_SEC_GATEWAYS"), 5)
LISTENERS = read_table(os.environ.get("KAFKAGATE_SEC_LISTENERS"), 2)


def tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return "(no log)"


def read_log(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def broker_conns(pid, port):
    """Local ports of the ESTABLISHED TCP connections process PID holds to
    remote port PORT (from /proc; empty if unreadable)."""
    inodes = set()
    try:
        for fd in os.listdir("/proc/%s/fd" % pid):
            try:
                link = os.readlink("/proc/%s/fd/%s" % (pid, fd))
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
        with open("/proc/%s/net/tcp" % pid) as f:
            rows = f.read().splitlines()[1:]
    except OSError:
        return set()
    out = set()
    for row in rows:
        c = row.split()
        if c[3] == "01" and int(c[2].split(":")[1], 16) == port and c[9] in inodes:
            out.add(int(c[1].split(":")[1], 16))
    return out


def ca_context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = True
    return ctx


class SecTest(RespAsserts, unittest.IsolatedAsyncioTestCase):
    def gw(self, case):
        """The URL of the gateway for CASE; fails the test if it is missing
        or did not start."""
        if case not in GATEWAYS:
            self.fail("no gateway for case %s (run through security.sh)" % case)
        url, log, state, _pid = GATEWAYS[case]
        if state != "up":
            self.fail("the gateway for case %s did not start (%s); last lines of %s:\n%s"
                      % (case, state, log, tail(log)))
        return url

    def log_of(self, case):
        return GATEWAYS[case][1]

    async def connect(self, case, **kw):
        return await PubSubClient.connect(self.gw(case), PB, **kw)

    def assertListError(self, resp, pattern, seq=None):
        """An error_resp for list_offset(test-consumer, 0, ...) whose err part
        matches PATTERN (regex, case-insensitive); returns the err part."""
        self.assertKind(resp, "error_resp", seq)
        msg = resp.error_resp.message
        self.assertTrue(msg.startswith(LO_PREFIX), "message %r lacks the APISIX prefix %r" % (msg, LO_PREFIX))
        err = msg[len(LO_PREFIX):]
        self.assertRegex(err, re.compile(pattern, re.I))
        self.assertNotEqual(resp.error_resp.code, 0, "error_resp.code must be meaningful: " + describe(resp))
        print("# %s: %s (code %d)" % (self.id().split(".", 1)[1], msg, resp.error_resp.code), flush=True)
        return err

    async def check_30(self, case, fetch=True):
        """kafka.t TEST 5/7: list_offset(test-consumer, 0, -1) = 30 at
        sequence 0; then fetch from 14 gives testmsg15..testmsg30."""
        async with await self.connect(case) as c:
            self.assertOffset(await c.list_offset("test-consumer", 0, -1, seq=0), 30, 0)
            if fetch:
                r = await c.fetch("test-consumer", 0, 14, seq=1)
                self.assertKind(r, "kafka_fetch_resp", 1)
                got = [(m.offset, m.value) for m in r.kafka_fetch_resp.messages]
                self.assertEqual(got, [(o, b"testmsg%d" % (o + 1)) for o in range(14, 30)])

    async def check_error(self, case, pattern):
        """list_offset fails with an error matching PATTERN within the
        gateway's deadline, and the WebSocket session survives it."""
        async with await self.connect(case, timeout=ERR_WAIT) as c:
            t0 = time.monotonic()
            r = await c.list_offset("test-consumer", 0, -1, seq=0)
            err = self.assertListError(r, pattern, 0)
            self.assertLess(time.monotonic() - t0, ERR_WAIT)
            self.assertKind(await c.ping(b"still-here", seq=1), "pong_resp", 1)
            return err

    async def check_big_record(self, case):
        async with await self.connect(case) as c:
            r = await c.fetch("big-record", 0, 0, timeout=30 * SCALE)
            self.assertKind(r, "kafka_fetch_resp")
            ms = r.kafka_fetch_resp.messages
            self.assertEqual(len(ms), 1)
            self.assertEqual(len(ms[0].value), BIG_VALUE_LEN)
            self.assertEqual(hashlib.sha256(ms[0].value).digest(), hashlib.sha256(big_value()).digest())


CERT_FAIL = r"certificate verification"


class TlsT(SecTest):
    """TLS to the brokers (APISIX kafka.t TEST 5 and 6, then more)."""

    async def test5_tls_no_verify(self):
        """kafka.t TEST 5: the self-signed listener, verification off -> 30."""
        await self.check_30("tls-noverify")

    async def test6_tlsv_self_signed_no_ca(self):
        """kafka.t TEST 6: verification on, no CA: an error naming certificate
        verification; 'self-signed' in it (APISIX asserts /self[- ]signed
        certificate/ in its error log; we accept the message or the log)."""
        err = await self.check_error("tlsv", CERT_FAIL)
        if not re.search(r"self[- ]signed", err, re.I):
            log = read_log(self.log_of("tlsv"))
            self.assertRegex(log, re.compile(r"self[- ]signed certificate", re.I),
                             "neither the error %r nor the gateway log names the self-signed certificate" % err)

    async def test_tlsv_pinned_self_signed(self):
        """Verification on, the self-signed certificate itself as the CA -> 30."""
        await self.check_30("tlsv-pinned")

    async def test_tls_ca(self):
        """The CA-signed listener, verification on with the CA (the SAN holds
        127.0.0.1, which the broker advertises) -> 30, and a 1 MiB record
        crosses many TLS records intact."""
        await self.check_30("tls-ca")
        await self.check_big_record("tls-ca")

    async def test_tls_wrong_ca(self):
        """The CA-signed listener, a CA that did not sign it -> verification error."""
        await self.check_error("tls-wrong-ca", CERT_FAIL)


SASL_FAIL = r"SASL authentication failed"


class SaslT(SecTest):
    """SASL PLAIN and SCRAM (APISIX kafka.t TEST 7, then more)."""

    async def test7_sasl_plain(self):
        """kafka.t TEST 7: PLAIN admin/admin-secret -> 30 (password file
        with a trailing newline, which is not part of the password)."""
        await self.check_30("sasl-plain")

    async def test_plain_wrong_password(self):
        err = await self.check_error("sasl-plain-bad", SASL_FAIL)
        # the broker's own words follow: "Authentication failed: Invalid username or password"
        self.assertRegex(err, re.compile(r"SASL authentication failed: \S", re.I))

    async def test_scram_sha256(self):
        """carol exists for SCRAM-SHA-256 only (password file, no newline)."""
        await self.check_30("scram-256")

    async def test_scram_sha512(self):
        """dave exists for SCRAM-SHA-512 only (password from KAFKAGATE_SASL_PASSWORD)."""
        await self.check_30("scram-512")

    async def test_scram_wrong_password(self):
        await self.check_error("scram-bad", SASL_FAIL)

    async def test_sasl_ssl_scram(self):
        """SCRAM-SHA-512 over TLS with the CA -> 30; a 1 MiB record intact."""
        await self.check_30("sasl-ssl")
        await self.check_big_record("sasl-ssl")


class MtlsT(SecTest):
    """A listener that requires a client certificate signed by the CA."""

    async def test_mtls_with_certificate(self):
        await self.check_30("mtls")

    async def test_mtls_without_certificate(self):
        """The broker rejects the handshake (TLS 1.2: a fatal alert; TLS 1.3:
        an alert after the handshake); the error must say it is TLS."""
        await self.check_error("mtls-nocert", r"tls|ssl|certificate|handshake|alert")


class ReauthT(SecTest):
    """KIP-368 re-authentication on a listener with a short session lifetime."""

    def test_broker_session_lifetime(self):
        """The REAUTH listener really sends a lifetime <= KAFKAGATE_REAUTH_MS
        (else the next test would pass without any re-authentication), and
        the ordinary SASL listener sends none."""
        for name, want_short in (("REAUTH", True), ("SASL_PLAINTEXT", False)):
            if name not in LISTENERS:
                self.fail("no %s listener in KAFKAGATE_SEC_LISTENERS" % name)
            host, port = LISTENERS[name][0].rsplit(":", 1)
            k = RawKafka(host, int(port), timeout=10 * SCALE)
            try:
                lifetime = k.login("PLAIN", "alice", "alice-secret")
            finally:
                k.close()
            if want_short:
                self.assertGreater(lifetime, 0, name)
                self.assertLessEqual(lifetime, REAUTH_MS, name)
            else:
                self.assertEqual(lifetime, 0, name)

    async def _hammer(self, case, until):
        """Every 200 ms, alternately list_offset(-1) and fetch(i % 30), on one
        connection; every answer must be right.  Returns the count and the
        gateway's broker connections (local ports) seen one second in,
        before the first session expires, and at the end."""
        n, slowest, slow = 0, (0.0, -1), 0
        t_start = time.monotonic()
        pid = GATEWAYS[case][3]
        reauths_at_t1 = None
        port = int(LISTENERS["REAUTH"][0].rsplit(":", 1)[1])
        t1 = time.monotonic() + 1.0
        first = None
        async with await self.connect(case, timeout=ERR_WAIT) as c:
            while time.monotonic() < until:
                if first is None and time.monotonic() >= t1:
                    first = broker_conns(pid, port)
                    reauths_at_t1 = read_log(self.log_of(case)).count("re-authenticated with")
                t = time.monotonic()
                if n % 2 == 0:
                    self.assertOffset(await c.list_offset("test-consumer", 0, -1), 30)
                else:
                    off = (n // 2) % 30
                    r = await c.fetch("test-consumer", 0, off)
                    self.assertKind(r, "kafka_fetch_resp")
                    ms = r.kafka_fetch_resp.messages
                    self.assertTrue(ms, "empty fetch at %d (%s)" % (off, case))
                    self.assertEqual((ms[0].offset, ms[0].value), (off, b"testmsg%d" % (off + 1)))
                dt = time.monotonic() - t
                slowest = max(slowest, (dt, n))
                slow += dt > 0.5
                n += 1
                await asyncio.sleep(0.2)
            last = broker_conns(pid, port)
            t_loop = time.monotonic()
        print("# re-auth %s: loop %.1f s, close %.1f s, %d requests over 0.5 s"
              % (case, t_loop - t_start, time.monotonic() - t_loop, slow), flush=True)
        reauths = read_log(self.log_of(case)).count("re-authenticated with") - (reauths_at_t1 or 0)
        return n, slowest, first or set(), last, reauths

    async def test_fetch_across_reauth_periods(self):
        """PLAIN and SCRAM-SHA-256 gateways, each fetching every 200 ms for
        four session lifetimes (plus one second): no error, ever."""
        self.gw("reauth-plain"), self.gw("reauth-scram")
        t0 = time.monotonic()
        until = t0 + 4 * REAUTH_MS / 1000.0 + 1.0
        res = await asyncio.gather(self._hammer("reauth-plain", until),
                                   self._hammer("reauth-scram", until))
        for case, (n, slowest, first, last, reauths) in zip(("reauth-plain", "reauth-scram"), res):
            print("# re-auth %s: %d requests in %.1f s across %d-ms sessions, slowest %.3f s (#%d);"
                  " broker connections (local ports) at 1 s %s, at the end %s; %d re-authentications"
                  % (case, n, time.monotonic() - t0, REAUTH_MS, slowest[0], slowest[1],
                     sorted(first), sorted(last), reauths), flush=True)
            # in-band re-authentications did happen (the gateway's log;
            # /proc/PID/fd below is closed to a non-root user once the
            # gateway made itself non-dumpable for its secrets)
            self.assertGreater(reauths, 0, "%s: no re-authentication after the first second" % case)
            # a gateway that stalls for a whole request timeout fails the intent
            self.assertGreaterEqual(n, int(4 * REAUTH_MS / 1000.0 / 0.2 * 0.5 / SCALE), case)
            # re-authentication must not stall requests (a request that
            # waited for a reconnect or a deadline would take seconds)
            self.assertLess(slowest[0], 3.0 * SCALE, "%s: request #%d took %.1f s" % (case, slowest[1], slowest[0]))
            # re-authenticated in band (KIP-368), not reconnected: a broker
            # connection open before the first expiry is still open
            if first:
                self.assertTrue(first & last, "%s: no broker connection survived the re-auth periods "
                                "(reconnected instead of re-authenticating?): %s -> %s"
                                % (case, sorted(first), sorted(last)))


class OauthT(SecTest):
    """OAUTHBEARER against Kafka's default (unsecured JWS) validator on the
    OAUTH listener.  A refused token is answered by the broker with a JSON
    error ({"status":"invalid_token"}), which the client must acknowledge
    with 0x01 before the broker fails the exchange with that JSON as its
    message; a token the broker cannot even parse fails at once."""

    async def check_refused(self, case, reason):
        """list_offset fails twice on one session (the second time through
        a fresh attempt, not a stuck connection) with SASL_FAIL and the
        broker's REASON; the session survives."""
        async with await self.connect(case, timeout=ERR_WAIT) as c:
            for seq in (0, 1):
                t0 = time.monotonic()
                r = await c.list_offset("test-consumer", 0, -1, seq=seq)
                err = self.assertListError(r, SASL_FAIL, seq)
                self.assertLess(time.monotonic() - t0, ERR_WAIT)
                self.assertRegex(err, re.compile(r"^SASL authentication failed: .*" + reason, re.I))
            self.assertKind(await c.ping(b"still-here", seq=2), "pong_resp", 2)
        return err

    async def test_oauthbearer_valid_token(self):
        """An unsecured JWS, sub=admin, exp in an hour -> 30, and fetch."""
        await self.check_30("oauth")

    async def test_oauthbearer_expired_token(self):
        """exp an hour ago: the validator refuses it (invalid_token)."""
        await self.check_refused("oauth-expired", r'\{"status":"invalid_token"\}')

    async def test_oauthbearer_garbage_token(self):
        """A b64token that is no JWS (no dots): invalid_token as well."""
        await self.check_refused("oauth-garbage", r'\{"status":"invalid_token"\}')

    async def test_oauthbearer_malformed_token(self):
        """An '=' inside the token (b64token allows it only at the end):
        kafkagate sends it, Kafka's client-first message parser refuses
        it -- a SaslException at once, no JSON challenge, and the broker's
        generic message."""
        await self.check_refused("oauth-malformed", r"invalid credentials with SASL mechanism OAUTHBEARER")

    async def test_oauthbearer_token_expiry(self):
        """A token that expires during the test.  The broker bounds each
        session by the token's exp, so the gateway re-authenticates (with the
        same token, its file is read once) at ever shorter intervals until
        exp.  Requests every 250 ms: answered with 30 until 2 s before exp,
        and from 2 s after it a clean SASL failure naming invalid_token
        (reconnect, the broker refuses the expired token) -- no hang, no
        re-authentication storm, the session survives."""
        import json
        self.gw("oauth-short")
        secrets = os.path.join(os.path.dirname(self.log_of("oauth-short")), "secrets")
        with open(os.path.join(secrets, "short.jwt")) as f:
            claims = f.read().strip().split(".")[1]
        exp = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["exp"]
        ok_before = err_after = 0
        slowest = 0.0
        async with await self.connect("oauth-short", timeout=ERR_WAIT) as c:
            while time.time() < exp + 4.0:
                t0, w0 = time.monotonic(), time.time()
                r = await c.list_offset("test-consumer", 0, -1)
                slowest = max(slowest, time.monotonic() - t0)
                if w0 < exp - 2.0:
                    self.assertOffset(r, 30)
                    ok_before += 1
                elif w0 > exp + 2.0:
                    self.assertKind(r, "error_resp")
                    msg = r.error_resp.message
                    self.assertTrue(msg.startswith(LO_PREFIX), msg)
                    self.assertRegex(msg[len(LO_PREFIX):], re.compile(
                        r'^SASL authentication failed: .*\{"status":"invalid_token"\}', re.I))
                    self.assertNotEqual(r.error_resp.code, 0, describe(r))
                    err_after += 1
                await asyncio.sleep(0.25)
            self.assertKind(await c.ping(b"still-here"), "pong_resp")
        log = read_log(self.log_of("oauth-short"))
        reauths = log.count("re-authenticated with OAUTHBEARER")
        # Kafka refuses a re-authentication started less than a second after
        # the previous one (KafkaChannel MIN_REAUTH_INTERVAL_ONE_SECOND_NANOS)
        # with ILLEGAL_SASL_STATE: expected once the session left to the
        # token is under a second; the gateway then reconnects
        refused = log.count("SaslHandshake: ILLEGAL_SASL_STATE")
        print("# token expiry: %d ok until exp - 2 s, %d errors from exp + 2 s, slowest %.3f s;"
              " log: %d re-authentications started, %d done, %d refused as too soon"
              % (ok_before, err_after, slowest, log.count("re-authenticating with OAUTHBEARER"),
                 reauths, refused), flush=True)
        self.assertGreater(err_after, 0)
        self.assertLess(slowest, ERR_WAIT)
        # the lifetime shrinks geometrically (85-95 % each time): a handful
        # of re-authentications, not a loop
        self.assertLess(reauths, 60, "re-authentication storm before the token's exp")

    async def test_oauthbearer_token_rotation(self):
        """The token file is read at every authentication, so a token is
        rotated by renaming a new file over the old one.  The gateway starts
        with an expired token: refused.  Token A (exp in 15 s, scaled) is
        renamed over it: the next attempt is answered.  Token B (exp in an
        hour) is renamed over A at once: the broker bounds the session by
        A's exp (KIP-368), the gateway re-authenticates before it with B,
        and every request is answered until 3 s past A's exp.  (Before
        rotation, the file was read once: the expired token forever.)"""
        self.gw("oauth-rotate")
        path = os.path.join(os.path.dirname(self.log_of("oauth-rotate")), "secrets", "rotate.jwt")

        def put(tok):
            with open(path + ".new", "w") as f:
                f.write(tok + "\n")
            os.chmod(path + ".new", 0o600)
            os.replace(path + ".new", path)

        life = int(15 * SCALE)
        async with await self.connect("oauth-rotate", timeout=ERR_WAIT) as c:
            self.assertListError(await c.list_offset("test-consumer", 0, -1), SASL_FAIL)
            exp_a = int(time.time()) + life
            tok_a = unsecured_jwt("admin", life, exp_a - life)
            put(tok_a)
            # the next attempt reads A (after the gateway's reconnect delay)
            deadline = time.monotonic() + ERR_WAIT
            while True:
                r = await c.list_offset("test-consumer", 0, -1)
                if r.WhichOneof("resp") != "error_resp" or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.25)
            self.assertOffset(r, 30)
            self.assertLess(time.time(), exp_a - 3, "token A was picked up too late to test its rotation")
            tok_b = unsecured_jwt("admin", 3600)
            put(tok_b)
            n = 0
            while time.time() < exp_a + 3.0:
                self.assertOffset(await c.list_offset("test-consumer", 0, -1), 30)
                n += 1
                await asyncio.sleep(0.25)
            self.assertKind(await c.ping(b"still-here"), "pong_resp")
        log = read_log(self.log_of("oauth-rotate"))
        print("# token rotation: %d requests answered up to 3 s past the first token's exp;"
              " log: %d authentications, %d re-authentications"
              % (n, log.count("authenticated with OAUTHBEARER"),
                 log.count("re-authenticated with OAUTHBEARER")), flush=True)
        self.assertGreater(log.count("re-authenticated with OAUTHBEARER"), 0,
                           "no re-authentication: the rotation was not exercised")
        for tok in (tok_a, tok_b):
            self.assertNotIn(tok, log)
            self.assertNotIn(tok.split(".")[1], log)

    def test_token_not_logged(self):
        """No gateway log holds a token (security.sh checks every log again
        at the end, after SIGTERM)."""
        for case in ("oauth", "oauth-expired", "oauth-garbage", "oauth-malformed", "oauth-short"):
            self.gw(case)
            log = read_log(self.log_of(case))
            secrets = os.path.join(os.path.dirname(self.log_of(case)), "secrets")
            with open(os.path.join(secrets, {"oauth": "admin", "oauth-expired": "expired",
                                             "oauth-garbage": "garbage",
                                             "oauth-malformed": "malformed",
                                             "oauth-short": "short"}[case] + ".jwt")) as f:
                tok = f.read().strip()
            self.assertNotIn(tok, log, case)
            claims = tok.split(".")[1] if tok.count(".") == 2 else tok
            self.assertNotIn(claims, log, case)


class WssT(SecTest):
    """The gateway serving wss:// (--tls-cert/--tls-key) on its -l listener."""

    def setUp(self):
        url = self.gw("wss")
        self.assertTrue(url.startswith("wss://"), url)
        self.host, self.port = url.split("/")[2].rsplit(":", 1)
        self.port = int(self.port)
        self.ctx = ca_context(os.path.join(CERTS, "ca.pem"))

    async def wss(self, **kw):
        return await PubSubClient.connect(self.gw("wss"), PB, ssl=self.ctx, **kw)

    async def assertServes(self):
        async with await self.wss() as c:
            r = await c.ping(b"alive", seq=7)
            self.assertKind(r, "pong_resp", 7)
            self.assertEqual(r.pong_resp.state, b"alive")

    async def test_wss_ping(self):
        """A client trusting the test CA (hostname checked against the SAN)
        connects, pings, gets a WebSocket pong, and list_offset -> 30."""
        async with await self.wss() as c:
            r = await c.ping(b"hello over tls", seq=0)
            self.assertKind(r, "pong_resp", 0)
            self.assertEqual(r.pong_resp.state, b"hello over tls")
            await c.ws_ping(b"ws-level")
            self.assertOffset(await c.list_offset("test-consumer", 0, -1, seq=1), 30, 1)

    async def test_wss_localhost_name(self):
        """The certificate's DNS name works as well as its IP address."""
        url = "wss://localhost:%d/kafka" % self.port
        async with await PubSubClient.connect(url, PB, ssl=self.ctx) as c:
            self.assertKind(await c.ping(b"x"), "pong_resp")

    async def test_wss_big_response(self):
        """A 1 MiB record goes out through the gateway's TLS writer intact."""
        async with await self.wss() as c:
            r = await c.fetch("big-record", 0, 0, timeout=30 * SCALE)
            self.assertKind(r, "kafka_fetch_resp")
            v = r.kafka_fetch_resp.messages[0].value
            self.assertEqual(hashlib.sha256(v).digest(), hashlib.sha256(big_value()).digest())

    async def test_untrusting_client_fails_cleanly(self):
        """A client that does not trust the test CA fails verification (the
        gateway presents its certificate), and the gateway serves on."""
        other = ca_context(os.path.join(CERTS, "other-ca.pem"))
        with self.assertRaises(ssl.SSLCertVerificationError):
            await PubSubClient.connect(self.gw("wss"), PB, ssl=other)
        await self.assertServes()

    def assertClearTextIsOnlyTheHint(self, got):
        if got.startswith(b"HTTP/"):
            self.assertTrue(got.startswith(b"HTTP/1.1 400 "), got[:80])
            self.assertIn(b"TLS", got, got[:200])
            self.assertNotIn(b"101", got.split(b"\r\n", 1)[0])

    async def _raw(self, payload, wait):
        """Send PAYLOAD in clear on the TLS port; returns (bytes read, how it
        ended) once the server closes, or raises AssertionError after WAIT s."""
        reader, writer = await asyncio.open_connection(self.host, self.port)
        got = b""
        try:
            if payload:
                writer.write(payload)
                await writer.drain()
            deadline = time.monotonic() + wait
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("the server neither answered nor closed within %.0f s" % wait)
                try:
                    chunk = await asyncio.wait_for(reader.read(65536), left)
                except asyncio.TimeoutError:
                    continue
                except (ConnectionResetError, BrokenPipeError):
                    return got, "reset"
                if not chunk:
                    return got, "eof"
                got += chunk
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass

    async def test_plain_http_on_tls_port(self):
        """A plain-HTTP request to the wss port: the server answers (a TLS
        alert or nothing) and closes within seconds, does not crash, and
        serves a real client afterwards."""
        got, how = await self._raw(b"GET /kafka HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                   b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                   b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                   b"Sec-WebSocket-Version: 13\r\n\r\n", 10 * SCALE)
        print("# plain HTTP on the TLS port: %d bytes %r, then %s" % (len(got), got[:16], how), flush=True)
        # Either a TLS alert / nothing, or (kafkagate's choice, as nginx does)
        # a short plain-text 400 saying the port speaks TLS -- never a 101
        # or anything served in clear.
        self.assertClearTextIsOnlyTheHint(got)
        await self.assertServes()

    async def test_plain_ws_client_on_tls_port(self):
        """A ws:// client on the wss port fails (no hang), the server lives."""
        url = "ws://%s:%d/kafka" % (self.host, self.port)
        with self.assertRaises((websockets.exceptions.InvalidHandshake,
                                websockets.exceptions.ConnectionClosed,
                                ConnectionError, EOFError)):
            await PubSubClient.connect(url, PB, timeout=10 * SCALE)
        await self.assertServes()

    async def test_garbage_on_tls_port(self):
        """Random bytes instead of a ClientHello: closed, no crash."""
        await self._raw(os.urandom(4096), 10 * SCALE)
        await self.assertServes()

    async def test_stalled_handshake_does_not_block(self):
        """A client that sends half a ClientHello and stops must not block
        the event loop: another client is served meanwhile."""
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(b"\x16\x03\x01\x02\x00\x01\x00\x01")
            await writer.drain()
            await asyncio.sleep(0.2)
            await asyncio.wait_for(self.assertServes(), 10 * SCALE)
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass


def header():
    up = sorted(c for c, v in GATEWAYS.items() if v[2] == "up")
    down = sorted(c for c, v in GATEWAYS.items() if v[2] != "up")
    return ("# gateways up: %s; not started: %s; re-auth %d ms, request timeout %g s, scale %g"
            % (" ".join(up) or "none", " ".join(down) or "none", REAUTH_MS, REQUEST_TIMEOUT, SCALE))


if __name__ == "__main__":
    # every case must run: a skipped test counts as failed
    sys.exit(main(sys.argv[1:], sys.modules[__name__], "kafkagate TLS/SASL integration tests",
                  header, skips="fail"))
