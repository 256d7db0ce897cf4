#!/usr/bin/python3
"""kafkagate hardening tests: the real daemon, hostile or unlucky conditions.

tests/integration/hardening.sh runs this file.  Each test starts its own
kafkagate (KAFKAGATE_BIN) with the flags its scenario needs, talks to it
with a small raw WebSocket client (so that it can write faster than the
gateway reads, and send bytes no library would), decodes answers with the
protobuf module generated from proto/pubsub.proto, and at the end checks
that the gateway exits 0 on SIGTERM with no sanitizer report in its log.

Scenarios: an unresolvable bootstrap name and a process out of file
descriptors must give error answers, never empty successes; a request
stuck behind a broker that never answers must not let a client queue
without bound; per-client log lines are rate-limited and escaped; request
strings are checked on the wire; list_offset timestamps are checked; a
name server that never answers must not stall the loop.

Environment: KAFKAGATE_BIN, KAFKAGATE_SCRATCH (a directory for logs),
KAFKAGATE_WRAPPER, KAFKAGATE_TIMEOUT_SCALE, KAFKAGATE_PROTO, CI.
"""

import base64
import os
import re
import select
import shlex
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import RespAsserts, main  # noqa: E402
from pubsub_client import describe, timeout_scale  # noqa: E402

SCALE = timeout_scale()
PB = None
BIN = os.environ.get("KAFKAGATE_BIN", "")
SCRATCH = os.environ.get("KAFKAGATE_SCRATCH", "/tmp")
WRAPPER = shlex.split(os.environ.get("KAFKAGATE_WRAPPER", ""))
IN_CI = os.environ.get("CI", "") not in ("", "0", "false")
SANITIZER_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|"
                          r"UndefinedBehaviorSanitizer|runtime error:")

CODE_BAD_REQUEST, CODE_INVALID_ARG = 1101, 1104
CODE_UNREACHABLE, CODE_TIMEOUT = 1001, 1002


