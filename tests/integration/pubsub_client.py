"""A small APISIX-pubsub client for kafkagate's integration tests.

Independent of the daemon's code: the protobuf classes are generated at run
time from the project's proto/pubsub.proto with `protoc --python_out`, and
the WebSocket side is the `websockets` library (10.4, asyncio API).

Needs Debian's /usr/bin/python3 with python3-websockets and python3-protobuf,
and protoc (protobuf-compiler).

    pb = load_proto()                      # or load_proto("path/to/pubsub.proto")
    async with await PubSubClient.connect("ws://127.0.0.1:9080/kafka", pb) as c:
        resp = await c.list_offset("test-consumer", 0, -1)
        print(resp.kafka_list_offset_resp.offset)

Run as a script for a quick manual check:
    /usr/bin/python3 pubsub_client.py ws://127.0.0.1:9080/kafka list_offset test-consumer 0 -1
    /usr/bin/python3 pubsub_client.py ws://127.0.0.1:9080/kafka fetch test-consumer 0 14
    /usr/bin/python3 pubsub_client.py ws://127.0.0.1:9080/kafka ping hello
"""

import asyncio
import atexit
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile

import websockets
import websockets.client
import websockets.exceptions

HERE = os.path.dirname(os.path.abspath(__file__))

# Big enough for the 1 MiB record plus framing; the default is 1 MiB.
MAX_MESSAGE = 64 * 1024 * 1024


def timeout_scale():
    try:
        return max(float(os.environ.get("KAFKAGATE_TIMEOUT_SCALE", "1")), 0.1)
    except ValueError:
        return 1.0


def default_proto_path():
    """$KAFKAGATE_PROTO, else $srcdir/proto/pubsub.proto (srcdir as Automake
    sets it for tests, else the source tree this file lives in)."""
    if os.environ.get("KAFKAGATE_PROTO"):
        return os.environ["KAFKAGATE_PROTO"]
    srcdir = os.environ.get("srcdir") or os.path.join(HERE, "..", "..")
    return os.path.join(srcdir, "proto", "pubsub.proto")


_loaded = {}


