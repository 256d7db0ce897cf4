#!/usr/bin/python3
"""fault_broker.py -- a scripted fake Kafka broker for kafkagate's fault tests.

Python standard library only (asyncio + struct).  It listens on 127.0.0.1,
one port per *mode*, and speaks just enough of the Kafka protocol to be a
one-node cluster holding topic `t` with partition 0, led by itself (node 1,
the port the request came in on).  A mode scripts one fault a real broker
cannot be made to produce on demand (docs/STYLE.md, section 6).

It advertises only old, non-flexible versions -- Metadata 0-1, ListOffsets
0-1, Fetch 0-4 -- so its codecs stay small and a client must negotiate
downwards.  ApiVersions is answered in one of three styles per mode:
  v3      a native (flexible) v3 answer, ApiVersions 0-3 advertised;
  kip511  v3 is refused with UNSUPPORTED_VERSION and a v0 body listing
          ApiVersions 0-2 (KIP-511), then v0-v2 are answered;
  empty   v3 is refused with UNSUPPORTED_VERSION and an empty list (as
          Kafka 2.0-2.3 do), then v0-v2 are answered.
A request outside the advertised ranges is recorded as a *violation* and
the connection is closed, as a real broker does.

Modes (the fault applies to Metadata unless said otherwise):
  ok         a healthy broker (also the base of notleader and crc)
  notleader  healthy, plus faults armed through the control port
  crc        healthy; Fetch at offset 100 returns a batch with a bad CRC,
             at 200 a good batch, at 300 a good batch then a truncated one
  hang       answers ApiVersions, then never answers anything
  badmd      Metadata answered with a malformed 2-byte body
  oversize   Metadata answered with a frame size prefix of 0x7fffffff
  wrongcorr  Metadata answered with a wrong correlation id
  close      closes the connection right after answering ApiVersions
  oldfetch   healthy, but ApiVersions lists Fetch as 0-3 only

Healthy data: ListOffsets -1 -> 42, -2 -> 0, a timestamp -> 0.  Fetch at
offset X < 1000 returns one batch of 3 records X..X+2 (key k<X>, value
v<X>), high watermark 1000; X >= 1000 is OFFSET_OUT_OF_RANGE.  Other topics
are UNKNOWN_TOPIC_OR_PARTITION.

Control port (one JSON object per line in, one per line out):
  {"cmd": "stats"}                     every mode's counters
  {"cmd": "stats", "mode": M}          one mode's counters
  {"cmd": "reset", "mode": M}          zero one mode's counters and arms
  {"cmd": "arm", "mode": M, "api": 2, "code": 6, "count": 2}
      the next `count` ListOffsets (api 2) or Fetch (api 1) requests on
      mode M answer partition error `code`
Counters: connections, requests {api: n}, versions {"api:version": n},
violations [text], arms {api: [code, count]}.

Usage:
  fault_broker.py --ports-file FILE [--modes m1,m2,...] [--control-port P] [-v]
The ports file is written (atomically) once every port listens; it holds a
line "MODE PORT" per mode and "control PORT".  SIGTERM/SIGINT stop it.
"""

import argparse
import asyncio
import json
import os
import signal
import struct
import sys
import time

HOST = "127.0.0.1"
NODE_ID = 1
TOPIC = "t"
HIGH_WATERMARK = 1000
LATEST_OFFSET = 42

API_FETCH, API_LIST_OFFSETS, API_METADATA, API_VERSIONS = 1, 2, 3, 18

ALL_MODES = ["ok", "notleader", "crc", "hang", "badmd", "oversize",
             "wrongcorr", "close", "oldfetch"]
APIVERSIONS_STYLE = {
    "hang": "kip511", "wrongcorr": "kip511", "ok": "kip511",
    "oversize": "empty", "oldfetch": "empty",
}  # everything else: native v3

ERR_NONE = 0
ERR_OFFSET_OUT_OF_RANGE = 1
ERR_UNKNOWN_TOPIC_OR_PARTITION = 3
ERR_UNSUPPORTED_VERSION = 35

VERBOSE = False


