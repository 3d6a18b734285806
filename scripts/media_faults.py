#!/usr/bin/env python3
"""Crash faults for media uploads, with real processes: a device attaches photos offline and syncs
them over a (real-time) shaped link while fieldsyncd is SIGKILLed at random moments and at the
named points mid-piece (a piece written, not answered) and mid-finish (a file received and hashed,
not stored), and the device process is SIGKILLed mid-upload. After every kill the daemon restarts
on the same database and the device syncs again. Checks: every photo arrives exactly once with
identical bytes (SHA-256 of the download), the media directory holds one file per photo, and no
partial upload is left after `fieldsyncd admin collect-uploads --all`. With --postgres the daemon
keeps everything, blobs included, in PostgreSQL (a schema of its own, dropped at the end).
  scripts/media_faults.py --bin .build/debug [--photos 3] [--size 300000] [--rounds 10] [--seed N]
                          [--postgres postgres://USER:PASSWORD@HOST:PORT/DB]
"""
import argparse
import hashlib
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faults import free_port  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=".build/release")
    ap.add_argument("--photos", type=int, default=3)
    ap.add_argument("--size", type=int, default=300_000)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--postgres", help="base URL of a PostgreSQL database: the daemon stores everything there")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    fs, fsd = os.path.abspath(os.path.join(a.bin, "fieldsync")), os.path.abspath(os.path.join(a.bin, "fieldsyncd"))
    work = tempfile.mkdtemp(prefix="fieldsync-media-faults-")
    db = os.path.join(work, "county.sqlite")
    run = lambda *args, **kw: subprocess.run(args, cwd=work, capture_output=True, text=True, **kw)
    schema = f"fsm_{os.getpid()}_{a.seed}"
    base = a.postgres.split("?")[0] if a.postgres else None
    if a.postgres:
        sep = "&" if "?" in a.postgres else "?"
        store_args = ["--postgres", f"{a.postgres}{sep}schema={schema}"]
    else:
        store_args = ["--db", db]

    def sql(query):
        r = subprocess.run(["psql", base, "-qtAc", query], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"FAILED: psql: {r.stderr}")
        return [line for line in r.stdout.splitlines() if line]

    def held_blobs():
        if a.postgres:
            return sql(f"SELECT sha256 FROM {schema}.blobs WHERE purged_ms IS NULL")
        return [f for root, _, files in os.walk(db + "-media/blobs") for f in files if not f.endswith(".purged")]

    def partial_uploads():
        if a.postgres:
            return int(sql(f"SELECT count(*) FROM {schema}.uploads")[0])
        return len(os.listdir(db + "-media/uploads"))

    def last_line(r):
        if r.returncode != 0:
            sys.exit(f"FAILED: {r.args}: {r.stdout}{r.stderr}")
        return r.stdout.strip().splitlines()[-1]

    last_line(run(fsd, "admin", "create-admin", *store_args))
    enrollment = last_line(run(fsd, "admin", "enroll", *store_args, "--county", "kisumu", "--device", "cam"))
    desk = last_line(run(fsd, "admin", "create-operator", *store_args, "--name", "desk", "--county", "kisumu"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    daemon = None

    def start(fault=None):
        nonlocal daemon
        env = dict(os.environ)
        env.pop("FIELDSYNC_FAULT", None)
        if fault:
            env["FIELDSYNC_FAULT"] = fault
        daemon = subprocess.Popen([fsd, "serve", *store_args, "--port", str(port), "--log-level", "error"],
                                  cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        sys.exit("FAILED: the daemon did not start")

    def stop():
        if daemon and daemon.poll() is None:
            daemon.send_signal(signal.SIGKILL)
        if daemon:
            daemon.wait()

    import atexit
    atexit.register(stop)  # also when a check fails and the run exits early
    if a.postgres:
        atexit.register(lambda: sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    start()
    store = os.path.join(work, "cam.sqlite")
    last_line(run(fs, "device", "enroll", "--store", store, "--server", url, "--token", enrollment))
    report = last_line(run(fs, "report", "new", "--store", store, "--category", "pothole", "--description", "hole"))
    photos = {}
    for i in range(a.photos):
        data = bytes(rng.getrandbits(8) for _ in range(a.size))
        path = os.path.join(work, f"photo{i}.jpg")
        open(path, "wb").write(data)
        photos[hashlib.sha256(data).hexdigest()] = data
        last_line(run(fs, "report", "attach", report, "--store", store, "--file", path))
    link = "custom:bw=2000,up=600,rtt=100"
    kills = {"daemon": 0, "mid-piece": 0, "mid-finish": 0, "device": 0}
    kinds = ["daemon", "mid-piece", "mid-finish", "device"] * (a.rounds // 4 + 1)
    for round_ in range(a.rounds):
        kind = kinds[round_]
        if kind in ("mid-piece", "mid-finish"):
            stop()
            start(f"{kind}:{rng.randint(1, 4) if kind == 'mid-piece' else 1}")
        sync = subprocess.Popen([fs, "sync", "--store", store, "--link", link, "--real-time", "--seed", str(round_)],
                                cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if kind in ("daemon", "device"):
            time.sleep(rng.uniform(0.3, 2.5))
            (daemon if kind == "daemon" else sync).send_signal(signal.SIGKILL)
        try:
            sync.wait(timeout=120)
        except subprocess.TimeoutExpired:
            sync.kill()
            sys.exit(f"FAILED: round {round_}: a sync hung")
        if daemon.poll() is not None:
            kills[kind] += 1
        elif kind == "device" and sync.returncode == -signal.SIGKILL:
            kills["device"] += 1
        stop()
        start()
    # Connectivity returns: sync until nothing waits.
    for _ in range(10):
        run(fs, "sync", "--store", store)
        if "media waiting" not in run(fs, "status", "--store", store).stdout:
            break
    else:
        sys.exit("FAILED: media still waiting after the faults")
    for sha, data in photos.items():
        req = urllib.request.Request(f"{url}/v1/media/{sha}", headers={"Authorization": "Bearer " + desk})
        try:
            body = urllib.request.urlopen(req, timeout=10).read()
        except urllib.error.HTTPError as e:
            sys.exit(f"FAILED: photo {sha[:12]}… is not on the server (HTTP {e.code})")
        if hashlib.sha256(body).hexdigest() != sha or body != data:
            sys.exit(f"FAILED: photo {sha[:12]}… arrived with other bytes")
    stop()
    blobs = held_blobs()
    if sorted(blobs) != sorted(photos):
        sys.exit(f"FAILED: the media store holds {len(blobs)} files for {len(photos)} photos")
    left = partial_uploads()
    last_line(run(fsd, "admin", "collect-uploads", *store_args, "--all"))
    if partial_uploads():
        sys.exit("FAILED: partial uploads left after collect-uploads --all")
    engine = "PostgreSQL" if a.postgres else "SQLite and files"
    print(f"media faults ({engine}): {a.photos} photos of {a.size} bytes over {a.rounds} rounds; kills that landed: "
          + ", ".join(f"{k} {v}" for k, v in kills.items())
          + f"; every photo arrived once with identical bytes; {left} partial files before collection, none after")


if __name__ == "__main__":
    main()
