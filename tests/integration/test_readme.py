#!/usr/bin/python3
"""test_readme.py -- run README.md's fenced code blocks as written.

Every fenced block of the README must be preceded (blank lines aside) by
an HTML comment that says what the test does with it; an unmarked block is
a failure, so a new snippet cannot escape the test:

  <!-- readme-test: sh -->            run the block with bash -e in the work
                                      directory; it must exit 0
  <!-- readme-test: sh, exit N -->    the same, and it must exit N
  <!-- readme-test: output -->        the output (stdout and stderr) of the
                                      previous sh block must be exactly this
  <!-- readme-test: file NAME -->     write the block to NAME in the work
                                      directory (a later block uses it)
  <!-- readme-test: daemon -->        each line is a kafkagate command that
                                      serves in the foreground: it is started,
                                      must listen on its -l (or its -c file's
                                      listen) address and answer a ping on its
                                      -p path (or the file's first uri, else
                                      /kafka), keeps running for the blocks
                                      below, and at the end must still run and
                                      exit 0 within 10 s of SIGTERM
  <!-- readme-test: skip (REASON) --> not run; REASON says why

Blocks run in README order, so a daemon started in "Quick start" serves the
client snippets further down.  The work directory stands in for a checkout:
the source tree's directories with a symbolic link for each file (build
directories left out), so that what the blocks write (generated code,
files) lands there and never in the source tree.  The
caller puts `kafkagate` and `python3` first on PATH (readme.sh does) and
maps the README's fixed ports to free ones (--port README=ACTUAL): every
number that is a mapped port is replaced in the blocks before they run,
so that the test can run beside the other suites.

Prints one line per block, "PASS|FAIL|SKIP  README.md:LINE kind", and
ends with "N passed, M failed[, K skipped]".

    test_readme.py --readme README.md --srcdir DIR --work DIR --logs DIR \
        [--port 9080=19880 ...] [-v]
"""

import argparse
import asyncio
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import summary  # noqa: E402
from pubsub_client import PubSubClient, load_proto, timeout_scale  # noqa: E402

MARK = re.compile(r"^\s*<!--\s*readme-test:\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})\s*([^`\s]*)")
SANITIZER = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|UndefinedBehaviorSanitizer|"
                       r"runtime error:|ERROR SUMMARY: [1-9]")


class Block:
    def __init__(self, line, lang, text, mark, mark_line):
        self.line = line            # line of the opening fence
        self.lang = lang
        self.text = text
        self.mark = mark            # the comment's text, or None
        self.mark_line = mark_line


def parse(path):
    """The fenced blocks of a Markdown file, and the errors in its marks."""
    blocks, errors = [], []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    mark = mark_line = None
    i = 0
    while i < len(lines):
        line = lines[i]
        m = MARK.match(line)
        f = FENCE.match(line)
        if m:
            if mark is not None:
                errors.append((mark_line, "readme-test mark not followed by a fenced block"))
            mark, mark_line = m.group(1), i + 1
        elif f:
            indent, fence, lang = f.groups()
            body, j = [], i + 1
            while j < len(lines):
                s = lines[j].strip()
                if s.startswith(fence[0] * len(fence)) and not s.strip(fence[0]):
                    break
                body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j])
                j += 1
            if j == len(lines):
                errors.append((i + 1, "fenced block never closed"))
            blocks.append(Block(i + 1, lang, "\n".join(body) + "\n", mark, mark_line))
            mark = mark_line = None
            i = j
        elif line.strip() and mark is not None:
            errors.append((mark_line, "readme-test mark not followed by a fenced block"))
            mark = mark_line = None
        elif line.lstrip().startswith("<!--") and "readme-test" in line:
            errors.append((i + 1, "malformed readme-test mark: %s" % line.strip()))
        i += 1
    if mark is not None:
        errors.append((mark_line, "readme-test mark not followed by a fenced block"))
    return blocks, errors