def log(msg):
    if VERBOSE:
        print("%.3f fault_broker: %s" % (time.time(), msg), file=sys.stderr, flush=True)


# --- CRC-32C (Castagnoli), bitwise, as a check on the gateway's tables --------

def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


# --- primitive encoders / decoders -------------------------------------------

def i8(v): return struct.pack(">b", v)
def i16(v): return struct.pack(">h", v)
def i32(v): return struct.pack(">i", v)
def i64(v): return struct.pack(">q", v)


def string(s):
    b = s.encode() if isinstance(s, str) else s
    return i16(len(b)) + b


def nullable_string(s):
    return i16(-1) if s is None else string(s)


def array(items):
    return i32(len(items)) + b"".join(items)


def uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def varint(n):  # zig-zag, 64-bit wide (also fine for 32-bit values)
    return uvarint((n << 1) ^ (n >> 63))


class Malformed(Exception):
    pass


class Reader:
    def __init__(self, data, off=0):
        self.d = data
        self.o = off

    def take(self, n):
        if n < 0 or self.o + n > len(self.d):
            raise Malformed("short read: need %d at %d of %d" % (n, self.o, len(self.d)))
        b = self.d[self.o:self.o + n]
        self.o += n
        return b

    def i8(self): return struct.unpack(">b", self.take(1))[0]
    def i16(self): return struct.unpack(">h", self.take(2))[0]
    def i32(self): return struct.unpack(">i", self.take(4))[0]
    def i64(self): return struct.unpack(">q", self.take(8))[0]

    def uvarint(self):
        n = shift = 0
        for _ in range(5):
            b = self.take(1)[0]
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
            shift += 7
        raise Malformed("varint too long")

    def string(self, nullable=False):
        n = self.i16()
        if n < 0:
            if nullable and n == -1:
                return None
            raise Malformed("string length %d" % n)
        return self.take(n).decode("utf-8", "replace")

    def tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())

    def count(self, nullable=False):
        n = self.i32()
        if n < 0:
            if nullable and n == -1:
                return None
            raise Malformed("array count %d" % n)
        if n > len(self.d):
            raise Malformed("array count %d beyond the frame" % n)
        return n


def frame(corr, body):
    return i32(4 + len(body)) + i32(corr) + body


# --- record batches (magic 2) ---------------------------------------------------

def record(offset_delta, ts_delta, key, value):
    body = (i8(0) + varint(ts_delta) + varint(offset_delta) +
            (varint(-1) if key is None else varint(len(key)) + key) +
            (varint(-1) if value is None else varint(len(value)) + value) +
            varint(0))
    return varint(len(body)) + body


def record_batch(base_offset, kvs, base_ts=1700000000000, bad_crc=False):
    """One uncompressed magic-2 batch holding kvs [(key, value)] at
    base_offset, base_offset + 1, ..."""
    recs = b"".join(record(i, i, k, v) for i, (k, v) in enumerate(kvs))
    n = len(kvs)
    after_crc = (i16(0) + i32(n - 1) + i64(base_ts) + i64(base_ts + n - 1) +
                 i64(-1) + i16(-1) + i32(-1) + i32(n) + recs)
    crc = crc32c(after_crc)
    if bad_crc:
        crc ^= 0x5A5A5A5A
    tail = i8(2) + struct.pack(">I", crc) + after_crc
    return i64(base_offset) + i32(4 + len(tail)) + i32(0) + tail


def healthy_batch(base, n=3, bad_crc=False):
    return record_batch(base, [(b"k%d" % o, b"v%d" % o) for o in range(base, base + n)],
                        bad_crc=bad_crc)


