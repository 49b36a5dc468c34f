#!/usr/bin/env python3
"""Summarise side-by-side benchmark results (python3 stdlib only).

Reads results.jsonl (one JSON object per line, as printed by the C baselines
and by `binder bench --json`):

    {"name": "routed", "size": 32, "p50_us": 9.1, "p99_us": 20.3,
     "p999_us": 41.0, "ops_per_s": 98000, "placement": "same", "round": 2}

"round" is added by run-side-by-side.sh, which measures every mechanism once
per round, round after round. When several lines share (placement, name,
size) the tables show the median across rounds of each field (p50, p99,
p99.9 and ops/s separately), and each ratio is the median over rounds of the
per-round ratio (numerator p50 / denominator p50 measured in the same round),
because the machine's latency drifts between rounds and a ratio taken within
one round cancels that drift. Differences likewise are the median of the
per-round differences. Without rounds in common the ratio (difference) of the
medians is used. Lines without a "round" key are read as before: a later line
for the same (placement, name, size) replaces an earlier one.

It writes
  * plain-text tables to stdout: latencies per size, p50 ratios, p50
    differences, the channel hand-out, and the targets with whether this run
    meets them,
  * <out>/report.md   (the same tables in Markdown),
  * <out>/latency.svg (grouped bars: p50 and p99 per mechanism per size).

`handout` (open a new direct channel and make its first call) is a different
measurement from the round trips, so it gets a table of its own and stays out
of the per-size table and chart.

Placements are never mixed: a file holding several gets one table per
placement and latency-<placement>.svg charts instead of latency.svg.

Usage: report.py RESULTS.jsonl [--out DIR]     (DIR defaults to the file's directory)
"""

import argparse
import json
import math
import re
import os
import statistics
import sys
from xml.sax.saxutils import escape

# Display order and colours; unknown mechanisms go last, in a neutral colour.
ORDER = ["seqpacket", "seqpacket_1fd", "direct", "c_relay", "c_relay_uring", "routed", "container", "routed_1fd", "dbus", "handout"]
COLOURS = {
    "seqpacket": "#4e79a7",
    "seqpacket_1fd": "#a0cbe8",
    "direct": "#b07aa1",
    "c_relay": "#f28e2b",
    "c_relay_uring": "#ffbe7d",
    "routed": "#59a14f",
    "dbus": "#e15759",
    "routed_1fd": "#8cd17d",
    "handout": "#9c755f",
    "container": "#499894",
}
OTHER_COLOURS = ["#76b7b2", "#edc948", "#ff9da7", "#bab0ac"]
DESCRIPTIONS = {
    "seqpacket": "raw AF_UNIX SEQPACKET ping-pong between two C processes (floor)",
    "seqpacket_1fd": "the same raw ping-pong with one fd in each request (SCM_RIGHTS; the echo closes it): the raw cost of passing an fd",
    "c_relay": "one-thread C epoll relay between client and server",
    "c_relay_uring": "the same relay on io_uring (liburing): multishot receive into provided buffers, the sends of one wake-up in one submit; binderd's like-for-like C floor",
    "routed": "ours: client -> binderd -> service -> binderd -> client",
    "direct": "ours, over a direct channel: client -> service -> client, binderd not involved; from the channel's second call the frames go through two shared-memory rings with a futex to wake the reader (the socket pair binderd made carries only fds and the hang-up)",
    "dbus": "sd-bus method call through dbus-broker",
    "container": "ours, routed, container-addressed: a client in container 2 calls a service in container 1 "
                 "(looked up with getServiceInContainer, allowed by the policy)",
    "routed_1fd": "ours, routed, one fd in each request (SCM_RIGHTS client -> binderd -> service; the service closes it)",
    "handout": "ours: a new direct channel per sample (openChannel, the service is handed its end and accepts, the first echo, sent at once, answered over the socket); "
               "p50 is request -> first reply; the channel is closed after the clock stops",
}
# Mechanisms that are not a round trip per size: reported in a table of their own, not in the
# per-size table or the chart.
SEPARATE = ["handout"]