class Runner:
    def __init__(self, a):
        self.a = a
        self.readme = os.path.basename(a.readme)
        self.ports = dict(p.split("=", 1) for p in a.port)
        self.scale = timeout_scale()
        self.passed = self.failed = self.skipped = 0
        self.last_output = None      # (line, text) of the last sh block
        self.daemons = []            # (name, Popen, log path)
        self.pb = load_proto()

    # -- reporting ------------------------------------------------------------

    def result(self, word, block, what, detail="", output=None):
        print("%-5s %s:%d %s%s" % (word, self.readme, block.line, what,
                                   ": " + detail if detail else ""), flush=True)
        if word == "PASS":
            self.passed += 1
        elif word == "SKIP":
            self.skipped += 1
        else:
            self.failed += 1
            if output:
                for line in output.rstrip("\n").split("\n")[-40:]:
                    print("#   | %s" % line, flush=True)
        if self.a.v and output and word == "PASS":
            for line in output.rstrip("\n").split("\n"):
                print("#   | %s" % line, flush=True)

    # -- helpers ------------------------------------------------------------------

    def subst(self, text):
        """The README's fixed ports replaced by the ones of this run."""
        return re.sub(r"(?<![0-9])([0-9]{2,5})(?![0-9])",
                      lambda m: self.ports.get(m.group(1), m.group(1)), text)

    def env(self):
        env = dict(os.environ)
        env.pop("KAFKAGATE_PROTO", None)
        return env

    # -- kinds ------------------------------------------------------------------

    def run_sh(self, b, status):
        script = self.subst(b.text)
        what = "sh" if status == 0 else "sh, exit %d" % status
        try:
            p = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=self.a.work,
                               env=self.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=120 * self.scale)
        except subprocess.TimeoutExpired as e:
            out = (e.output or b"").decode(errors="replace")
            self.last_output = None
            self.result("FAIL", b, what, "timed out after %d s" % (120 * self.scale), out)
            return
        out = p.stdout.decode(errors="replace")
        self.last_output = (b.line, out)
        if p.returncode != status:
            self.result("FAIL", b, what, "exit status %d, expected %d" % (p.returncode, status), out)
        else:
            self.result("PASS", b, what, output=out)

    def run_output(self, b):
        if self.last_output is None:
            self.result("FAIL", b, "output", "no sh block ran just before it")
            return
        line, out = self.last_output
        self.last_output = None
        want = [s.rstrip() for s in self.subst(b.text).rstrip("\n").split("\n")]
        got = [s.rstrip() for s in out.rstrip("\n").split("\n")]
        if want == got:
            self.result("PASS", b, "output of line %d" % line)
        else:
            diff = ["expected:"] + ["  " + s for s in want] + ["got:"] + ["  " + s for s in got]
            self.result("FAIL", b, "output of line %d" % line, "differs", "\n".join(diff))

    def run_file(self, b, name):
        if not name or "/" in name or name.startswith("."):
            self.result("FAIL", b, "file", "a plain file name is needed, not %r" % name)
            return
        path = os.path.join(self.a.work, name)
        if os.path.lexists(path):
            self.result("FAIL", b, "file " + name, "exists already in the work directory")
            return
        with open(path, "w") as f:
            f.write(self.subst(b.text))
        self.result("PASS", b, "file " + name)

    def run_daemon(self, b):
        lines = [s for s in self.subst(b.text).split("\n") if s.strip() and not s.lstrip().startswith("#")]
        if not lines:
            self.result("FAIL", b, "daemon", "no command in the block")
        for n, line in enumerate(lines):
            self.start_daemon(b, n, line)

    def daemon_addr(self, argv):
        """(listen addresses, ping path) of a kafkagate command line."""
        listen, path, conf = [], None, None
        i = 1
        while i < len(argv):
            arg = argv[i]
            val = argv[i + 1] if i + 1 < len(argv) else ""
            if arg in ("-l", "--listen", "-p", "--path", "-c", "--config"):
                i += 1
            elif arg.startswith("--") and "=" in arg:
                arg, val = arg.split("=", 1)
            if arg in ("-l", "--listen"):
                listen.append(val)
            elif arg in ("-p", "--path"):
                path = val
            elif arg in ("-c", "--config"):
                conf = val
            i += 1
        if conf and not path:
            text = open(os.path.join(self.a.work, conf)).read()
            m = re.search(r"^\s*-?\s*uri:\s*[\"']?([^\"'\s]+)", text, re.M)
            path = m.group(1) if m else None
        if conf and not listen:
            text = open(os.path.join(self.a.work, conf)).read()
            m = re.search(r"^listen:[ \t]*\n((?:[ \t]+-.*\n)+)", text, re.M)
            if m:
                listen = [s.strip().lstrip("-").strip().strip("\"'") for s in m.group(1).split("\n") if s.strip()]
            m = re.search(r"^listen:[ \t]*([^\s\[#].*)$", text, re.M)
            if m:
                listen.append(m.group(1).strip().strip("\"'"))
        return listen, path or "/kafka"

    def start_daemon(self, b, n, line):
        name = "daemon `%s`" % line.split("#")[0].strip()
        try:
            argv = shlex.split(line, comments=True)
        except ValueError as e:
            self.result("FAIL", b, name, str(e))
            return
        if not argv or argv[0] != "kafkagate":
            self.result("FAIL", b, name, "a daemon line must be one kafkagate command")
            return
        try:
            listen, path = self.daemon_addr(argv)
        except OSError as e:
            self.result("FAIL", b, name, str(e))
            return
        if not listen:
            self.result("FAIL", b, name, "give -l: the default 0.0.0.0:9080 cannot be moved to a free port")
            return
        log = os.path.join(self.a.logs, "daemon-%d-%d.log" % (b.line, n + 1))
        with open(log, "w") as f:
            # exec: the pid is kafkagate's (the kafkagate on PATH execs too)
            p = subprocess.Popen(["bash", "-c", "exec " + line], cwd=self.a.work, env=self.env(),
                                 stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)
        self.daemons.append((b, name, p, log))
        with open(log[:-4] + ".pid", "w") as f:   # readme.sh kills it if we die
            f.write("%d\n" % p.pid)
        for addr in listen:
            host, _, port = addr.rpartition(":")
            host = host.strip("[]")
            if host in ("", "0.0.0.0", "::", "*", "localhost"):
                host = "127.0.0.1"
            err = self.wait_listen(p, host, int(port))
            if err:
                self.result("FAIL", b, name, err, open(log).read())
                return
        url = "ws://%s:%s%s" % (host if ":" not in host else "[%s]" % host, port, path)
        try:
            resp = asyncio.run(self.ping(url))
        except Exception as e:  # noqa: BLE001 -- any failure is the daemon's
            self.result("FAIL", b, name, "no pong from %s: %s: %s" % (url, type(e).__name__, e),
                        open(log).read())
            return
        if resp.WhichOneof("resp") != "pong_resp" or resp.pong_resp.state != b"readme":
            self.result("FAIL", b, name, "ping on %s answered %s" % (url, resp), open(log).read())
            return
        self.result("PASS", b, name + " serves " + url)

    def wait_listen(self, p, host, port):
        deadline = time.monotonic() + 20 * self.scale
        while True:
            try:
                socket.create_connection((host, port), 1).close()
                return None
            except OSError:
                pass
            if p.poll() is not None:
                return "exited with status %d before listening on %s:%d" % (p.returncode, host, port)
            if time.monotonic() > deadline:
                return "not listening on %s:%d after %d s" % (host, port, 20 * self.scale)
            time.sleep(0.1)

    async def ping(self, url):
        async with await PubSubClient.connect(url, self.pb) as c:
            return await c.ping(b"readme")

    def stop_daemons(self):
        """Each daemon must still run, and exit 0 within 10 s of SIGTERM."""
        for b, name, p, log in self.daemons:
            what = name + " runs to the end and exits 0 on SIGTERM"
            try:
                self.stop_daemon(b, what, p, log)
            finally:
                if p.poll() is not None:
                    os.remove(log[:-4] + ".pid")
        self.daemons = []

    def stop_daemon(self, b, what, p, log):
        """SIGTERM one daemon; it must have run to here and exit 0 in 10 s."""
        if p.poll() is not None:
            self.result("FAIL", b, what, "it exited with status %d during the test" % p.returncode,
                        open(log).read())
            return
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(10 * self.scale)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            self.result("FAIL", b, what, "still running 10 s after SIGTERM", open(log).read())
            return
        text = open(log).read()
        if rc != 0:
            self.result("FAIL", b, what, "exit status %d" % rc, text)
        elif SANITIZER.search(text):
            self.result("FAIL", b, what, "sanitizer report in %s" % log, text)
        else:
            self.result("PASS", b, what)

    # -- the whole README --------------------------------------------------------

    def run(self):
        blocks, errors = parse(self.a.readme)
        print("# %s: %d fenced blocks; ports %s" % (
            self.a.readme, len(blocks), ", ".join("%s->%s" % kv for kv in sorted(self.ports.items()))),
            flush=True)
        for line, why in errors:
            self.failed += 1
            print("FAIL  %s:%d %s" % (self.readme, line, why), flush=True)
        try:
            for b in blocks:
                self.run_block(b)
        finally:
            self.stop_daemons()
        print(summary(self.passed, self.failed, self.skipped), flush=True)
        return 1 if self.failed or not self.passed else 0

    def run_block(self, b):
        mark = b.mark
        if mark is None:
            self.result("FAIL", b, "unmarked block",
                        "every fenced block needs <!-- readme-test: sh|daemon|file NAME|output|skip (reason) -->")
            return
        kind, _, rest = mark.partition(" ")
        kind = kind.rstrip(",")
        rest = rest.strip()
        if kind == "skip":
            m = re.match(r"^\((.+)\)$", rest)
            if not m or not m.group(1).strip():
                self.result("FAIL", b, "skip", "a skip needs a reason: <!-- readme-test: skip (why) -->")
            else:
                self.result("SKIP", b, "skip", m.group(1).strip())
        elif kind == "sh" and not rest:
            self.run_sh(b, 0)
        elif kind == "sh" and re.match(r"^exit [0-9]+$", rest):
            self.run_sh(b, int(rest.split()[1]))
        elif kind == "output" and not rest:
            self.run_output(b)
        elif kind == "file":
            self.run_file(b, rest)
        elif kind == "daemon" and not rest:
            self.run_daemon(b)
        else:
            self.result("FAIL", b, "mark", "unknown readme-test mark %r (line %d)" % (mark, b.mark_line))


