#!/usr/bin/python3
"""test_signals.py -- SIGTERM closes every client with 1001 and exits 0;
SIGHUP is logged and changes nothing.  Needs no Kafka: the gateway's broker
is unreachable on purpose.

    test_signals.py /path/to/kafkagate
"""

import asyncio
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import summary  # noqa: E402
from pubsub_client import PubSubClient, describe, load_proto  # noqa: E402

PB = load_proto()
passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("PASS  %s" % name)
    else:
        failed += 1
        print("FAIL  %s %s" % (name, detail))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(binary, log, extra=()):
    port = free_port()
    p = subprocess.Popen([binary, "-l", "127.0.0.1:%d" % port, "-b", "127.0.0.1:1", "-v"]
                         + list(extra), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return p, "%s://127.0.0.1:%d/kafka" % ("wss" if extra else "ws", port)
        except OSError:
            time.sleep(0.05)
    p.kill()
    raise SystemExit("kafkagate did not start listening")


async def main(binary):
    with tempfile.TemporaryFile("w+") as log:
        p, url = start(binary, log)
        clients = [await PubSubClient.connect(url, PB) for _ in range(3)]
        r = await clients[0].ping(b"before")
        check("ping answered", r.WhichOneof("resp") == "pong_resp", describe(r))

        p.send_signal(signal.SIGHUP)
        await asyncio.sleep(0.3)
        r = await clients[1].ping(b"after SIGHUP")
        check("SIGHUP changes nothing", p.poll() is None and
              r.WhichOneof("resp") == "pong_resp", describe(r))

        p.send_signal(signal.SIGTERM)
        codes = []
        for c in clients:
            try:
                await asyncio.wait_for(c.ws.wait_closed(), 5)
            except asyncio.TimeoutError:
                pass
            codes.append(c.ws.close_code)
        check("SIGTERM closes every client with 1001", codes == [1001] * 3, repr(codes))
        try:
            rc = p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = "hung"
        check("exit status 0 after SIGTERM", rc == 0, repr(rc))
        log.seek(0)
        text = log.read()
        check("SIGHUP logged", "SIGHUP" in text, text[-500:])
        check("no sanitizer report", "Sanitizer" not in text and "runtime error" not in text,
              text[-2000:])


async def wss_reload(binary):
    """SIGHUP reloads the wss certificate: open sessions go on, new ones
    handshake with the new certificate."""
    srcdir = os.environ.get("srcdir") or os.path.join(os.path.dirname(__file__), "..", "..")
    tls = os.path.join(srcdir, "tests", "data", "tls")
    ctx = ssl.create_default_context(cafile=os.path.join(tls, "ca.pem"))
    with tempfile.TemporaryDirectory() as d, tempfile.TemporaryFile("w+") as log:
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        shutil.copy(os.path.join(tls, "server.pem"), cert)
        shutil.copy(os.path.join(tls, "server.key"), key)
        p, url = start(binary, log, ["--tls-cert", cert, "--tls-key", key])
        try:
            old = await PubSubClient.connect(url, PB, ssl=ctx)
            r = await old.ping(b"wss")
            check("wss ping", r.WhichOneof("resp") == "pong_resp", describe(r))
            # The new certificate is self-signed: after the reload, new
            # handshakes must fail with the CA-only context, old ones go on.
            shutil.copy(os.path.join(tls, "selfsigned.pem"), cert)
            shutil.copy(os.path.join(tls, "selfsigned.key"), key)
            p.send_signal(signal.SIGHUP)
            await asyncio.sleep(0.5)
            try:
                await PubSubClient.connect(url, PB, ssl=ctx)
                refused = False
            except ssl.SSLError:
                refused = True
            check("SIGHUP reloads the wss certificate", refused)
            r = await old.ping(b"still")
            check("open wss session survives the reload",
                  r.WhichOneof("resp") == "pong_resp", describe(r))
            # A broken key file: the old certificate stays.
            with open(key, "w") as f:
                f.write("not a key\n")
            p.send_signal(signal.SIGHUP)
            await asyncio.sleep(0.5)
            check("a bad certificate on SIGHUP keeps the server up", p.poll() is None)
            await old.close()
        finally:
            p.send_signal(signal.SIGTERM)
            rc = p.wait(10)
        log.seek(0)
        text = log.read()
        check("reload logged", "received SIGHUP: reloaded" in text and
              "the running configuration stays" in text, text[-1500:])
        check("wss gateway exits 0", rc == 0, repr(rc))
        check("no sanitizer report (wss)", "Sanitizer" not in text and
              "runtime error" not in text, text[-2000:])


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
    asyncio.run(wss_reload(sys.argv[1]))
    print(summary(passed, failed))
    sys.exit(1 if failed else 0)
