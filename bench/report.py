"""report - the output of bench/run: the table on stdout, results.csv and
the plot (gnuplot: latency.png and latency.svg).

Rows are dicts with the keys of CSV_KEYS but ratio, which is value / base
when both are known. Callers: bench/run only.
"""
import csv
import os
import platform
import shutil
import subprocess
import time

CSV_KEYS = ("section", "test", "setup", "threads", "procs", "size", "gap", "metric", "unit",
            "value", "baseline", "base", "ratio", "note")


def machine(reps, quick):
    """The lines that head the table: when, where, how many runs."""
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    return ("mplog bench %s, %s, %d CPUs, Linux %s, load average %s at start\n"
            "every number is the median of %d runs (%s); ratio = mplog / baseline"
            % (time.strftime("%Y-%m-%d %H:%M"), "quick" if quick else "full", os.cpu_count(),
               platform.release(), load, reps, "BENCH_QUICK sizes" if quick else "full sizes"))


def fmt(v, unit=""):
    """A value for the table: '-' when missing, integers for ns and KiB."""
    if v is None:
        return "-"
    if unit == "cpu s/M lines":
        return "%.2f" % v
    return "%d" % round(v)


def us(ns):
    """Nanoseconds as microseconds, one decimal."""
    return "-" if ns is None else "%.1f" % (ns / 1000)


def ratio(v, base):
    return None if v is None or not base else v / base


def fmt_ratio(r):
    """x and two decimals; one significant digit below 0.01, not x0.00."""
    if r is None:
        return "-"
    return "x%.1g" % r if r < 0.01 else "x%.2f" % r


def pick(rows, **want):
    """The value of the one row matching want, or None."""
    for r in rows:
        if all(r[k] == v for k, v in want.items()):
            return r["value"]
    return None


def note_of(rows, **want):
    for r in rows:
        if all(r[k] == v for k, v in want.items()):
            return r["note"]
    return ""


LATENCY_GAPS = ((0, "back to back (the regime of the project's p50/p99 targets)"),
                (100, "100 us apart: a clock_nanosleep before each call (cold caches)"))


def table_latency(rows):
    """Back to back first, then 100 us apart; then the timer's floor."""
    out = ["", "1. Per-call latency, ns: one 64-byte line per call",
           "%-8s %3s  %-9s %8s %8s %8s %8s  %9s %9s" % ("call", "thr", "setup", "p50", "p99",
                                                       "p99.9", "max", "p50 ratio", "p99 ratio")]
    lat = [r for r in rows if r["section"] == "latency"]
    for gap, title in LATENCY_GAPS:
        out.append(title)
        for call in ("syslog", "fprintf", "write"):
            base = "rsyslogd" if call == "syslog" else "file"
            for thr in (1, 4):
                for setup in ("mplog", base):
                    sel = dict(test=call, threads=thr, setup=setup, gap=gap)
                    v = {m: pick(lat, metric=m, **sel) for m in ("p50", "p99", "p999", "max")}
                    line = "%-8s %3d  %-9s %8s %8s %8s %8s" % (
                        call, thr, setup, fmt(v["p50"]), fmt(v["p99"]), fmt(v["p999"]),
                        fmt(v["max"]))
                    if setup == "mplog":
                        line += "  %9s %9s" % tuple(
                            fmt_ratio(ratio(v[m], pick(lat, metric=m, test=call, threads=thr,
                                                       setup=base, gap=gap)))
                            for m in ("p50", "p99"))
                    elif v["p50"] is None:
                        line += "  " + note_of(lat, metric="p50", **sel)
                    out.append(line)
    out.append("timer: the two clock reads around each call cost about %s ns (p50 of an empty "
               "call); every latency above includes them"
               % fmt(pick(lat, test="none", setup="none", metric="p50")))
    out.append("floor: a bare push into the heap ring (timestamp, claim, 64-byte copy, publish; "
               "bench/floor), timed the same way: p50 %s ns, p99 %s ns"
               % tuple(fmt(pick(lat, test="floor", setup="ring", metric=m))
                       for m in ("p50", "p99")))
    return out