# (numerator, denominator) p50 ratios to report when both are present.
RATIOS = [("routed", "c_relay"), ("routed", "c_relay_uring"), ("routed", "seqpacket"), ("direct", "seqpacket"), ("dbus", "routed"), ("container", "routed")]
# (minuend, subtrahend) p50 differences in µs: what a feature adds to a call.
DIFFERENCES = [("seqpacket_1fd", "seqpacket"), ("routed_1fd", "routed")]

# Targets, checked per size on p50 when the measurements are present.
# Ratio: (numerator, denominator, at most, wording).
RATIO_TARGETS = [("direct", "seqpacket", 1.15, "≤ 1.15x, same size and placement"),
                 ("routed", "c_relay", 1.0, "≤ 1.0x: no slower than the C epoll relay"),
                 ("routed", "c_relay_uring", 1.0, "≤ 1.0x: no slower than the C io_uring relay")]
# Difference: (minuend, subtrahend, at most µs, wording).
DIFFERENCE_TARGETS = [("routed_1fd", "routed", 2.5, "≤ 2.5 µs")]
# Absolute p50: (name, at most µs, placement the target is for (None: any), wording).
ABSOLUTE_TARGETS = [("handout", 50.0, "same", "≤ 50 µs, processes on one CPU")]


FIELDS = ("p50_us", "p99_us", "p999_us", "ops_per_s")


def load(path):
    """Returns {placement: {(name, size): record}}.

    A record is the line itself when its key has one line; with several lines (rounds) it holds
    the median of each field across them. Every record has "rounds": {round: line} for the lines
    that carry a "round" key. A later line for the same key and round (or, without a round key,
    for the same key) replaces an earlier one.
    """
    samples = {}  # placement -> (name, size) -> round (None: no round key) -> line
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
                key = (str(rec["name"]), int(rec["size"]))
                for field in FIELDS:
                    rec[field] = float(rec[field])
                rnd = rec.get("round")
                if rnd is not None:
                    rnd = int(rnd)
            except (ValueError, KeyError, TypeError) as e:
                print(f"{path}:{lineno}: skipping malformed line ({e})", file=sys.stderr)
                continue
            place = str(rec.setdefault("placement", "?"))
            samples.setdefault(place, {}).setdefault(key, {})[rnd] = rec
    by_placement = {}
    for place, keyed in samples.items():
        for key, by_round in keyed.items():
            lines = list(by_round.values())
            if len(lines) == 1:
                rec = dict(lines[0])
            else:
                rec = {"name": key[0], "size": key[1], "placement": place}
                for field in FIELDS:
                    rec[field] = statistics.median(r[field] for r in lines)
            rec["rounds"] = {r: line for r, line in by_round.items() if r is not None}
            by_placement.setdefault(place, {})[key] = rec
    return by_placement


def round_count(results):
    """Number of distinct rounds among the records (0: no round keys)."""
    return len({r for rec in results.values() for r in rec["rounds"]})


def short_rounds(results):
    """[(name, size, rounds)] for records with fewer rounds than the run has (failed runs)."""
    n = round_count(results)
    return [(name, size, len(rec["rounds"])) for (name, size), rec in sorted(results.items())
            if rec["rounds"] and len(rec["rounds"]) < n]


def per_round(a, b, combine):
    """Median over the rounds both records have of combine(a line, b line); None if none."""
    values = [combine(a["rounds"][r], b["rounds"][r]) for r in sorted(set(a["rounds"]) & set(b["rounds"]))]
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _ratio(num, den):
    return num["p50_us"] / den["p50_us"] if den["p50_us"] > 0 else None


def _difference(a, b):
    return a["p50_us"] - b["p50_us"]


def combined(a, b, combine):
    """combine(a, b) of two records: the median of the per-round values, else the value of the
    medians (no rounds in common); None if either record is missing."""
    if a is None or b is None:
        return None
    value = per_round(a, b, combine)
    return value if value is not None else combine(a, b)


def ratio_p50(num, den):
    """num p50 / den p50."""
    return combined(num, den, _ratio)