def fetch_payload(mode, offset):
    """(error_code, records bytes) for a Fetch of t-0 at offset."""
    if offset < 0 or offset >= HIGH_WATERMARK:
        return ERR_OFFSET_OUT_OF_RANGE, b""
    if mode == "crc":
        if offset == 100:
            return ERR_NONE, healthy_batch(100, bad_crc=True)
        if offset == 300:
            second = healthy_batch(303)
            return ERR_NONE, healthy_batch(300) + second[:len(second) // 2]
    return ERR_NONE, healthy_batch(offset)


# --- the broker --------------------------------------------------------------------

class Mode:
    def __init__(self, name):
        self.name = name
        self.port = None
        self.style = APIVERSIONS_STYLE.get(name, "v3")
        self.ranges = {
            API_VERSIONS: (0, 3 if self.style == "v3" else 2),
            API_METADATA: (0, 1),
            API_LIST_OFFSETS: (0, 1),
            API_FETCH: (0, 3 if name == "oldfetch" else 4),
        }
        self.writers = set()
        self.reset()

    def reset(self):
        self.connections = 0
        self.requests = {}
        self.versions = {}
        self.violations = []
        self.arms = {}
        self.events = []  # last few (time, api, version, action)

    def stats(self):
        return {
            "port": self.port, "style": self.style,
            "connections": self.connections, "open": len(self.writers),
            "requests": {str(k): v for k, v in sorted(self.requests.items())},
            "versions": dict(sorted(self.versions.items())),
            "violations": list(self.violations),
            "arms": {str(k): list(v) for k, v in self.arms.items()},
            "events": self.events[-40:],
        }

    def take_arm(self, api):
        a = self.arms.get(api)
        if not a or a[1] <= 0:
            return None
        a[1] -= 1
        return a[0]

    def note(self, api, version, action):
        self.events.append([round(time.time(), 3), api, version, action])
        del self.events[:-200]
        log("[%s] api %d v%d: %s" % (self.name, api, version, action))

    # -- answers --

    def api_versions(self, version):
        """Returns (body, handshake_done)."""
        lo, hi = self.ranges[API_VERSIONS]
        if version > hi:
            listed = [] if self.style == "empty" else [(API_VERSIONS, lo, hi)]
            body = i16(ERR_UNSUPPORTED_VERSION) + array(
                [i16(k) + i16(a) + i16(b) for k, a, b in listed])
            return body, False
        keys = sorted(self.ranges.items())
        if version >= 3:
            body = (i16(ERR_NONE) + uvarint(len(keys) + 1) +
                    b"".join(i16(k) + i16(a) + i16(b) + b"\x00" for k, (a, b) in keys) +
                    i32(0) + b"\x00")
        else:
            body = i16(ERR_NONE) + array([i16(k) + i16(a) + i16(b) for k, (a, b) in keys])
            if version >= 1:
                body += i32(0)
        return body, True

    def metadata(self, r):
        n = r.count(nullable=True)
        names = [TOPIC] if n is None else [r.string() for _ in range(n)]
        topics = []
        for name in names:
            if name == TOPIC:
                part = i16(ERR_NONE) + i32(0) + i32(NODE_ID) + array([i32(NODE_ID)]) + \
                    array([i32(NODE_ID)])
                topics.append(i16(ERR_NONE) + string(name) + i8(0) + array([part]))
            else:
                topics.append(i16(ERR_UNKNOWN_TOPIC_OR_PARTITION) + string(name) + i8(0) +
                              array([]))
        brokers = array([i32(NODE_ID) + string(HOST) + i32(self.port) + nullable_string(None)])
        return brokers + i32(NODE_ID) + array(topics), names

    def list_offsets(self, r):
        r.i32()  # replica id
        out, desc = [], []
        for _ in range(r.count()):
            name = r.string()
            parts = []
            for _ in range(r.count()):
                p, ts = r.i32(), r.i64()
                armed = self.take_arm(API_LIST_OFFSETS) if name == TOPIC and p == 0 else None
                if armed is not None:
                    parts.append(i32(p) + i16(armed) + i64(-1) + i64(-1))
                    desc.append("%s-%d ts %d -> armed error %d" % (name, p, ts, armed))
                elif name != TOPIC or p != 0:
                    parts.append(i32(p) + i16(ERR_UNKNOWN_TOPIC_OR_PARTITION) + i64(-1) + i64(-1))
                    desc.append("%s-%d -> unknown" % (name[:40], p))
                else:
                    off = LATEST_OFFSET if ts == -1 else 0
                    parts.append(i32(p) + i16(ERR_NONE) + i64(-1) + i64(off))
                    desc.append("%s-%d ts %d -> offset %d" % (name, p, ts, off))
            out.append(string(name) + array(parts))
        return array(out), "; ".join(desc)

    def fetch(self, r):
        r.i32(), r.i32(), r.i32(), r.i32(), r.i8()  # replica, wait, min, max, isolation
        out, desc = [], []
        for _ in range(r.count()):
            name = r.string()
            parts = []
            for _ in range(r.count()):
                p, off, _maxb = r.i32(), r.i64(), r.i32()
                armed = self.take_arm(API_FETCH) if name == TOPIC and p == 0 else None
                if armed is not None:
                    err, recs = armed, b""
                elif name != TOPIC or p != 0:
                    err, recs = ERR_UNKNOWN_TOPIC_OR_PARTITION, b""
                else:
                    err, recs = fetch_payload(self.name, off)
                desc.append("%s-%d at %d -> error %d, %d record bytes" % (name[:40], p, off, err, len(recs)))
                hw = HIGH_WATERMARK if err == ERR_NONE else -1
                parts.append(i32(p) + i16(err) + i64(hw) + i64(hw) + i32(-1) + i32(len(recs)) + recs)
            out.append(string(name) + array(parts))
        return i32(0) + array(out), "; ".join(desc)

    # -- one connection --

    async def serve(self, reader, writer):
        self.connections += 1
        conn = self.connections
        self.writers.add(writer)
        ready = False
        log("[%s] connection %d opened" % (self.name, conn))
        try:
            while True:
                try:
                    hdr = await reader.readexactly(4)
                except (asyncio.IncompleteReadError, ConnectionError):
                    log("[%s] connection %d closed by the client" % (self.name, conn))
                    return
                size = struct.unpack(">i", hdr)[0]
                if size < 8 or size > 16 * 1024 * 1024:
                    self.violations.append("request frame of %d bytes" % size)
                    return
                data = await reader.readexactly(size)
                keep, done = await self.request(writer, data, ready)
                if not keep:
                    return
                if not ready and done:
                    ready = True
                    if self.name == "close":
                        self.note(API_VERSIONS, -1, "closing right after ApiVersions")
                        return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            self.writers.discard(writer)
            try:
                writer.close()
            except Exception:  # noqa: BLE001
                pass

    async def request(self, writer, data, ready):
        """Handle one request; returns (keep the connection open, the
        ApiVersions handshake completed with this request)."""
        keep = await self._request(writer, data, ready)
        return keep, keep is True and self._done

    async def _request(self, writer, data, ready):
        self._done = False
        r = Reader(data)
        try:
            api, version, corr = r.i16(), r.i16(), r.i32()
        except Malformed as e:
            self.violations.append("request header: %s" % e)
            return False
        self.requests[api] = self.requests.get(api, 0) + 1
        key = "%d:%d" % (api, version)
        self.versions[key] = self.versions.get(key, 0) + 1
        try:
            r.string(nullable=True)  # client id
            if api == API_VERSIONS and version >= 3:
                r.tags()  # request header v2
        except Malformed as e:
            self.violations.append("api %d v%d header: %s" % (api, version, e))
            return False

        if api == API_VERSIONS:
            body, done = self.api_versions(version)
            self.note(api, version, "ApiVersions answered (%s)" % (
                "ready" if done else "UNSUPPORTED_VERSION"))
            writer.write(frame(corr, body))
            self._done = done  # read before any await: no other connection ran
            return True
        rng = self.ranges.get(api)
        if rng is None or not rng[0] <= version <= rng[1]:
            self.violations.append("api %d v%d outside the advertised %s" % (api, version, rng))
            self.note(api, version, "VIOLATION: version not advertised, closing")
            return False
        if not ready:
            self.violations.append("api %d before ApiVersions completed" % api)
        if self.name == "hang":
            self.note(api, version, "ignored (hang)")
            return True
        try:
            if api == API_METADATA:
                if self.name == "badmd":
                    self.note(api, version, "answered with a 2-byte body")
                    writer.write(frame(corr, b"\x00\x00"))
                elif self.name == "oversize":
                    self.note(api, version, "answered with size prefix 0x7fffffff")
                    writer.write(b"\x7f\xff\xff\xff" + i32(corr) + b"\x00" * 64)
                else:
                    body, names = self.metadata(r)
                    wrong = self.name == "wrongcorr"
                    self.note(api, version, "metadata for %s%s" % (
                        [n[:40] + ("...(%d)" % len(n) if len(n) > 40 else "") for n in names],
                        " with correlation id %d instead of %d" % (corr + 1000, corr) if wrong else ""))
                    writer.write(frame(corr + 1000 if wrong else corr, body))
            elif api == API_LIST_OFFSETS:
                body, desc = self.list_offsets(r)
                self.note(api, version, desc)
                writer.write(frame(corr, body))
            elif api == API_FETCH:
                body, desc = self.fetch(r)
                self.note(api, version, desc)
                writer.write(frame(corr, body))
            else:
                self.violations.append("unexpected api %d" % api)
                return False
        except Malformed as e:
            self.violations.append("api %d v%d body: %s" % (api, version, e))
            self.note(api, version, "VIOLATION: malformed body (%s), closing" % e)
            return False
        await writer.drain()
        return True


class Control:
    def __init__(self, modes):
        self.modes = modes

    def handle(self, req):
        cmd = req.get("cmd")
        name = req.get("mode")
        if name is not None and name not in self.modes:
            return {"error": "no mode %r" % name}
        if cmd == "stats":
            if name:
                return self.modes[name].stats()
            return {n: m.stats() for n, m in self.modes.items()}
        if cmd == "reset" and name:
            self.modes[name].reset()
            return {"ok": True}
        if cmd == "arm" and name:
            api = int(req["api"])
            if api not in (API_LIST_OFFSETS, API_FETCH):
                return {"error": "arm takes api 1 (Fetch) or 2 (ListOffsets)"}
            self.modes[name].arms[api] = [int(req["code"]), int(req["count"])]
            return {"ok": True}
        return {"error": "unknown command %r" % req}

    async def serve(self, reader, writer):
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                try:
                    resp = self.handle(json.loads(line))
                except Exception as e:  # noqa: BLE001
                    resp = {"error": "%s: %s" % (type(e).__name__, e)}
                writer.write(json.dumps(resp).encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            return
        finally:
            writer.close()


async def main_async(args):
    modes = {}
    servers = []
    for name in args.modes.split(","):
        if name not in ALL_MODES:
            raise SystemExit("fault_broker.py: unknown mode %r (known: %s)" % (name, ", ".join(ALL_MODES)))
        m = Mode(name)
        srv = await asyncio.start_server(m.serve, HOST, 0)
        m.port = srv.sockets[0].getsockname()[1]
        modes[name] = m
        servers.append(srv)
    control = Control(modes)
    csrv = await asyncio.start_server(control.serve, HOST, args.control_port)
    servers.append(csrv)
    cport = csrv.sockets[0].getsockname()[1]
    lines = ["%s %d" % (n, m.port) for n, m in modes.items()] + ["control %d" % cport]
    tmp = args.ports_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, args.ports_file)
    for line in lines:
        print("fault_broker: %s" % line, file=sys.stderr, flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for s in servers:
        s.close()
    for m in modes.values():
        for w in list(m.writers):
            w.close()
    print("fault_broker: stopped; stats %s" % json.dumps(
        {n: {k: v for k, v in m.stats().items() if k != "events"} for n, m in modes.items()}),
        file=sys.stderr, flush=True)


def main():
    global VERBOSE
    ap = argparse.ArgumentParser(description="scripted fake Kafka broker for fault tests")
    ap.add_argument("--modes", default=",".join(ALL_MODES))
    ap.add_argument("--ports-file", required=True)
    ap.add_argument("--control-port", type=int, default=0)
    ap.add_argument("-v", action="store_true", help="log every request to stderr")
    args = ap.parse_args()
    VERBOSE = args.v
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