def table_throughput(rows):
    out = ["", "2. Throughput: P processes x 2 threads, 64-byte lines back to back, until all are written",
           "%5s  %-10s %10s %8s %13s %13s %8s  %s" % (
               "procs", "setup", "lines/s", "vs file", "vs rsyslogd", "daemon cpu", "prod cpu",
               "lines (all arrived)"),
           "%5s  %-10s %10s %8s %13s %13s %8s" % ("", "", "", "", "", "s/M lines", "s/M")]
    tp = [r for r in rows if r["section"] == "throughput"]
    for procs in sorted({r["procs"] for r in tp}):
        for setup in ("mplog", "mplog json", "rsyslogd", "file"):
            sel = dict(procs=procs, setup=setup)
            rate = pick(tp, metric="rate", **sel)
            if setup == "mplog json" and rate is None:
                continue
            vs = ["", ""]
            if setup.startswith("mplog"):
                vs = [fmt_ratio(ratio(rate, pick(tp, metric="rate", procs=procs, setup=b)))
                      for b in ("file", "rsyslogd")]
            out.append("%5d  %-10s %10s %8s %13s %13s %8s  %s" % (
                procs, setup, fmt(rate), vs[0], vs[1],
                fmt(pick(tp, metric="daemon", **sel), "cpu s/M lines"),
                fmt(pick(tp, metric="producer", **sel), "cpu s/M lines"),
                note_of(tp, metric="rate", **sel)))
    return out


IDLE_MEMORY = ("rss", "anon", "file", "shmem")


def table_profile(rows):
    """The top functions of each side of the end-to-end load."""
    prof = [r for r in rows if r["section"] == "profile"]
    if not prof:
        return []
    out = ["", "2b. Profile of the load above, 4 processes x 2 threads (perf record -a):",
           "    the CPU each side spent a line (from its count of samples), and the top",
           "    functions of each by share of its samples"]
    for comm, what in (("mplogd", "mplogd"), ("mplog-pipeline", "the pipeline threads"),
                       ("load", "the producers' threads")):
        mine = [r for r in prof if r["test"] == comm and r["metric"] == "share"]
        cpu = pick(prof, test=comm, metric="cpu")
        what = "%s (%s ns a line)" % (what, fmt(cpu)) if cpu is not None else what
        if len(mine) == 1 and mine[0]["value"] is None:
            out.append("%-24s %s" % (what, mine[0]["note"]))
            continue
        out.append("%s\n    %s" % (what, ", ".join("%s %.1f%%" % (r["setup"], r["value"])
                                                  for r in mine)))
    return out


def table_idle(rows):
    idle = [r for r in rows if r["section"] == "idle"]
    ex = {s: pick(idle, test="exec /bin/true", setup=s) for s in ("no shim", "mplog")}
    added = None if None in ex.values() else ex["mplog"] - ex["no shim"]
    out = ["", "3. Cost for work that does not log",
           "exec of /bin/true, median wall time: no shim %s us, mplog %s us, added %s us (%s)"
           % (us(ex["no shim"]), us(ex["mplog"]), us(added),
              fmt_ratio(ratio(ex["mplog"], ex["no shim"]))),
           "memory of a process (bench/rss), KiB: RSS = anon (private: heap, stacks, written data)",
           "  + file (pages of the program's, libc's and the shim's files, shared in the page cache)",
           "  + shmem (mplog's segment, shared with mplogd); each a median of its own",
           "%-20s %-8s %8s %8s %8s %8s %8s" % ("process (bench/rss)", "setup", "RSS", "anon",
                                                "file", "shmem", "threads")]
    for when in ("before first line", "after first line", "after 10000 lines"):
        v = {(s, m): pick(idle, test=when, setup=s, metric=m)
             for s in ("no shim", "mplog") for m in IDLE_MEMORY + ("thr",)}
        for s in ("no shim", "mplog", "added"):
            if s == "added":
                col = [None if None in (v["mplog", m], v["no shim", m]) else
                       v["mplog", m] - v["no shim", m] for m in IDLE_MEMORY + ("thr",)]
            else:
                col = [v[s, m] for m in IDLE_MEMORY + ("thr",)]
            out.append("%-20s %-8s %8s %8s %8s %8s %8s" % (
                when if s == "no shim" else "", s, *(fmt(c) for c in col)))
    return out + table_first(idle)


def table_first(idle):
    """A process's first write(2) (attaching included) and its second."""
    setups = ("no shim", "mplog segment", "mplog")
    v = {(s, m): pick(idle, test="%s write(2)" % m, setup=s)
         for s in setups for m in ("first", "second")}
    out = ["first line of a process (bench/first), median, us: the first write(2) attaches",
           "  (mplog: a lane of its own over mplogd's socket; mplog segment: the shared segment)",
           "%-14s %10s %10s" % ("setup", "first", "second")]
    for s in setups:
        out.append("%-14s %10s %10s" % (s, us(v[s, "first"]), us(v[s, "second"])))
    out.append("the handshake alone (bench/handshake: connect, hello, reply, three mappings): "
               "%s us" % us(pick(idle, test="handshake", setup="mplog")))
    return out