def difference_p50(a, b):
    """a p50 - b p50 in µs."""
    return combined(a, b, _difference)


def mechanism_order(names):
    known = [n for n in ORDER if n in names]
    return known + sorted(n for n in names if n not in ORDER)


def colour_of(name, names):
    if name in COLOURS:
        return COLOURS[name]
    others = [n for n in mechanism_order(names) if n not in COLOURS]
    return OTHER_COLOURS[others.index(name) % len(OTHER_COLOURS)]


def fmt_size(size):
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024} KiB"
    return f"{size} B"


def fmt_us(v):
    return f"{v:.1f}" if v < 1000 else f"{v:.0f}"


def fmt_ratio(num, den):
    ratio = ratio_p50(num, den)
    return "-" if ratio is None else f"{ratio:.2f}x"


def difference_rows(results):
    """Rows of (size, "a - b", µs) for each DIFFERENCES pair measured at the same size."""
    rows = []
    for size in sorted({s for _, s in results}):
        for a, b in DIFFERENCES:
            diff = difference_p50(results.get((a, size)), results.get((b, size)))
            if diff is not None:
                rows.append([fmt_size(size), f"{a} - {b}", f"{diff:+.2f}"])
    return rows


def split_separate(results):
    """(round-trip results, results of SEPARATE mechanisms). Pipelined results (`<name>_inflightN`)
    are in neither: `throughput_rows` reads them."""
    main = {k: r for k, r in results.items() if k[0] not in SEPARATE and not INFLIGHT.match(k[0])}
    separate = {k: r for k, r in results.items() if k[0] in SEPARATE}
    return main, separate


# Pipelined throughput: `binder bench --inflight N` and `relay --inflight N` name their results
# <mechanism>_inflightN; the one-in-flight point is the plain mechanism's result at the same size.
INFLIGHT = re.compile(r"^(.+)_inflight(\d+)$")
THROUGHPUT = ("routed", "c_relay", "c_relay_uring")
# Target: routed calls/s ≥ this many times the C relay's, with this many in flight.
THROUGHPUT_TARGET = (16, 1.3)


def _ops_ratio(a, b):
    return a["ops_per_s"] / b["ops_per_s"] if b["ops_per_s"] > 0 else None


def ops_ratio(a, b):
    """a ops/s / b ops/s."""
    return combined(a, b, _ops_ratio)


def throughput_points(results):
    """{(mechanism, size): {inflight: record}} for the THROUGHPUT mechanisms at sizes with a sweep."""
    points = {}
    for (name, size), rec in results.items():
        m = INFLIGHT.match(name)
        if m and m.group(1) in THROUGHPUT:
            points.setdefault((m.group(1), size), {})[int(m.group(2))] = rec
    for (mech, size) in list(points):
        if (mech, size) in results:
            points[(mech, size)][1] = results[(mech, size)]
    return points


def throughput_rows(results):
    """Rows of (size, in flight, c_relay calls/s, routed calls/s, routed/c_relay, routed p50, routed p99)."""
    points = throughput_points(results)
    rows = []
    def ops(r):
        return f"{r['ops_per_s']:,.0f}" if r else "-"
    def ratio(a, b):
        value = ops_ratio(a, b)
        return f"{value:.2f}x" if value is not None else "-"
    for size in sorted({s for _, s in points}):
        ours = points.get(("routed", size), {})
        epoll, uring = points.get(("c_relay", size), {}), points.get(("c_relay_uring", size), {})
        for n in sorted(set(ours) | set(epoll) | set(uring)):
            a, b, c = ours.get(n), epoll.get(n), uring.get(n)
            rows.append([fmt_size(size), str(n), ops(b), ops(c), ops(a), ratio(a, b), ratio(a, c),
                         fmt_us(a["p50_us"]) if a else "-", fmt_us(a["p99_us"]) if a else "-"])
    return rows


THROUGHPUT_HEADER = ["size", "in flight", "c_relay calls/s", "c_relay_uring calls/s", "routed calls/s",
                     "routed/c_relay", "routed/c_relay_uring", "routed p50 µs", "routed p99 µs"]


