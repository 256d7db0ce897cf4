#!/usr/bin/env python3
"""report.py -- bench/run's report: medians of the raw results, each
kafkagate figure beside the direct (librdkafka) reference of the same run
and the issue's target, as Markdown tables on stdout and as JSON.

Raw results: one line per measurement, key=value pairs (scenario, case,
side, rep, then what the program printed and what bench/run added).
Exit status 0; 1 if a figure is missing (a scenario that ran gave no
number, or a run failed).  Missed targets never change the exit status.
"""
import argparse
import json
import statistics
import sys

CATCHUP_CASES = [("c512", "512 B"), ("c512lz4", "512 B lz4"), ("c4k", "4 KiB")]
FRAMES = [("gw65535", "default frame (65535)"), ("gw1m", "1 MiB frame")]


def parse(path):
    runs = []
    with open(path) as f:
        for line in f:
            d = {}
            for tok in line.split():
                if "=" in tok:
                    k, v = tok.split("=", 1)
                    try:
                        d[k] = float(v)
                    except ValueError:
                        d[k] = v
            if d:
                runs.append(d)
    return runs


class Report:
    def __init__(self, runs, repeat):
        self.runs = runs
        self.repeat = repeat
        self.rows = []
        self.missing = []
        self.meta = {r["case"]: r for r in runs if r.get("scenario") == "meta"}

    def group(self, scenario, case, side):
        return [r for r in self.runs if r.get("scenario") == scenario
                and str(r.get("case")).split(".")[0] == str(case) and r.get("side") == side]

    def median(self, scenario, case, side, fn):
        """median over the repetitions of fn(run); None if no run gave it"""
        vals = []
        for r in self.group(scenario, case, side):
            if r.get("failed"):
                continue
            try:
                v = fn(r)
            except (KeyError, ZeroDivisionError, TypeError):
                v = None
            if v is not None and v >= 0:
                vals.append(v)
        return statistics.median(vals) if vals else None, vals

    def row(self, section, metric, unit, scenario, case, gw_side, fn, direct_fn=None,
            target=None, check=None, compare="ratio", need_direct=True, direct_case=None):
        """one table row: kafkagate (gw_side) beside direct, target, met"""
        g, gv = self.median(scenario, case, gw_side, fn)
        d, dv = (None, [])
        if direct_fn is not None:
            d, dv = self.median(scenario, case if direct_case is None else direct_case,
                                "direct", direct_fn)
        if g is None and gw_side is not None:
            self.missing.append("%s: %s (kafkagate)" % (section, metric))
        if direct_fn is not None and d is None and need_direct:
            self.missing.append("%s: %s (direct)" % (section, metric))
        vs = None
        if g is not None and d is not None:
            if compare == "ratio" and d > 0:
                vs = g / d
            elif compare == "diff":
                vs = g - d
        met = None
        if check is not None and g is not None:
            met = check(g, d, vs)
        self.rows.append(dict(section=section, metric=metric, unit=unit,
                              kafkagate=g, direct=d, compare=compare, vs=vs,
                              target=target, met=met, runs_kafkagate=gv, runs_direct=dv))
        return g, d

    def add(self, section, metric, unit, value, target=None, met=None, runs=None):
        """a row without a reference (derived, or nothing to compare with)"""
        if value is None:
            self.missing.append("%s: %s" % (section, metric))
        self.rows.append(dict(section=section, metric=metric, unit=unit,
                              kafkagate=value, direct=None, compare=None, vs=None,
                              target=target, met=met, runs_kafkagate=runs or [], runs_direct=[]))


def per_m(key):
    return lambda r: r[key] / r["records"] * 1e6 if r["records"] > 0 and r[key] >= 0 else None


def gw_path(r):
    return (r["cpu_gw"] + r["cpu_client"] + r["cpu_broker"]) / r["records"] * 1e6


def direct_path(r):
    return (r["cpu_client"] + r["cpu_broker"]) / r["records"] * 1e6


def catchup_rows(rep, scenario, case, label, rate_targets):
    log_bytes = rep.meta.get(case, {}).get("log_bytes")

    def amp(r):
        if not log_bytes or r.get("broker_bytesout", -1) < 0:
            return None
        return r["broker_bytesout"] / log_bytes

    present = rep.group(scenario, case, "direct") or rep.group(scenario, case, "gw65535")
    if not present:
        return
    for side, fl in FRAMES:
        sec = "%s, %s" % (label, fl)
        tgt = rate_targets.get(side)
        rep.row(sec, "records/s", "rec/s", scenario, case, side, lambda r: r["rps"],
                lambda r: r["rps"], target=(">= %.1fx direct" % tgt) if tgt else None,
                check=(lambda g, d, vs, t=tgt: vs is not None and vs >= t) if tgt else None)
        rep.row(sec, "MB/s (key + value)", "MB/s", scenario, case, side, lambda r: r["mbps"],
                lambda r: r["mbps"])
        rep.row(sec, "CPU s per M records: gateway", "s/M", scenario, case, side,
                per_m("cpu_gw"), None)
        rep.row(sec, "CPU s per M records: client", "s/M", scenario, case, side,
                per_m("cpu_client"), per_m("cpu_client"))
        rep.row(sec, "CPU s per M records: broker", "s/M", scenario, case, side,
                per_m("cpu_broker"), per_m("cpu_broker"))
        rep.row(sec, "CPU s per M records: whole path", "s/M", scenario, case, side,
                gw_path, direct_path, target="<= 1.5x direct",
                check=lambda g, d, vs: vs is not None and vs <= 1.5)
        rep.row(sec, "broker bytes sent / log bytes", "x", scenario, case, side, amp, amp,
                target="<= 1.1", check=lambda g, d, vs: g <= 1.1)
        per_payload = lambda r: r["broker_bytesout"] / r["bytes"] if r["broker_bytesout"] >= 0 else None
        rep.row(sec, "broker bytes sent / key + value bytes delivered", "x", scenario, case,
                side, per_payload, per_payload)