def table_scaling(rows):
    sc = [r for r in rows if r["section"] == "scaling"]
    out = ["", "4. Scaling: write(2) latency, ns, under mplog and to a file; gap: the sleep before each call",
           "%-10s %6s %3s %6s  %9s %9s %7s  %9s %9s %7s" % (
               "", "bytes", "thr", "gap us", "mplog p50", "file p50", "ratio", "mplog p99",
               "file p99", "ratio")]
    for kind in ("by size", "by threads", "by gap"):
        keys = sorted({(r["size"], r["threads"], r["gap"]) for r in sc if r["test"] == kind})
        for size, thr, gap in keys:
            sel = dict(test=kind, size=size, threads=thr, gap=gap)
            v = {(s, m): pick(sc, setup=s, metric=m, **sel)
                 for s in ("mplog", "file") for m in ("p50", "p99")}
            out.append("%-10s %6d %3d %6d  %9s %9s %7s  %9s %9s %7s" % (
                kind, size, thr, gap, fmt(v["mplog", "p50"]), fmt(v["file", "p50"]),
                fmt_ratio(ratio(v["mplog", "p50"], v["file", "p50"])),
                fmt(v["mplog", "p99"]), fmt(v["file", "p99"]),
                fmt_ratio(ratio(v["mplog", "p99"], v["file", "p99"]))))
    return out


def table_syscalls(rows):
    sc = [r for r in rows if r["section"] == "syscalls"]
    out = ["", "5. System calls per 1000 lines under mplog, every thread of the program "
           "(the pipeline's too), one thread calling",
           "%-10s %8s %16s" % ("call", "gap us", "per 1000 lines")]
    for call in ("syslog", "fprintf", "write"):
        for gap in sorted({r["gap"] for r in sc if r["test"] == call}):
            r = [x for x in sc if x["test"] == call and x["gap"] == gap][0]
            v = r["value"]
            out.append("%-10s %8d %16s%s" % (call, gap, "-" if v is None else "%.1f" % v,
                                             "  " + r["note"] if r["note"] else ""))
    return out


def write_csv(rows, path):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_KEYS)
        w.writeheader()
        for r in rows:
            r = dict(r, ratio=ratio(r["value"], r["base"]))
            w.writerow({k: ("" if r.get(k) is None else
                            ("%.4g" % r[k] if isinstance(r[k], float) else r[k]))
                        for k in CSV_KEYS})


# ---- the plot --------------------------------------------------------

GNUPLOT = """\
set datafile missing "NaN"
set key tmargin center horizontal font ",9"
set grid ytics
set multiplot layout 2,3 title "{title}"
set title "1. per-call latency (ns), 64 bytes; baseline: rsyslogd for syslog, else a file"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set xtics rotate by -30 font ",9"
plot "{d}/latency.dat" using 2:xtic(1) title "mplog p50" lc rgb "#1f77b4", \\
     "" using 3 title "baseline p50" lc rgb "#aaaaaa", \\
     "" using 4 title "mplog p99" lc rgb "#08306b", \\
     "" using 5 title "baseline p99" lc rgb "#555555"
unset style
set style data linespoints
set xtics norotate font ",10"
set title "2. throughput (lines/s) by processes x 2 threads"
set logscale x 2
set logscale y
set xlabel "processes"
plot "{d}/throughput.dat" using 1:2 title "mplog" lw 2 pt 7 lc rgb "#1f77b4", \\
     "" using 1:3 title "rsyslogd (syslog)" lw 2 pt 5 lc rgb "#d62728", \\
     "" using 1:4 title "2>>file" lw 2 pt 9 lc rgb "#555555"
{scaling}set title "3. cost for a process that does not log"
unset border
unset tics
unset xlabel
unset logscale
set label 1 "{idle}" at graph 0.02, graph 0.9 font ",12"
plot [0:1] [0:1] NaN notitle
unset multiplot
"""


SCALING_PANEL = """\
set title "{title}"
set xlabel "{xlabel}"
unset logscale x
set offsets 0.3, 0.3, 0, 0
plot "{d}/{name}" using 0:2:xtic(1) title "mplog p50" lw 2 pt 7 lc rgb "#1f77b4", \\
     "" using 0:3 title "file p50" lw 2 pt 7 lc rgb "#aaaaaa", \\
     "" using 0:4 title "mplog p99" lw 2 pt 5 dt 2 lc rgb "#08306b", \\
     "" using 0:5 title "file p99" lw 2 pt 5 dt 2 lc rgb "#555555"
"""
SCALING = (("by size", "size.dat", "size", "bytes per line",
            "4a. write(2) latency (ns) by line size, 1 thread"),
           ("by threads", "threads.dat", "threads", "threads",
            "4b. write(2) latency (ns) by threads, 64 bytes"),
           ("by gap", "gap.dat", "gap", "sleep before each call, us (0: back to back)",
            "4c. write(2) latency (ns) by call rate, 1 thread, 64 bytes"))