def note(fmt, *args):
    print("#   " + (fmt % args if args else fmt), flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def refused_port():
    """A port on which nothing accepts (bound, never listening)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Gateway:
    """One kafkagate on a free port; stop() checks exit 0 and its log."""

    def __init__(self, name, args, prefix=()):
        self.name = name
        self.port = free_port()
        self.log = os.path.join(SCRATCH, name + ".log")
        cmd = list(prefix) + WRAPPER + [BIN, "-l", "127.0.0.1:%d" % self.port,
                                        "-p", "/kafka"] + list(args)
        note("starting %s: %s", name, " ".join(cmd))
        self.logf = open(self.log, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20 * SCALE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited at start-up: %s" % (name, self.text()[-2000:]))
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("%s does not listen on %d" % (name, self.port))

    @property
    def pid(self):
        """The daemon's pid (the last process of a prefix like unshare)."""
        pid = self.proc.pid
        for _ in range(5):
            try:
                with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                    kids = f.read().split()
            except OSError:
                break
            if not kids:
                break
            pid = int(kids[0])
        return pid

    def url(self):
        return "ws://127.0.0.1:%d/kafka" % self.port

    def text(self):
        if not self.logf.closed:
            self.logf.flush()
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, test):
        if self.proc.poll() is not None:
            test.fail("%s died during the test (status %s): %s" %
                      (self.name, self.proc.returncode, self.text()[-2000:]))
        self.proc.terminate()
        try:
            rc = self.proc.wait(15 * SCALE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            test.fail("%s did not exit on SIGTERM" % self.name)
        self.logf.close()
        log = self.text()
        m = SANITIZER_RE.search(log)
        test.assertIsNone(m, "sanitizer report in %s: %s" % (self.log, log[-3000:]))
        test.assertEqual(rc, 0, "%s exited with %s" % (self.name, rc))


class RawWS:
    """A minimal RFC 6455 client on a blocking socket."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout * SCALE)
        self.sock.settimeout(timeout * SCALE)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET /kafka HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           % (port, key)).encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError("no upgrade: %r" % head[:200])

    @staticmethod
    def frame(opcode, payload, fin=True):
        mask = os.urandom(4)
        n = len(payload)
        b0 = (0x80 if fin else 0) | opcode
        if n < 126:
            head = struct.pack("!BB", b0, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", b0, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", b0, 0x80 | 127, n)
        masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload)) if n < 4096 else \
            (int.from_bytes(payload, "big") ^ int.from_bytes((mask * (n // 4 + 1))[:n], "big")
             ).to_bytes(n, "big")
        return head + mask + masked

    def send(self, payload, opcode=2):
        self.sock.sendall(self.frame(opcode, payload))

    def _fill(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk

    def recv(self):
        """(opcode, payload) of the next frame from the server."""
        self._fill(2)
        b0, b1 = self.buf[0], self.buf[1]
        n, off = b1 & 0x7f, 2
        if n == 126:
            self._fill(4)
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._fill(10)
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._fill(off + n)
        payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
        return b0 & 0x0f, payload

    def recv_resp(self):
        op, payload = self.recv()
        if op != 2:
            raise AssertionError("expected a binary frame, got opcode %d %r" % (op, payload[:100]))
        r = PB.PubSubResp()
        r.ParseFromString(payload)
        return r, len(payload)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7f) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def raw_cmd(seq, field, topic_bytes, partition=0, third=0):
    """A PubSubReq with a Kafka command whose topic is raw bytes."""
    body = b"\x0a" + varint(len(topic_bytes)) + topic_bytes + b"\x10" + varint(partition) + \
        b"\x18" + varint(third)
    return b"\x08" + varint(seq) + varint(field << 3 | 2) + varint(len(body)) + body


def ping_bytes(seq):
    return b"\x08" + varint(seq) + b"\x82\x02\x00"


class SilentBroker:
    """Accepts TCP connections and reads whatever comes, never answering."""

    def __init__(self):
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.stopping = False
        self.conns = []
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stopping:
            r, _, _ = select.select([self.ls] + self.conns, [], [], 0.2)
            for s in r:
                if s is self.ls:
                    c, _ = self.ls.accept()
                    self.conns.append(c)
                else:
                    try:
                        if not s.recv(65536):
                            self.conns.remove(s)
                    except OSError:
                        self.conns.remove(s)

    def close(self):
        self.stopping = True
        self.t.join(2)
        for c in self.conns:
            c.close()
        self.ls.close()


class FailuresAreErrors(RespAsserts, unittest.TestCase):
    """Item 1: no failure path answers as an empty success."""

    def test_unresolvable_bootstrap(self):
        gw = Gateway("nosuchhost", ["-b", "nosuchhost.invalid:9092", "--request-timeout", "3"])
        try:
            c = RawWS(gw.port)
            lo = PB.PubSubReq(sequence=1)
            lo.cmd_kafka_list_offset.topic = "t"
            lo.cmd_kafka_list_offset.timestamp = -1
            c.send(lo.SerializeToString())
            r, _ = c.recv_resp()
            self.assertKind(r, "error_resp", 1)
            self.assertEqual(r.error_resp.code, CODE_UNREACHABLE, describe(r))
            self.assertIn("cannot resolve broker nosuchhost.invalid:9092", r.error_resp.message)
            f = PB.PubSubReq(sequence=2)
            f.cmd_kafka_fetch.topic = "t"
            c.send(f.SerializeToString())
            r, _ = c.recv_resp()
            self.assertKind(r, "error_resp", 2)
            self.assertEqual(r.error_resp.code, CODE_UNREACHABLE, describe(r))
            note("%s", describe(r))
            c.close()
        finally:
            gw.stop(self)

    def test_out_of_file_descriptors(self):
        hold, port = refused_port()
        gw = Gateway("emfile", ["-b", "127.0.0.1:%d" % port, "--request-timeout", "3"],
                     prefix=["prlimit", "--nofile=48:48"])
        conns = []
        try:
            # Take every descriptor the gateway has with sessions.
            for _ in range(64):
                try:
                    conns.append(RawWS(gw.port, timeout=1.5))
                except (OSError, ConnectionError):
                    break
            note("%d sessions before accept() ran out of descriptors", len(conns))
            self.assertLess(len(conns), 64, "the descriptor limit was never reached")
            self.assertGreater(len(conns), 0)
            for method in ("list_offset", "fetch"):
                req = PB.PubSubReq(sequence=7)
                if method == "fetch":
                    req.cmd_kafka_fetch.topic = "t"
                else:
                    req.cmd_kafka_list_offset.topic = "t"
                    req.cmd_kafka_list_offset.timestamp = -1
                conns[0].send(req.SerializeToString())
                r, _ = conns[0].recv_resp()
                self.assertKind(r, "error_resp", 7)
                self.assertEqual(r.error_resp.code, CODE_UNREACHABLE, describe(r))
                note("%s", describe(r))
            self.assertIn("Too many open files", gw.text())
            for c in conns:
                c.close()
            conns = []
            time.sleep(1.0)
            c = RawWS(gw.port)
            c.send(ping_bytes(3))
            r, _ = c.recv_resp()
            self.assertKind(r, "pong_resp", 3)
            c.close()
        finally:
            for c in conns:
                c.close()
            gw.stop(self)
            hold.close()


class BoundedClients(RespAsserts, unittest.TestCase):
    """Item 7: answers queued behind a pending request are bounded."""

    def test_flood_behind_a_pending_request(self):
        broker = SilentBroker()
        gw = Gateway("flood", ["-b", "127.0.0.1:%d" % broker.port, "--request-timeout", "5"])
        n = 100000
        try:
            c = RawWS(gw.port, timeout=30)
            lo = PB.PubSubReq(sequence=1)
            lo.cmd_kafka_list_offset.topic = "t"
            lo.cmd_kafka_list_offset.timestamp = -1
            c.send(lo.SerializeToString())
            time.sleep(0.3)
            rss0 = rss_kb(gw.pid)
            sent = [0]

            def writer():
                blob = b"".join(RawWS.frame(2, ping_bytes(2 + i)) for i in range(n))
                view = memoryview(blob)
                while view:
                    k = c.sock.send(view[:65536])
                    view = view[k:]
                    sent[0] += k
            t = threading.Thread(target=writer, daemon=True)
            t.start()
            time.sleep(2.5 * min(SCALE, 1.5))
            rss1 = rss_kb(gw.pid)
            note("while the request is pending: RSS %d -> %d KiB, %d bytes accepted",
                 rss0, rss1, sent[0])
            self.assertLess(rss1 - rss0, 24 * 1024, "the gateway grew while a request was pending")
            r, _ = c.recv_resp()
            self.assertKind(r, "error_resp", 1)
            self.assertIn(r.error_resp.code, (CODE_UNREACHABLE, CODE_TIMEOUT), describe(r))
            for i in range(n):
                r, _ = c.recv_resp()
                self.assertEqual(r.sequence, 2 + i, describe(r))
                self.assertEqual(r.WhichOneof("resp"), "pong_resp", describe(r))
            t.join(10)
            c.close()
        finally:
            gw.stop(self)
            broker.close()


class StalledReaders(RespAsserts, unittest.TestCase):
    """A client that takes none of its answers is dropped after --send-timeout."""

    def test_reader_that_never_reads(self):
        broker = SilentBroker()
        gw = Gateway("stalled", ["-b", "127.0.0.1:%d" % broker.port, "--send-timeout", "2"])
        try:
            c = RawWS(gw.port, timeout=30)
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            state = os.urandom(16000)
            blob = b"".join(RawWS.frame(2, PB.PubSubReq(
                sequence=i, cmd_ping={"state": state}).SerializeToString()) for i in range(1000))
            sent = [0]

            def writer():
                view = memoryview(blob)
                try:
                    while view:
                        k = c.sock.send(view[:65536])
                        view = view[k:]
                        sent[0] += k
                except OSError:
                    pass
            t = threading.Thread(target=writer, daemon=True)
            t.start()
            # A well-behaved client on the same gateway keeps being served.
            ok = RawWS(gw.port, timeout=10)
            deadline = time.monotonic() + 20 * SCALE
            while "took none of" not in gw.text() and time.monotonic() < deadline:
                ok.send(ping_bytes(7))
                r, _ = ok.recv_resp()
                self.assertEqual(r.WhichOneof("resp"), "pong_resp", describe(r))
                time.sleep(0.2)
            note("%d bytes of pings accepted, drop seen after %.1f s", sent[0],
                 time.monotonic() - deadline + 20 * SCALE)
            self.assertIn("took none of", gw.text(), "the stalled client was not dropped")
            self.assertIn("for 2 s: dropped", gw.text())
            # Its connection is gone: reading it ends (EOF or reset).
            c.sock.settimeout(10 * SCALE)
            ended = False
            try:
                while c.sock.recv(1 << 20):
                    pass
                ended = True
            except ConnectionError:
                ended = True
            self.assertTrue(ended)
            note("connection ended after %.1f s", time.monotonic() - deadline + 20 * SCALE)
            t.join(10)
            ok.send(ping_bytes(8))
            r, _ = ok.recv_resp()
            self.assertEqual(r.sequence, 8, describe(r))
            ok.close()
            c.close()
        finally:
            gw.stop(self)
            broker.close()


class LogsAndStrings(RespAsserts, unittest.TestCase):
    """Items 3, 4, 6, 8: strings, timestamps, the log."""

    @classmethod
    def setUpClass(cls):
        cls.broker = SilentBroker()
        cls.gw = Gateway("strings", ["-b", "127.0.0.1:%d" % cls.broker.port,
                                     "--request-timeout", "2", "--max-message", "2097152"])

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop(cls._stopper)
        cls.broker.close()

    _stopper = unittest.TestCase()

    def test_topic_strings_checked_on_the_wire(self):
        c = RawWS(self.gw.port)
        c.send(raw_cmd(5, 33, b"accept-multi\x00x"))
        r, _ = c.recv_resp()   # the Python decoder rejects invalid UTF-8
        self.assertKind(r, "error_resp", 5)
        self.assertEqual(r.error_resp.code, CODE_BAD_REQUEST, describe(r))
        self.assertIn("NUL", r.error_resp.message)
        c.send(raw_cmd(6, 34, b"\xff\xfeto", third=(1 << 64) - 1))
        r, _ = c.recv_resp()
        self.assertKind(r, "error_resp", 6)
        self.assertIn("UTF-8", r.error_resp.message)
        # A 1 MiB topic: a short answer, the name cut.
        c.send(raw_cmd(7, 33, b"a" * (1 << 20)))
        r, size = c.recv_resp()
        self.assertKind(r, "error_resp", 7)
        self.assertLess(size, 1024, describe(r))
        note("1 MiB topic: %d-byte answer: %s", size, r.error_resp.message[:120])
        c.close()

    def test_list_offset_timestamps(self):
        c = RawWS(self.gw.port)
        for i, ts in enumerate((-4, -5, -100, -(1 << 63))):
            req = PB.PubSubReq(sequence=10 + i)
            req.cmd_kafka_list_offset.topic = "t"
            req.cmd_kafka_list_offset.timestamp = ts
            t0 = time.monotonic()
            c.send(req.SerializeToString())
            r, _ = c.recv_resp()
            self.assertKind(r, "error_resp", 10 + i)
            self.assertEqual(r.error_resp.code, CODE_INVALID_ARG, describe(r))
            self.assertIn("invalid timestamp %d" % ts, r.error_resp.message)
            self.assertLess(time.monotonic() - t0, 1.0 * SCALE)
        # -3 (max timestamp) goes to the broker: this one never answers.
        req = PB.PubSubReq(sequence=20)
        req.cmd_kafka_list_offset.topic = "t"
        req.cmd_kafka_list_offset.timestamp = -3
        c.send(req.SerializeToString())
        r, _ = c.recv_resp()
        self.assertKind(r, "error_resp", 20)
        self.assertNotEqual(r.error_resp.code, CODE_INVALID_ARG, describe(r))
        c.close()

    def test_log_rate_limited_and_escaped(self):
        before = len(self.gw.text())
        c = RawWS(self.gw.port, timeout=30)
        n = 20000
        c.sock.sendall(b"".join(RawWS.frame(2, b"") for _ in range(n)) +
                       b"".join(RawWS.frame(1, b"x\nerror: forged line %d" % i)
                                for i in range(200)))
        for i in range(n):
            r, _ = c.recv_resp()
            self.assertKind(r, "error_resp")
        time.sleep(1.2)
        c.send(b"")           # one more, after the bucket refilled
        c.recv_resp()
        c.close()
        time.sleep(0.3)
        log = self.gw.text()[before:]
        note("%d client requests, %d bytes of log", n, len(log))
        self.assertLess(len(log), 64 * 1024, "the log grew with the client's requests")
        self.assertIn("suppressed", log)
        for line in log.splitlines():
            self.assertFalse(line.startswith("error: forged"), "a client forged a log line")


class SlowNameServer(RespAsserts, unittest.TestCase):
    """Item 10: a name server that never answers stalls no client."""

    def test_slow_dns_does_not_stall_the_loop(self):
        if os.geteuid() != 0 or subprocess.run(["unshare", "-m", "true"]).returncode != 0:
            if IN_CI:
                self.fail("needs root and mount namespaces (unshare -m)")
            self.skipTest("needs root and mount namespaces (unshare -m)")
        dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            dns.bind(("127.0.0.2", 53))
        except OSError as e:
            if IN_CI:
                raise
            self.skipTest("cannot bind 127.0.0.2:53: %s" % e)
        conf = os.path.join(SCRATCH, "resolv.conf")
        with open(conf, "w") as f:
            f.write("nameserver 127.0.0.2\noptions timeout:30 attempts:1\n")
        args = ["-b", "slow.kafkagate.test:9092", "--request-timeout", "8"]
        gw = Gateway("slowdns", args, prefix=[
            "unshare", "-m", "sh", "-c",
            'mount --bind "$0" /etc/resolv.conf && exec "$@"', conf])
        try:
            a = RawWS(gw.port)
            lo = PB.PubSubReq(sequence=1)
            lo.cmd_kafka_list_offset.topic = "t"
            lo.cmd_kafka_list_offset.timestamp = -1
            t_start = time.monotonic()
            a.send(lo.SerializeToString())
            time.sleep(0.5)
            worst = 0.0
            for i in range(5):
                b = RawWS(gw.port)
                t0 = time.monotonic()
                b.send(ping_bytes(100 + i))
                r, _ = b.recv_resp()
                worst = max(worst, time.monotonic() - t0)
                self.assertKind(r, "pong_resp", 100 + i)
                b.close()
                time.sleep(0.2)
            note("pings answered in at most %.3f s while a lookup hangs", worst)
            self.assertLess(worst, 0.5 * SCALE)
            r, _ = a.recv_resp()
            waited = time.monotonic() - t_start
            note("%s after %.1f s", describe(r), waited)
            self.assertKind(r, "error_resp", 1)
            self.assertIn("name resolution timed out", r.error_resp.message)
            a.close()
        finally:
            gw.stop(self)
            dns.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], sys.modules[__name__], "kafkagate hardening tests",
                  lambda: "# kafkagate %s, no Kafka" % BIN))