def throughput_target_rows(results):
    n, limit = THROUGHPUT_TARGET
    rows = []
    for (mech, size), by_n in sorted(throughput_points(results).items()):
        if mech != "routed":
            continue
        for relay in ("c_relay", "c_relay_uring"):
            theirs = throughput_points(results).get((relay, size), {})
            ratio = ops_ratio(by_n.get(n), theirs.get(n))
            if ratio is not None:
                rows.append([fmt_size(size), f"routed/{relay} calls/s, {n} in flight", f"{ratio:.2f}x",
                             f"≥ {limit}x", verdict(ratio >= limit)])
    return rows


def svg_throughput(results, title):
    """Calls/s against calls in flight (log2 axis), one line per mechanism, first size with a sweep."""
    points = throughput_points(results)
    if not points:
        return None
    size = min(s for _, s in points)
    series = {m: points[(m, size)] for m in THROUGHPUT if (m, size) in points}
    ns = sorted({n for by_n in series.values() for n in by_n})
    vmax = max(r["ops_per_s"] for by_n in series.values() for r in by_n.values())
    if len(ns) < 2 or vmax <= 0:
        return None
    left, right, top, bottom, plot_w, plot_h = 80, 150, 50, 60, 480, 300
    width, height = left + plot_w + right, top + plot_h + bottom
    step = nice_step(vmax * 1.1)
    hi = step * math.ceil(vmax * 1.1 / step)
    lo_n, hi_n = math.log2(ns[0]), math.log2(ns[-1])
    def x_of(n):
        return left + plot_w * (math.log2(n) - lo_n) / (hi_n - lo_n)
    def y_of(v):
        return top + plot_h - plot_h * v / hi
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="24" font-size="15">{escape(title)}, {fmt_size(size)}</text>']
    for i in range(int(round(hi / step)) + 1):
        v = i * step
        y = y_of(v)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{v:,.0f}</text>')
    for n in ns:
        x = x_of(n)
        out.append(f'<text x="{x:.1f}" y="{top + plot_h + 18}" font-size="11" text-anchor="middle">{n}</text>')
    out.append(f'<text x="{left + plot_w / 2}" y="{top + plot_h + 40}" font-size="12" text-anchor="middle">calls in flight (one client process)</text>')
    out.append(f'<text x="16" y="{top + plot_h / 2}" font-size="12" text-anchor="middle" '
               f'transform="rotate(-90 16 {top + plot_h / 2})">calls/s</text>')
    names = list(series)
    for i, m in enumerate(names):
        colour = colour_of(m, names)
        pts = " ".join(f"{x_of(n):.1f},{y_of(r['ops_per_s']):.1f}" for n, r in sorted(series[m].items()))
        out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for n, r in sorted(series[m].items()):
            out.append(f'<circle cx="{x_of(n):.1f}" cy="{y_of(r["ops_per_s"]):.1f}" r="3" fill="{colour}"/>')
        out.append(f'<rect x="{left + plot_w + 16}" y="{top + 20 * i}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{left + plot_w + 34}" y="{top + 20 * i + 11}" font-size="12">{escape(m)}</text>')
    out.append('</svg>')
    return "\n".join(out) + "\n"


def separate_rows(separate):
    """Rows for the table of SEPARATE mechanisms (the channel hand-out)."""
    rows = []
    for name in mechanism_order({n for n, _ in separate}):
        for size in sorted(s for n, s in separate if n == name):
            r = separate[(name, size)]
            rows.append([fmt_size(size), name, fmt_us(r["p50_us"]), fmt_us(r["p99_us"]),
                         fmt_us(r["p999_us"]), f"{r['ops_per_s']:,.0f}", r["placement"]])
    return rows


def verdict(ok):
    return "yes" if ok else "NO"


