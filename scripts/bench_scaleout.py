#!/usr/bin/env python3
"""Scale-out benchmark (scripts/bench-scaleout): persisted ingest through running fieldsyncd
processes — one daemon on SQLite, one and two daemons on one PostgreSQL — and the morning storm
(1,000 devices at once) against one SQLite daemon and two PostgreSQL daemons. Every
configuration starts from an empty store. Prints a markdown section for docs/benchmarks.md.
"""
import argparse, json, os, re, statistics, subprocess, sys, tempfile, time, uuid

p = argparse.ArgumentParser()
p.add_argument("--bin", default=".build/release")
p.add_argument("--postgres", required=True, help="base URL of an empty database")
p.add_argument("--repeats", type=int, default=3)
p.add_argument("--devices", type=int, default=50)
p.add_argument("--edits", type=int, default=2000)
p.add_argument("--storm", default="scripts/scenarios/morning-storm.json")
p.add_argument("--json")
p.add_argument("--only", choices=["ingest", "storm"], help="measure one part only (for checking)")
args = p.parse_args()
B = os.path.abspath(args.bin)
tmp = tempfile.mkdtemp(prefix="fieldsync-scaleout-")


def store_args(kind, tag):
    if kind == "sqlite":
        return ["--db", os.path.join(tmp, f"{tag}.sqlite")]
    sep = "&" if "?" in args.postgres else "?"
    return ["--postgres", f"{args.postgres}{sep}schema=bench_{tag}&pool=16"]


def start(kind, n, tag):
    sa = store_args(kind, tag)
    admin = subprocess.run([f"{B}/fieldsyncd", "admin", "create-admin", *sa], check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    procs, urls = [], []
    for i in range(n):
        pf = os.path.join(tmp, f"{tag}-{i}.port")
        log = open(os.path.join(tmp, f"{tag}-{i}.log"), "w")
        pr = subprocess.Popen([f"{B}/fieldsyncd", "serve", *sa, "--port", "0", "--port-file", pf, "--log-level", "error",
                               "--sign-in-limit", "100000"], stdout=log, stderr=log)
        for _ in range(400):
            if os.path.exists(pf) and open(pf).read().strip():
                break
            time.sleep(0.05)
        procs.append(pr)
        urls.append(f"http://127.0.0.1:{open(pf).read().strip()}")
    return admin, procs, urls


def stop(procs, kind, tag):
    for pr in procs:
        pr.terminate()
    for pr in procs:
        pr.wait()
    if kind == "postgres":
        base = args.postgres.split("?")[0]
        subprocess.run(["psql", base, "-qc", f"DROP SCHEMA IF EXISTS bench_{tag} CASCADE"], check=False, capture_output=True)


def ingest(kind, n):
    rates = []
    for r in range(args.repeats):
        tag = f"i{kind[0]}{n}{r}{uuid.uuid4().hex[:6]}"
        admin, procs, urls = start(kind, n, tag)
        try:
            out = subprocess.run([f"{B}/fieldsync-bench", "--ingest-servers", ",".join(urls), "--admin-token", admin,
                                  "--devices", str(args.devices), "--edits", str(args.edits)], check=True, capture_output=True, text=True).stdout
            rate = float(re.search(r"= (\d+) changes/s", out).group(1))
            rates.append(rate)
            if r == 0:
                sizes[f"{kind}-{n}"] = stored_bytes(kind, tag)
            print(f"  ingest {kind} × {n}: {rate:,.0f} changes/s", file=sys.stderr)
        finally:
            stop(procs, kind, tag)
    return rates


sizes = {}


def stored_bytes(kind, tag):
    """Bytes the store takes after the ingest: tables, indexes and TOAST, or the SQLite file and WAL."""
    if kind == "sqlite":
        path = os.path.join(tmp, f"{tag}.sqlite")
        return sum(os.path.getsize(path + sfx) for sfx in ("", "-wal") if os.path.exists(path + sfx))
    base = args.postgres.split("?")[0]
    q = ("SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
         f"WHERE n.nspname = 'bench_{tag}' AND c.relkind = 'r'")
    return int(subprocess.run(["psql", base, "-Atc", q], check=True, capture_output=True, text=True).stdout.strip() or 0)


def storm(kind, n):
    tag = f"s{kind[0]}{n}{uuid.uuid4().hex[:6]}"
    admin, procs, urls = start(kind, n, tag)
    out = os.path.join(tmp, f"{tag}.json")
    try:
        subprocess.run([f"{B}/fieldsync", "simulate", "--scenario", args.storm, "--server", ",".join(urls), "--admin-token", admin,
                        "--json", out], check=True, capture_output=True, text=True)
        s = json.load(open(out))
        print(f"  storm {kind} × {n}: {s}", file=sys.stderr)
        return s
    finally:
        stop(procs, kind, tag)


def med(xs):
    return statistics.median(xs)


results = {"ingest": {}, "storm": {}}
if args.only != "storm":
    for kind, n in (("sqlite", 1), ("postgres", 1), ("postgres", 2)):
        results["ingest"][f"{kind}-{n}"] = ingest(kind, n)
if args.only != "ingest":
    for kind, n in (("sqlite", 1), ("postgres", 2)):
        results["storm"][f"{kind}-{n}"] = storm(kind, n)
if args.only:
    print(json.dumps(results, indent=1))
    sys.exit(0)
if args.json:
    json.dump(results, open(args.json, "w"), indent=2)

ing = results["ingest"]
base = med(ing["sqlite-1"])
total = args.devices * args.edits
print(f"Persisted ingest through running daemons: {args.devices} devices push {total:,} changes at once (signed runs,")
print("500-change pushes, each device's requests to every daemon in turn); median of "
      f"{args.repeats} runs, each from an empty store. Daemons, PostgreSQL and the pushing devices share the same {os.cpu_count()} cores.")
print()
print("| store | daemons | changes/s (median, min–max) | ÷ SQLite, same run |")
print("|---|---|---|---|")
for key, label in (("sqlite-1", ("SQLite", 1)), ("postgres-1", ("PostgreSQL 15", 1)), ("postgres-2", ("PostgreSQL 15", 2))):
    xs = ing[key]
    print(f"| {label[0]} | {label[1]} | {med(xs):,.0f} ({min(xs):,.0f}–{max(xs):,.0f}) | {med(xs) / base:.2f} |")
print()
total_changes = total + 200
print("Stored size after the ingest (changes, heads, conflicts, indexes): " + "; ".join(
    f"{k.split('-')[0]} {v / total_changes:,.0f} bytes per change" for k, v in sizes.items() if k.endswith("-1")) + ".")
print()
print(f"Morning storm ({args.storm}): 1,000 devices in 10 counties sync at once over simulated 3G.")
print()
print("| store | daemons | devices | changes on server | p50 / p99 sync | wall time | converged |")
print("|---|---|---|---|---|---|---|")
for key, label in (("sqlite-1", ("SQLite", 1)), ("postgres-2", ("PostgreSQL 15", 2))):
    s = results["storm"][key]
    print(f"| {label[0]} | {label[1]} | {s['devices']:,} | {s['changesOnServer']:,} | "
          f"{s['syncP50Millis']:,.0f} / {s['syncP99Millis']:,.0f} ms | {s['wallSeconds']:.1f} s | "
          f"{'yes' if not s['diverged'] else 'NO: ' + str(len(s['diverged']))} |")
