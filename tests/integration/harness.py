"""What kafkagate's integration test programs share: the unittest runner
that prints one line per test and the summary line, and assertions on
decoded PubSubResp messages.

    class MyTest(RespAsserts, unittest.IsolatedAsyncioTestCase): ...

    if __name__ == "__main__":
        sys.exit(harness.main(sys.argv[1:], sys.modules[__name__], "my tests",
                              lambda: "# what runs against what"))

main() loads the schema into the module's PB, runs the module's tests and
prints, per test, "PASS|FAIL|ERROR|SKIP  Class.test_name (seconds)[: why]",
then the summary line "N passed, M failed[, K skipped]" (summary()).
"""

import argparse
import sys
import time
import unittest

from pubsub_client import describe, load_proto


class LineResult(unittest.TestResult):
    """One line per test: PASS/FAIL/ERROR/SKIP name (seconds); with verbose,
    a failure's traceback goes to stderr as it happens."""

    def __init__(self, verbose=False):
        super().__init__()
        self.verbose = verbose
        self.t0 = 0.0
        self.passed = 0

    @staticmethod
    def name(test):
        return "%s.%s" % (type(test).__name__, test._testMethodName)

    def startTest(self, test):
        super().startTest(test)
        self.t0 = time.monotonic()

    def _line(self, word, test, extra=""):
        print("%-5s %s (%.2fs)%s" % (word, self.name(test), time.monotonic() - self.t0, extra),
              flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1
        self._line("PASS", test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        first = (str(err[1]).splitlines() or [""])[0][:300]
        self._line("FAIL", test, ": " + first if first else "")
        if self.verbose:
            print(self.failures[-1][1], file=sys.stderr, flush=True)

    def addError(self, test, err):
        super().addError(test, err)
        self._line("ERROR", test, ": %s: %s" % (err[0].__name__, str(err[1])[:300]))
        if self.verbose:
            print(self.errors[-1][1], file=sys.stderr, flush=True)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line("SKIP", test, ": " + reason)


def summary(passed, failed, skipped=0):
    """The last line of every test program: "N passed, M failed[, K skipped]"."""
    line = "%d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    return line


def main(argv, module, description, header, classes=None, names=True,
         k_help="run only tests whose name contains SUBSTRING (repeatable)", skips="count"):
    """Parse -k/-v/--proto [names], set module.PB, run the tests and print
    the lines; returns the exit status (1 if a test failed or none ran).

    header: a function returning the "#" line printed before the tests.
    classes: the TestCase classes to run, in order (default: the module's).
    names: whether TestClass[.test_name] arguments are taken.
    skips: "count" adds ", K skipped" to the summary line, "note" prints
    "# K skipped" before it (the summary line stays "N passed, M failed"),
    "fail" counts a skipped test as failed."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("-k", action="append", default=[], metavar="SUBSTRING", help=k_help)
    ap.add_argument("-v", action="store_true", help="print tracebacks as tests fail")
    ap.add_argument("--proto", help="pubsub.proto (default $KAFKAGATE_PROTO or $srcdir/proto/pubsub.proto)")
    if names:
        ap.add_argument("names", nargs="*", help="TestClass or TestClass.test_name")
    a = ap.parse_args(argv)

    module.PB = load_proto(a.proto)
    loader = unittest.TestLoader()
    if a.k:
        loader.testNamePatterns = ["*%s*" % k for k in a.k]
    if names and a.names:
        suite = loader.loadTestsFromNames(a.names, module)
    elif classes:
        suite = unittest.TestSuite(loader.loadTestsFromTestCase(cls) for cls in classes)
    else:
        suite = loader.loadTestsFromModule(module)
    print(header(), flush=True)
    result = LineResult(a.v)
    suite.run(result)
    for test, tb in ([] if a.v else result.failures + result.errors):
        print("\n=== %s\n%s" % (result.name(test), tb), file=sys.stderr)
    failed = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    if skips == "fail":
        failed, skipped = failed + skipped, 0
    elif skips == "note":
        if skipped:
            print("# %d skipped" % skipped, flush=True)
        skipped = 0
    print(summary(result.passed, failed, skipped), flush=True)
    return 1 if failed or result.testsRun == 0 else 0


class RespAsserts:
    """Assertions on decoded PubSubResp messages, mixed into a TestCase."""

    def assertKind(self, resp, kind, seq=None):
        self.assertEqual(resp.WhichOneof("resp"), kind, describe(resp))
        if seq is not None:
            self.assertEqual(resp.sequence, seq, describe(resp))

    def assertOffset(self, resp, offset, seq=None):
        self.assertKind(resp, "kafka_list_offset_resp", seq)
        self.assertEqual(resp.kafka_list_offset_resp.offset, offset, describe(resp))