def target_rows(results):
    """Rows of (size, measure, value, target, met) for every target whose inputs are present."""
    rows = []
    for size in sorted({s for _, s in results}):
        for a, b, limit, wording in RATIO_TARGETS:
            ratio = ratio_p50(results.get((a, size)), results.get((b, size)))
            if ratio is not None:
                rows.append([fmt_size(size), f"{a}/{b} p50", f"{ratio:.2f}x", wording,
                             verdict(ratio <= limit)])
        for a, b, limit, wording in DIFFERENCE_TARGETS:
            diff = difference_p50(results.get((a, size)), results.get((b, size)))
            if diff is not None:
                rows.append([fmt_size(size), f"{a} - {b} p50", f"{diff:+.2f} µs", wording,
                             verdict(diff <= limit)])
        for name, limit, placement, wording in ABSOLUTE_TARGETS:
            r = results.get((name, size))
            if r:
                met = verdict(r["p50_us"] <= limit)
                if placement is not None and r["placement"] != placement:
                    met = f"n/a (placement {r['placement']}, target is for {placement})"
                rows.append([fmt_size(size), f"{name} p50", f"{fmt_us(r['p50_us'])} µs", wording, met])
    return rows


def build_tables(results):
    """Returns (rows, ratio_rows) of strings for the text and Markdown tables."""
    sizes = sorted({s for _, s in results})
    names = mechanism_order({n for n, _ in results})
    rows = []
    for size in sizes:
        for name in names:
            r = results.get((name, size))
            if r is None:
                continue
            rows.append([fmt_size(size), name, fmt_us(r["p50_us"]), fmt_us(r["p99_us"]),
                         fmt_us(r["p999_us"]), f"{r['ops_per_s']:,.0f}", r["placement"]])
    ratio_cols = [(a, b) for a, b in RATIOS if a in names and b in names]
    ratio_rows = []
    for size in sizes:
        ratio_rows.append([fmt_size(size)] + [
            fmt_ratio(results.get((a, size)), results.get((b, size))) for a, b in ratio_cols])
    ratio_header = ["size"] + [f"{a}/{b} p50" for a, b in ratio_cols]
    return rows, ratio_header, ratio_rows if ratio_cols else []


HEADER = ["size", "mechanism", "p50 µs", "p99 µs", "p99.9 µs", "ops/s", "placement"]
TARGET_HEADER = ["size", "measure", "value", "target", "met"]
RIGHT = {"p50 µs", "p99 µs", "p99.9 µs", "ops/s", "value"}


def text_table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    def line(cells):
        out = []
        for h, c, w in zip(header, cells, widths):
            right = h in RIGHT or h.endswith(" p50")
            out.append(str(c).rjust(w) if right else str(c).ljust(w))
        return "  ".join(out).rstrip()
    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), sep] + [line(r) for r in rows])


def md_table(header, rows):
    aligns = ["---:" if (h in RIGHT or h.endswith(" p50")) else ":---" for h in header]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(aligns) + " |"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------- SVG chart