def dat(path, lines):
    with open(path, "w") as f:
        for cols in lines:
            f.write(" ".join("NaN" if c is None else str(c) for c in cols) + "\n")


def idle_text(rows):
    """Section 3 as lines of text for the plot's sixth panel."""
    idle = [r for r in rows if r["section"] == "idle"]
    ex = {s: pick(idle, test="exec /bin/true", setup=s) for s in ("no shim", "mplog")}
    text = ["exec of /bin/true, median:", "  no shim %s us, mplog %s us" % (us(ex["no shim"]),
                                                                         us(ex["mplog"])),
            "", "RSS KiB = anon + file + shmem, threads; no shim / mplog:"]
    for when in ("before first line", "after first line", "after 10000 lines"):
        v = {(s, m): fmt(pick(idle, test=when, setup=s, metric=m))
             for s in ("no shim", "mplog") for m in IDLE_MEMORY + ("thr",)}
        text.append("  %s:" % when)
        for s in ("no shim", "mplog"):
            text.append("    %-7s %s = %s + %s + %s, %s" % (
                s, *(v[s, m] for m in IDLE_MEMORY + ("thr",))))
    lat = [r for r in rows if r["section"] == "latency"]
    text += ["", "timer (p50 of an empty call): %s ns"
             % fmt(pick(lat, test="none", setup="none", metric="p50")),
             "floor (p50 of a bare ring push): %s ns"
             % fmt(pick(lat, test="floor", setup="ring", metric="p50"))]
    return "\\n".join(text)


def plot(rows, out, title):
    """The four panels as latency.png and latency.svg; the files made, or
    why none were."""
    gp = shutil.which("gnuplot")
    if gp is None:
        return "no plot: gnuplot is missing (scripts/setup-deps bench installs gnuplot-nox)"
    d = os.path.join(out, "plot")
    os.makedirs(d, exist_ok=True)
    lat = [r for r in rows if r["section"] == "latency"]
    lines = []
    for gap in (0, 100):
        for call in ("syslog", "fprintf", "write"):
            base = "rsyslogd" if call == "syslog" else "file"
            for thr in (1, 4):
                lines.append(['"%s %dt %s"' % (call, thr, "b2b" if gap == 0 else "%dus" % gap)] +
                             [pick(lat, test=call, threads=thr, setup=s, metric=m, gap=gap)
                              for m in ("p50", "p99") for s in ("mplog", base)])
    dat(os.path.join(d, "latency.dat"), lines)
    tp = [r for r in rows if r["section"] == "throughput" and r["metric"] == "rate"]
    dat(os.path.join(d, "throughput.dat"),
        [[p] + [pick(tp, procs=p, setup=s) for s in ("mplog", "rsyslogd", "file")]
         for p in sorted({r["procs"] for r in tp})])
    sc = [r for r in rows if r["section"] == "scaling"]
    for kind, name, key, _, _ in SCALING:
        xs = sorted({r[key] for r in sc if r["test"] == kind})
        dat(os.path.join(d, name),
            [[x] + [pick(sc, test=kind, setup=s, metric=m, **{key: x})
                    for m in ("p50", "p99") for s in ("mplog", "file")] for x in xs])
    made = []
    for term, ext in (("pngcairo size 1800,1000 font \",11\"", "png"),
                      ("svg size 1800,1000 dynamic font \"sans,11\"", "svg")):
        path = os.path.join(out, "latency." + ext)
        script = "set terminal %s\nset output \"%s\"\n" % (term, path) + \
            GNUPLOT.format(d=d, title=title, idle=idle_text(rows), scaling="".join(
                SCALING_PANEL.format(d=d, name=n, xlabel=x, title=t) for _, n, _, x, t in SCALING))
        r = subprocess.run([gp], input=script.encode(), capture_output=True)
        if r.returncode != 0:
            return "no plot: gnuplot failed: %s" % r.stderr.decode(errors="replace")[-300:]
        made.append(path)
    return "plot: " + ", ".join(made)


def write_all(rows, out, header, secs):
    """Print the tables, write results.csv and the plot."""
    lines = [header]
    for t in (table_latency, table_throughput, table_profile, table_idle, table_scaling,
              table_syscalls):
        lines += t(rows)
    path = os.path.join(out, "results.csv")
    write_csv(rows, path)
    lines += ["", "csv: " + path,
              plot(rows, out, "mplog bench, " + time.strftime("%Y-%m-%d %H:%M")),
              "took %.0f s" % secs]
    print("\n".join(lines))