def build(rep, smoke):
    # 1. catch-up
    for case, label in CATCHUP_CASES:
        targets = {"gw65535": 0.6, "gw1m": 0.9} if case in ("c512", "c512lz4") else {}
        catchup_rows(rep, "catchup", case, "1. catch-up " + label, targets)
    # 2. many clients
    g = rep.group("multi", "multi", "direct") or rep.group("multi", "multi", "gw65535")
    if g:
        n = int(next((r["clients"] for r in rep.group("multi", "multi", "gw65535")
                      if "clients" in r), 0))
        catchup_rows(rep, "multi", "multi",
                     "2. %d clients on %d partitions (direct: one consumer)" % (n, n), {})
    # 3. list_offset
    if rep.group("listoffset", "latest", "direct") or rep.group("listoffset", "latest", "gw65535"):
        sec = "3. list_offset round trip"
        rep.row(sec, "p50", "us", "listoffset", "latest", "gw65535", lambda r: r["p50_us"],
                lambda r: r["p50_us"], target="<= direct + 50 us", compare="diff",
                check=lambda g, d, vs: vs is not None and vs <= 50)
        rep.row(sec, "p99", "us", "listoffset", "latest", "gw65535", lambda r: r["p99_us"],
                lambda r: r["p99_us"], compare="diff")
        rep.row(sec, "mean", "us", "listoffset", "latest", "gw65535", lambda r: r["mean_us"],
                lambda r: r["mean_us"], compare="diff")
    # 4. idle sessions
    if rep.group("idle", "sessions", "gw65535"):
        runs = rep.group("idle", "sessions", "gw65535")
        n = int(next((r["sessions"] for r in runs if "sessions" in r), 0))
        sec = "4. %d idle sessions" % n
        rep.row(sec, "RSS per session", "KiB", "idle", "sessions", "gw65535",
                lambda r: (r["rss_open_kb"] - r["rss_before_kb"]) / r["sessions"],
                target="<= 8 KiB", check=lambda g, d, vs: g <= 8)
        rep.row(sec, "RSS before", "MiB", "idle", "sessions", "gw65535",
                lambda r: r["rss_before_kb"] / 1024)
        rep.row(sec, "RSS with the sessions open", "MiB", "idle", "sessions", "gw65535",
                lambda r: r["rss_open_kb"] / 1024)
        rep.row(sec, "RSS after they closed", "MiB", "idle", "sessions", "gw65535",
                lambda r: r["rss_closed_kb"] / 1024)
    # 5. tail
    if rep.group("tailidle", 1, "gw65535") or rep.group("tailidle", 1, "direct"):
        sec = "5. tail, nothing produced, 1 client"
        fps = lambda r: r["broker_fetch"] / r["sample_s"] if r["broker_fetch"] >= 0 else None
        rep.row(sec, "broker Fetch requests/s", "req/s", "tailidle", 1, "gw65535", fps, fps,
                target="<= 10", check=lambda g, d, vs: g <= 10)
        rep.row(sec, "gateway CPU", "% of a core", "tailidle", 1, "gw65535",
                lambda r: r["cpu_gw"] / r["wall"] * 100)
        rep.row(sec, "client CPU", "% of a core", "tailidle", 1, "gw65535",
                lambda r: r["cpu_client"] / r["wall"] * 100, lambda r: r["cpu_client"] / r["wall"] * 100)
        rep.row(sec, "broker CPU", "% of a core", "tailidle", 1, "gw65535",
                lambda r: r["cpu_broker"] / r["wall"] * 100, lambda r: r["cpu_broker"] / r["wall"] * 100)
    counts = sorted({int(r["case"]) for r in rep.runs
                     if r.get("scenario") == "tail" and r.get("side") == "gw65535"})
    fps1 = None
    for n in counts:
        sec = "5. tail at 1000 rec/s, %d client%s (direct: one consumer)" % (n, "" if n == 1 else "s")
        big = n == 1000     # the targets are set at 1000 clients

        def trow(metric, unit, fn, dfn=None, **kw):
            return rep.row(sec, metric, unit, "tail", n, "gw65535", fn, dfn, direct_case=1, **kw)

        fps = lambda r: r["broker_fetch"] / r["sample_s"] if r["broker_fetch"] >= 0 else None
        gfps, _ = trow("broker Fetch requests/s", "req/s", fps, fps)
        if n == 1:
            fps1 = gfps
        p50 = lambda r: r["p50_us"] / 1000 if r["p50_us"] >= 0 else None
        p99 = lambda r: r["p99_us"] / 1000 if r["p99_us"] >= 0 else None
        trow("latency p50 (timestamp to receipt)", "ms", p50, p50)
        trow("latency p99", "ms", p99, p99, target="<= 20 ms" if big else None,
             check=(lambda g, d, vs: g <= 20) if big else None)
        trow("records received/s per client", "rec/s",
             lambda r: r["records"] / r["clients"] / r["wall"], lambda r: r["records"] / r["wall"])
        trow("gateway CPU", "% of a core", lambda r: r["cpu_gw"] / r["wall"] * 100)
        cpu = lambda k: (lambda r: r[k] / r["wall"] * 100)
        trow("client CPU", "% of a core", cpu("cpu_client"), cpu("cpu_client"))
        trow("broker CPU", "% of a core", cpu("cpu_broker"), cpu("cpu_broker"))
        if n == counts[-1] and n > 1:
            ratio = gfps / fps1 if gfps is not None and fps1 else None
            rep.add("5. tail fan-out", "Fetch/s with %d clients / with 1" % n, "x", ratio,
                    target="<= 2 (at 1000 clients)" if big else None,
                    met=(ratio <= 2) if ratio is not None and big else None)


