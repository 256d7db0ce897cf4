#!/usr/bin/env python3
"""make-seeds.py -- regenerate the seed corpora in fuzz/corpus/<target>/.

The seeds are committed; run this only to change them (it needs the lz4
and zstd command-line tools for two of the record seeds).  Sources:
- fuzz_kproto: the response vectors of tests/check_kafka_proto.c;
- fuzz_records: tests/check_kafka_record.c's golden batches, and the same
  records compressed with every codec (control octet 0x00: CRCs are right);
- fuzz_pubsub: PubSubReq messages like tests/check_bridge.c's;
- fuzz_http, fuzz_ws_frames: hand-made requests and frames.

    python3 fuzz/corpus/make-seeds.py
"""
import os
import re
import struct
import subprocess
import sys
import zlib

TOP = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(TOP, "fuzz", "corpus")


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes(data))


# ---- C byte arrays from the unit tests ----

def c_arrays(path, names):
    src = open(os.path.join(TOP, path)).read()
    src = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
    macros = dict(re.findall(r"^#define\s+(\w+)\s+([^\n]*)$", src, flags=re.M))
    out = {}
    for name in names:
        m = re.search(r"static const uint8_t\s+" + name + r"\[\]\s*=\s*\{(.*?)\};",
                      src, flags=re.S)
        if m is None:
            sys.exit("make-seeds: %s: no array %s" % (path, name))
        out[name] = c_bytes(m.group(1), macros)
    return out


def c_bytes(body, macros):
    res = []
    for tok in re.findall(r"'(?:\\.|[^'])'|\w+", body):
        if tok.startswith("'"):
            ch = tok[1:-1]
            res.append(ord(ch.encode().decode("unicode_escape")))
        elif tok in macros:
            res.extend(c_bytes(macros[tok], macros))
        else:
            res.append(int(tok, 0))
    return res


def kproto():
    names = ["av_v0", "av_v2", "av_v3", "av_err35_v0", "av_mock", "md_v1",
             "md_v7", "md_v12", "lo_v1", "lo_v4", "lo_v7", "fetch_v4",
             "fetch_v10", "fetch_v12"]
    for name, data in c_arrays("tests/check_kafka_proto.c", names).items():
        write("fuzz_kproto", name, data)


# ---- record batches ----

def crc32c(data):
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82f63b78 if crc & 1 else 0)
    return crc ^ 0xffffffff


def varint(n):
    n = (n << 1) ^ (n >> 63)  # zigzag
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def record(delta, key, value, headers=()):
    body = bytes([0]) + varint(delta) + varint(delta)
    body += varint(-1) if key is None else varint(len(key)) + key
    body += varint(len(value)) + value
    body += varint(len(headers))
    for hk, hv in headers:
        body += varint(len(hk)) + hk + varint(len(hv)) + hv
    return varint(len(body)) + body


def batch_v2(base, records, codec=0, payload=None):
    n = len(records)
    recs = b"".join(records) if payload is None else payload
    after_crc = struct.pack(">hiqqqhii", codec, n - 1, 1700000000000,
                            1700000000000 + n - 1, -1, -1, -1, n) + recs
    crc = crc32c(after_crc)
    rest = struct.pack(">ib", 0, 2) + struct.pack(">I", crc) + after_crc
    return struct.pack(">qi", base, len(rest)) + rest


def tool(args, data):
    try:
        return subprocess.run(args, input=data, stdout=subprocess.PIPE,
                              check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        sys.exit("make-seeds: %s is needed" % args[0])


def records():
    g = c_arrays("tests/check_kafka_record.c", ["golden_v2", "golden_v1"])
    write("fuzz_records", "golden_v2", [0] + g["golden_v2"])
    write("fuzz_records", "golden_v1", [0] + g["golden_v1"])
    write("fuzz_records", "golden_v2_fixcrc", [0x0b] + g["golden_v2"])
    recs = [record(i, None if i % 2 else b"k%d" % i, b"value-%d" % i,
                   [(b"h", b"v")] if i == 1 else []) for i in range(3)]
    plain = b"".join(recs)
    write("fuzz_records", "v2_plain_two_batches",
          b"\x00" + batch_v2(10, recs) + batch_v2(13, recs[:1]))
    gz = zlib.compressobj(6, zlib.DEFLATED, 31)
    gz = gz.compress(plain) + gz.flush()
    write("fuzz_records", "v2_gzip", b"\x00" + batch_v2(20, recs, 1, gz))
    # Raw snappy, all literal: preamble length, one literal element.
    assert len(plain) <= 127
    lit = (bytes([(len(plain) - 1) << 2]) if len(plain) <= 60 else
           bytes([60 << 2, len(plain) - 1]))
    sn = bytes([len(plain)]) + lit + plain
    write("fuzz_records", "v2_snappy", b"\x00" + batch_v2(30, recs, 2, sn))
    xerial = (b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1) +
              struct.pack(">i", len(sn)) + sn)
    write("fuzz_records", "v2_snappy_xerial",
          b"\x00" + batch_v2(35, recs, 2, xerial))
    lz = tool(["lz4", "-c", "-q", "--no-frame-crc"], plain)
    write("fuzz_records", "v2_lz4", b"\x00" + batch_v2(40, recs, 3, lz))
    zs = tool(["zstd", "-c", "-q", "--no-check"], plain)
    write("fuzz_records", "v2_zstd", b"\x00" + batch_v2(50, recs, 4, zs))