def nice_step(span, target_ticks=6):
    raw = span / target_ticks
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def svg_chart(results, title):
    sizes = sorted({s for _, s in results})
    names = mechanism_order({n for n, _ in results})
    values = [v for r in results.values() for v in (r["p50_us"], r["p99_us"]) if v > 0]
    if not values:
        return None
    vmax, vmin = max(values), min(values)
    # A log axis when p99 outliers would flatten the p50 bars on a linear one.
    log_scale = vmax / vmin > 40

    bar_w, pair_gap, mech_gap, group_gap = 14, 1, 8, 36
    group_w = len(names) * (2 * bar_w + pair_gap) + (len(names) - 1) * mech_gap
    left, right, top, bottom = 70, 20, 58, 92
    plot_h = 320
    plot_w = len(sizes) * group_w + (len(sizes) + 1) * group_gap
    width = max(left + plot_w + right, 640)
    height = top + plot_h + bottom

    if log_scale:
        lo = 10 ** math.floor(math.log10(vmin))
        hi = 10 ** math.ceil(math.log10(vmax))
        def y_of(v):
            v = max(v, lo)
            return top + plot_h - plot_h * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        ticks = []
        decade = lo
        while decade <= hi * 1.0001:
            for m in (1, 2, 5):
                if decade * m <= hi * 1.0001:
                    ticks.append(decade * m)
            decade *= 10
    else:
        step = nice_step(vmax * 1.1)
        hi = step * math.ceil(vmax * 1.1 / step)
        def y_of(v):
            return top + plot_h - plot_h * v / hi
        ticks = [i * step for i in range(int(round(hi / step)) + 1)]

    out = []
    add = out.append
    add(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">')
    add(f'<rect width="{width}" height="{height}" fill="white"/>')
    add(f'<text x="{width / 2}" y="24" font-size="16" font-weight="bold" text-anchor="middle">'
        f'{escape(title)}</text>')
    add(f'<text x="{width / 2}" y="42" font-size="11" fill="#555" text-anchor="middle">'
        f'round-trip latency, one request in flight; solid = p50, light = p99 '
        f'(number above bar = p50)</text>')

    # Grid lines and y tick labels.
    for t in ticks:
        y = y_of(t)
        label = f"{t:g}"
        add(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
            f'stroke="#e3e3e3" stroke-width="1"/>')
        add(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{label}</text>')
    axis_label = "µs (log scale)" if log_scale else "µs"
    add(f'<text transform="translate(18,{top + plot_h / 2}) rotate(-90)" font-size="12" '
        f'text-anchor="middle">latency, {axis_label}</text>')
    add(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#333"/>')
    add(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#333"/>')

    # Bars.
    base = top + plot_h
    for gi, size in enumerate(sizes):
        gx = left + group_gap + gi * (group_w + group_gap)
        for mi, name in enumerate(names):
            r = results.get((name, size))
            x = gx + mi * (2 * bar_w + pair_gap + mech_gap)
            if r is None:
                continue
            colour = colour_of(name, names)
            y50, y99 = y_of(r["p50_us"]), y_of(r["p99_us"])
            add(f'<rect x="{x}" y="{y50:.1f}" width="{bar_w}" height="{base - y50:.1f}" '
                f'fill="{colour}"><title>{escape(name)} {fmt_size(size)} p50 '
                f'{r["p50_us"]:.2f} µs</title></rect>')
            x99 = x + bar_w + pair_gap
            add(f'<rect x="{x99}" y="{y99:.1f}" width="{bar_w}" height="{base - y99:.1f}" '
                f'fill="{colour}" fill-opacity="0.35" stroke="{colour}" stroke-width="1">'
                f'<title>{escape(name)} {fmt_size(size)} p99 {r["p99_us"]:.2f} µs</title></rect>')
            add(f'<text x="{x + bar_w / 2}" y="{y50 - 3:.1f}" font-size="9" text-anchor="middle">'
                f'{fmt_us(r["p50_us"])}</text>')
        add(f'<text x="{gx + group_w / 2}" y="{base + 18}" font-size="12" text-anchor="middle">'
            f'{fmt_size(size)}</text>')
    add(f'<text x="{left + plot_w / 2}" y="{base + 36}" font-size="12" text-anchor="middle">'
        f'message size</text>')

    # Legend: one swatch per mechanism.
    lx, ly = left, base + 60
    for name in names:
        colour = colour_of(name, names)
        add(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{colour}"/>')
        add(f'<text x="{lx + 17}" y="{ly}" font-size="12">{escape(name)}</text>')
        lx += 30 + 8 * len(name)
    add('</svg>')
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results", help="results.jsonl")
    ap.add_argument("--out", help="directory for report.md and latency.svg")
    args = ap.parse_args()

    by_placement = load(args.results)
    if not by_placement:
        print(f"{args.results}: no results", file=sys.stderr)
        return 1
    out_dir = args.out or os.path.dirname(os.path.abspath(args.results))
    os.makedirs(out_dir, exist_ok=True)

    # Placements are never mixed in one table or chart. With one placement
    # (what the runner produces) the chart is latency.svg, else one per placement.
    md = []
    written = []
    for place in sorted(by_placement):
        everything = by_placement[place]
        results, separate = split_separate(everything)
        title = f"IPC round trip, placement: {place}"
        rounds = round_count(everything)
        # With rounds: a line under the title saying how the figures were combined.
        rounds_note = None
        if rounds:
            rounds_note = (f"rounds: {rounds} (latencies and ops/s: median across rounds; "
                           f"ratios and differences: median of the per-round values)")
            short = short_rounds(everything)
            if short:
                rounds_note += "; fewer rounds (failed runs): " + ", ".join(
                    f"{name} {fmt_size(size)} ({n})" for name, size, n in short)
        rows, ratio_header, ratio_rows = build_tables(results)
        handout_rows = separate_rows(separate)
        targets = target_rows(everything) + throughput_target_rows(everything)
        pipelined = throughput_rows(everything)

        diffs = difference_rows(results)
        # (heading or None, table) in print order; each is printed after a blank line.
        sections = []
        if rows:
            sections.append((None, text_table(HEADER, rows)))
        if ratio_rows:
            sections.append(("p50 ratios (median over rounds of numerator p50 / denominator p50 in the same round):"
                             if rounds else "p50 ratios (numerator p50 / denominator p50):",
                             text_table(ratio_header, ratio_rows)))
        if diffs:
            sections.append(("p50 differences (what the feature adds per call):",
                             text_table(["size", "difference", "µs"], diffs)))
        if handout_rows:
            sections.append(("Channel hand-out (new direct channel + first echo call; request -> first reply):",
                             text_table(HEADER, handout_rows)))
        if pipelined:
            sections.append(("Pipelined throughput (calls kept in flight from one client; routed: async tasks on one connection):",
                             text_table(THROUGHPUT_HEADER, pipelined)))
        if targets:
            sections.append(("Targets (p50; met = this run is within the target):",
                             text_table(TARGET_HEADER, targets)))
        print(title)
        if rounds_note:
            print(rounds_note)
        for heading, table in sections:
            print()
            if heading:
                print(heading)
            print(table)
        print()

        svg_name = "latency.svg" if len(by_placement) == 1 else f"latency-{place}.svg"
        md += [f"# {title}", ""]
        if rounds_note:
            md += [rounds_note[0].upper() + rounds_note[1:] + ".", ""]
        if rows:
            md += [md_table(HEADER, rows), ""]
        if ratio_rows:
            md += ["## p50 ratios", "", md_table(ratio_header, ratio_rows), ""]
        if diffs:
            md += ["## p50 differences", "", md_table(["size", "difference", "µs"], diffs), ""]
        if handout_rows:
            md += ["## Channel hand-out", "",
                   "A new direct channel per sample: request -> accepted -> first echo reply.", "",
                   md_table(HEADER, handout_rows), ""]
        if pipelined:
            md += ["## Pipelined throughput", "",
                   "Calls kept in flight from one client process (ours: async tasks on one connection; "
                   "the C relay's client: a window of requests on its socket). Ratios: median of the per-round ratios of calls/s.", "",
                   md_table(THROUGHPUT_HEADER, pipelined), ""]
        if targets:
            md += ["## Targets", "", "p50; *met* says whether this run is within the target.", "",
                   md_table(TARGET_HEADER, targets), ""]
        md += ["## Mechanisms", ""]
        md += [f"- `{n}`: {DESCRIPTIONS.get(n, '(no description)')}"
               for n in mechanism_order({n for n, _ in everything if not INFLIGHT.match(n)})]
        md += [""]

        chart_title = f"{title}, median of {rounds} rounds" if rounds > 1 else title
        svg = svg_chart(results, chart_title) if results else None
        if svg:
            with open(os.path.join(out_dir, svg_name), "w") as f:
                f.write(svg)
            written.append(svg_name)
            md += [f"![latency]({svg_name})", ""]
        tsvg = svg_throughput(everything, f"Pipelined throughput, placement: {place}")
        if tsvg:
            tname = "throughput.svg" if len(by_placement) == 1 else f"throughput-{place}.svg"
            with open(os.path.join(out_dir, tname), "w") as f:
                f.write(tsvg)
            written.append(tname)
            md += [f"![throughput]({tname})", ""]

    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write("\n".join(md))
    print(f"wrote {', '.join([os.path.join(out_dir, 'report.md')] + written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