def fmt(v, unit=None):
    if v is None:
        return "—"
    a = abs(v)
    if unit in ("rec/s", "req/s") and a >= 10000:
        return "%.0f k" % (v / 1000)
    if a >= 1000:
        return "%.0f" % v
    if a >= 100:
        return "%.0f" % v
    if a >= 10:
        return "%.1f" % v
    if a >= 1:
        return "%.2f" % v
    if a == 0:
        return "0"
    return "%.3f" % v


def markdown(rep, info, sizes, repeat):
    out = []
    out.append("kafkagate benchmark: %s" % info)
    out.append("")
    out.append("Sizes: %s. Medians of %d run%s; \"direct\" is librdkafka straight to "
               "the broker in the same run; vs = kafkagate / direct (x) or "
               "kafkagate - direct (+/-)." % (sizes, repeat, "" if repeat == 1 else "s"))
    section = None
    for r in rep.rows:
        if r["section"] != section:
            section = r["section"]
            out.append("")
            out.append("### " + section)
            out.append("")
            out.append("| figure | unit | kafkagate | direct | vs | target | met |")
            out.append("| --- | --- | ---: | ---: | ---: | --- | --- |")
        vs = "—"
        if r["vs"] is not None:
            if r["compare"] == "ratio":
                vs = ("%.2fx" if r["vs"] >= 0.1 else "%.2gx") % r["vs"]
            else:
                vs = "%+.0f" % r["vs"]
        met = {True: "yes", False: "**no**", None: "—"}[r["met"]]
        out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            r["metric"], r["unit"], fmt(r["kafkagate"], r["unit"]), fmt(r["direct"], r["unit"]),
            vs, r["target"] or "—", met))
    notes = []
    for r in rep.runs:
        s = r.get("scenario")
        if s in ("tail", "tailidle", "catchup", "multi") and r.get("wall") and \
                r.get("cpu_client", 0) / r["wall"] > 0.9:
            notes.append("%s %s %s run %d: the client used %.0f %% of a core: it may "
                         "have been the bottleneck" % (s, r.get("case"), r.get("side"),
                                                       int(r.get("rep", 0)),
                                                       r["cpu_client"] / r["wall"] * 100))
        if r.get("gaps", 0) > 0:
            notes.append("%s %s %s: %d offsets skipped (gaps)" % (s, r.get("case"), r.get("side"),
                                                                  int(r["gaps"])))
        if s == "tail" and r.get("errors", 0) > 0:
            notes.append("tail %s: %d error answers" % (r.get("case"), int(r["errors"])))
    met = [r for r in rep.rows if r["met"] is not None]
    out.append("")
    out.append("Targets met: %d of %d." % (sum(1 for r in met if r["met"]), len(met)))
    for n in notes:
        out.append("Note: " + n)
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--smoke", type=int, default=0)
    ap.add_argument("--info", default="")
    ap.add_argument("--sizes", default="")
    a = ap.parse_args()
    runs = parse(a.raw)
    rep = Report(runs, a.repeat)
    build(rep, a.smoke)
    print(markdown(rep, a.info, a.sizes, a.repeat))
    failed = [r for r in runs if r.get("failed")]
    doc = dict(info=a.info, sizes=a.sizes, repeat=a.repeat, smoke=bool(a.smoke),
               rows=rep.rows, missing=rep.missing, failed_runs=failed, raw=runs)
    with open(a.json, "w") as f:
        json.dump(doc, f, indent=1)
    if rep.missing:
        print("report: no figure for: " + "; ".join(rep.missing), file=sys.stderr)
    return 1 if rep.missing or failed else 0


if __name__ == "__main__":
    sys.exit(main())