def load_proto(proto_path=None):
    """Compile proto_path with protoc into a temporary directory and import
    the generated module; returns it (messages are attributes:
    pb.PubSubReq, pb.PubSubResp, ...)."""
    proto_path = os.path.abspath(proto_path or default_proto_path())
    if proto_path in _loaded:
        return _loaded[proto_path]
    if not os.path.isfile(proto_path):
        raise FileNotFoundError("no protobuf schema at %s (set KAFKAGATE_PROTO)" % proto_path)
    protoc = os.environ.get("PROTOC", "protoc")
    out = tempfile.mkdtemp(prefix="kafkagate-pb-")
    atexit.register(shutil.rmtree, out, True)
    incdir, name = os.path.split(proto_path)
    proc = subprocess.run(
        [protoc, "-I" + incdir, "--python_out=" + out, os.path.join(incdir, name)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise RuntimeError("protoc failed on %s:\n%s" % (proto_path, proc.stdout))
    modname = os.path.splitext(name)[0] + "_pb2"
    spec = importlib.util.spec_from_file_location(modname, os.path.join(out, modname + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for msg in ("PubSubReq", "PubSubResp", "CmdPing", "CmdKafkaFetch", "CmdKafkaListOffset"):
        if not hasattr(mod, msg):
            raise RuntimeError("%s defines no message %s" % (proto_path, msg))
    _loaded[proto_path] = mod
    return mod


class PubSubClient:
    """One WebSocket connection speaking PubSubReq/PubSubResp.

    Request helpers assign increasing sequence numbers unless one is given,
    send the request and wait for one response (by default), which is
    decoded into a PubSubResp.  send_*/recv_* split the two halves for
    pipelining and raw-frame tests."""

    def __init__(self, ws, pb, timeout):
        self.ws = ws
        self.pb = pb
        self.timeout = timeout
        self.seq = 0
        self.last_size = None  # payload size of the last message received

    @classmethod
    async def connect(cls, url, pb, timeout=None, compression=None, **kw):
        timeout = timeout or 10.0 * timeout_scale()
        ws = await websockets.client.connect(
            url, max_size=MAX_MESSAGE, open_timeout=timeout, close_timeout=timeout,
            ping_interval=None, compression=compression, **kw)
        return cls(ws, pb, timeout)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.ws.close()

    # -- building requests --------------------------------------------------

    def _seq(self, seq):
        if seq is None:
            seq = self.seq
            self.seq += 1
        return seq

    def req_ping(self, state=b"", seq=None):
        r = self.pb.PubSubReq(sequence=self._seq(seq))
        r.cmd_ping.state = state
        return r

    def req_empty(self, seq=None):
        r = self.pb.PubSubReq(sequence=self._seq(seq))
        r.cmd_empty.SetInParent()
        return r

    def req_list_offset(self, topic, partition, timestamp, seq=None):
        r = self.pb.PubSubReq(sequence=self._seq(seq))
        r.cmd_kafka_list_offset.topic = topic
        r.cmd_kafka_list_offset.partition = partition
        r.cmd_kafka_list_offset.timestamp = timestamp
        # all fields may be proto3 defaults: make sure the oneof is set
        r.cmd_kafka_list_offset.SetInParent()
        return r

    def req_fetch(self, topic, partition, offset, seq=None):
        r = self.pb.PubSubReq(sequence=self._seq(seq))
        r.cmd_kafka_fetch.topic = topic
        r.cmd_kafka_fetch.partition = partition
        r.cmd_kafka_fetch.offset = offset
        r.cmd_kafka_fetch.SetInParent()
        return r

    # -- raw frames ---------------------------------------------------------

    async def send_raw(self, data):
        """Send bytes as a binary frame, str as a text frame."""
        await self.ws.send(data)

    async def send_req(self, req):
        await self.ws.send(req.SerializeToString())
        return req.sequence

    async def recv(self, timeout=None):
        """Next message (bytes or str); asyncio.TimeoutError if none in time,
        websockets.exceptions.ConnectionClosed if the connection ended."""
        msg = await asyncio.wait_for(self.ws.recv(), timeout or self.timeout)
        self.last_size = len(msg)
        return msg

    async def recv_resp(self, timeout=None):
        msg = await self.recv(timeout)
        if not isinstance(msg, bytes):
            raise AssertionError("expected a binary frame, got text %r" % msg[:200])
        resp = self.pb.PubSubResp()
        resp.ParseFromString(msg)
        return resp

    async def request(self, req, timeout=None):
        await self.send_req(req)
        return await self.recv_resp(timeout)

    # -- commands -----------------------------------------------------------

    async def ping(self, state=b"", seq=None, timeout=None):
        return await self.request(self.req_ping(state, seq), timeout)

    async def empty(self, seq=None, timeout=None):
        return await self.request(self.req_empty(seq), timeout)

    async def list_offset(self, topic, partition, timestamp, seq=None, timeout=None):
        return await self.request(self.req_list_offset(topic, partition, timestamp, seq), timeout)

    async def fetch(self, topic, partition, offset, seq=None, timeout=None):
        return await self.request(self.req_fetch(topic, partition, offset, seq), timeout)

    # -- WebSocket control --------------------------------------------------

    async def ws_ping(self, data=b"", timeout=None):
        """Send a WebSocket ping frame and wait for its pong."""
        waiter = await self.ws.ping(data)
        await asyncio.wait_for(waiter, timeout or self.timeout)

    async def close(self, code=1000, reason=""):
        await self.ws.close(code, reason)

    @property
    def close_code(self):
        """The close code the server sent (1005: none in its frame, 1006: no
        close frame at all), None while open."""
        return self.ws.close_code


def describe(resp):
    """A one-line text form of a PubSubResp for messages and the CLI."""
    which = resp.WhichOneof("resp")
    if which == "error_resp":
        body = "error_resp{code=%d, message=%r}" % (resp.error_resp.code, resp.error_resp.message)
    elif which == "pong_resp":
        body = "pong_resp{state=%r}" % resp.pong_resp.state
    elif which == "kafka_list_offset_resp":
        body = "kafka_list_offset_resp{offset=%d}" % resp.kafka_list_offset_resp.offset
    elif which == "kafka_fetch_resp":
        ms = resp.kafka_fetch_resp.messages
        shown = ", ".join("%d:%r=%r" % (m.offset, m.key[:20], m.value[:20]) for m in ms[:5])
        body = "kafka_fetch_resp{%d messages: %s%s}" % (len(ms), shown, ", ..." if len(ms) > 5 else "")
    else:
        body = "(no response in the oneof)"
    return "seq=%d %s" % (resp.sequence, body)


async def _main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    url, cmd, args = argv[0], argv[1], argv[2:]
    pb = load_proto()
    async with await PubSubClient.connect(url, pb) as c:
        if cmd == "ping":
            resp = await c.ping((args[0] if args else "").encode())
        elif cmd == "list_offset":
            resp = await c.list_offset(args[0], int(args[1]), int(args[2]))
        elif cmd == "fetch":
            resp = await c.fetch(args[0], int(args[1]), int(args[2]))
        else:
            print("unknown command %s" % cmd, file=sys.stderr)
            return 2
        print(describe(resp))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(_main(sys.argv[1:])))