# ---- PubSubReq ----

def pb_varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_field(num, data):
    if isinstance(data, int):
        return pb_varint(num << 3) + pb_varint(data)
    return pb_varint(num << 3 | 2) + pb_varint(len(data)) + data


def pubsub():
    def req(seq, cmd, body):
        return (pb_field(1, seq) if seq else b"") + pb_field(cmd, body)
    write("fuzz_pubsub", "ping", req(1, 32, pb_field(1, b"t\x00\xffx")))
    write("fuzz_pubsub", "ping_queue_full", req(-1, 32, b""))
    write("fuzz_pubsub", "empty_cmd", req(3, 31, b""))
    write("fuzz_pubsub", "no_cmd", b"")
    write("fuzz_pubsub", "future_cmd35", bytes([0x08, 0x07, 0x9a, 0x02, 0x00]))
    write("fuzz_pubsub", "not_pubsubreq",
          bytes([0x21, 0x40, 0x23, 0x24, 0x25, 0x5e, 0x26, 0x2a, 0xe4,
                 0xb8, 0xad, 0xe6, 0x96, 0x87]))
    write("fuzz_pubsub", "fetch", req(4, 33, pb_field(1, b"t") +
                                       pb_field(2, 16) + pb_field(3, 1000)))
    write("fuzz_pubsub", "fetch_error", req(5, 33, pb_field(1, b"topic") +
                                             pb_field(2, -1)))
    write("fuzz_pubsub", "list_offset", req(1 << 40, 34, pb_field(1, b"t") +
                                             pb_field(3, -2)))
    write("fuzz_pubsub", "list_offset_error", req(9, 34, pb_field(1, b"t") +
                                                   pb_field(3, -1)))
    write("fuzz_pubsub", "list_offset_gone", req(2, 34, pb_field(1, b"t") +
                                                  pb_field(2, 1)))


# ---- HTTP upgrade requests (2 control octets: head limit, split) ----

UPGRADE = (b"GET /kafka HTTP/1.1\r\nHost: 127.0.0.1:9080\r\n"
           b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")


def http():
    write("fuzz_http", "upgrade", b"\xff\x07" + UPGRADE)
    write("fuzz_http", "upgrade_protocol", b"\xff\x01" + UPGRADE.replace(
        b"\r\n\r\n", b"\r\nSec-WebSocket-Protocol: chat, pubsub\r\n"
        b"Origin: http://x\r\n\r\n"))
    write("fuzz_http", "bad_version", b"\xff\x03" + UPGRADE.replace(
        b"Version: 13", b"Version: 8"))
    write("fuzz_http", "query_and_keepalive", b"\xff\x05" + UPGRADE.replace(
        b"/kafka", b"/kafka?token=x").replace(b"Connection: Upgrade",
                                              b"Connection: keep-alive, Upgrade"))
    write("fuzz_http", "too_large", b"\x01\x00" + UPGRADE)
    write("fuzz_http", "post", b"\xff\x09POST / HTTP/1.0\r\nContent-Length: 0\r\n\r\n")


# ---- WebSocket frames from a client (1 control octet) ----

def frame(op, payload, fin=True, mask=b"\x37\xfa\x21\x3d", rsv=0):
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | rsv | op])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def ws():
    close = frame(8, struct.pack(">H", 1000) + b"bye")
    write("fuzz_ws_frames", "text_hello", b"\x08" + frame(1, b"Hello") + close)
    write("fuzz_ws_frames", "binary_split1", b"\x01" + frame(2, b"\x00\x01\x02") +
          close)
    write("fuzz_ws_frames", "fragmented_ping", b"\x0a" +
          frame(1, b"Hel", fin=False) + frame(9, b"ping") +
          frame(0, "lo \u00e9".encode()) + close)
    write("fuzz_ws_frames", "len126", b"\x06" + frame(2, bytes(200)) + close)
    write("fuzz_ws_frames", "close_me", b"\x0b" + frame(1, b"close me") +
          frame(1, b"after"))
    write("fuzz_ws_frames", "too_big", b"\x00" + frame(2, bytes(1001)))
    write("fuzz_ws_frames", "bad_rsv", b"\x08" + frame(1, b"x") +
          frame(1, b"y", rsv=0x40))
    write("fuzz_ws_frames", "bad_utf8", b"\x00" + frame(1, b"\xc0\xaf"))
    write("fuzz_ws_frames", "close_1byte", b"\x03" + frame(8, b"\x03"))
    write("fuzz_ws_frames", "no_close", b"\x02" + frame(2, b"abc"))


if __name__ == "__main__":
    kproto()
    records()
    pubsub()
    http()
    ws()