def link_tree(src, dst):
    """dst := src's directories, with a symbolic link for each file: what a
    block writes lands in dst, never in the source tree.  Hidden entries
    and build directories (those holding a config.status) are left out."""
    for root, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "autom4te.cache"
                         and not os.path.exists(os.path.join(root, d, "config.status")))
        rel = os.path.relpath(root, src)
        os.makedirs(os.path.join(dst, rel), exist_ok=True)
        for f in files:
            if rel == "." and f.startswith("."):
                continue
            os.symlink(os.path.join(root, f), os.path.join(dst, rel, f))


def main(argv):
    ap = argparse.ArgumentParser(description="run README.md's fenced code blocks as written")
    ap.add_argument("--readme", required=True)
    ap.add_argument("--srcdir", required=True, help="the source tree the work directory links to")
    ap.add_argument("--work", required=True, help="the work directory (created)")
    ap.add_argument("--logs", required=True, help="where the daemons' logs go")
    ap.add_argument("--port", action="append", default=[], metavar="README=ACTUAL")
    ap.add_argument("-v", action="store_true", help="show every block's output")
    a = ap.parse_args(argv)
    link_tree(os.path.abspath(a.srcdir), a.work)
    # SIGTERM (the time limit, readme.sh's cleanup) stops the daemons too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("test_readme.py: terminated"))
    return Runner(a).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
