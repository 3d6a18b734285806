#!/usr/bin/env python3
"""Crash-fault injection with real processes (see docs/reliability.md).

A real `fieldsyncd` and real `fieldsync` device processes. The devices first write a seeded
workload offline (new reports, edits of their own, edits of 30 reports they all share, so that
concurrent edits open conflicts); that starting point is kept. A reference run syncs it with no
faults. Then each episode starts again from the same point and syncs it while the daemon is
killed with SIGKILL — at a seeded random moment, or at a named point inside the code path
(FIELDSYNC_FAULT: inside a push's ingest transaction, between commit and reply, during a pull,
inside the lazy flush) — and device processes are killed mid-sync too. After every kill the
database is checked (SQLite integrity check, no duplicated dot) before the daemon is restarted
on it. When an episode's kills are spent, the devices sync until quiet and the run checks:
every change a device holds in its own log is on the server exactly once (lost 0, duplicated 0),
every device's state equals the server's (diverged 0), and the server's state — reports, open
and resolved conflicts — equals the reference run's byte for byte.

A field-chaos episode follows (--no-field-chaos to skip): a peer revoked after another device
relayed its changes, a phone restored from a backup and written to before it syncs, a store
copied to a second phone with both writing, and a clock 8 days ahead then fixed. Every device but
the revoked one must end with its whole own log on the server exactly once and the server's
state; the relaying device must have set the revoked device's changes aside.

Usage: scripts/faults [--episodes N] [--kills N] [--devices N] [--edits N] [--seed N] [--bin DIR]
"""
import argparse
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

COUNTY = "kisumu"
POINTS = ["mid-batch", "after-commit", "mid-pull", "mid-flush"]
# On PostgreSQL nothing is flushed lazily; instead a push can be committed and not yet published.
POSTGRES_POINTS = ["mid-batch", "after-commit", "mid-pull", "before-publish"]


class Harness:
    def __init__(self, args):
        self.args = args
        self.bin = os.path.abspath(args.bin)
        self.work = tempfile.mkdtemp(prefix="fieldsync-faults-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.daemon = None
        self.devices = [f"dev-{d}" for d in range(args.devices)]
        self.points = POSTGRES_POINTS if args.postgres else POINTS

    # the server's database: a SQLite file, or (--postgres) a schema named after its directory

    def schema(self, db):
        return "fsf_" + re.sub(r"[^a-z0-9]", "_", os.path.basename(os.path.dirname(db)).lower())

    def db_args(self, db):
        if not self.args.postgres:
            return ["--db", db]
        sep = "&" if "?" in self.args.postgres else "?"
        return ["--postgres", f"{self.args.postgres}{sep}schema={self.schema(db)}"]

    def copy_db(self, source_dir, target_dir):
        """The server database of source_dir, copied for target_dir (files are copied with the directory)."""
        if not self.args.postgres:
            return
        base = self.args.postgres.split("?")[0]
        src, dst = self.schema(os.path.join(source_dir, "server.sqlite")), self.schema(os.path.join(target_dir, "server.sqlite"))
        dump = subprocess.run(["pg_dump", "--no-owner", f"--schema={src}", base], check=True, capture_output=True, text=True).stdout
        subprocess.run(["psql", base, "-q", "-v", "ON_ERROR_STOP=1"], input=dump.replace(src, dst), check=True, capture_output=True, text=True)

    def drop_db(self, directory):
        if self.args.postgres:
            base = self.args.postgres.split("?")[0]
            subprocess.run(["psql", base, "-qc", f"DROP SCHEMA IF EXISTS {self.schema(os.path.join(directory, 'server.sqlite'))} CASCADE"],
                           capture_output=True)

    # processes

    def fieldsync(self, *argv, check=True, timeout=120):
        r = subprocess.run([f"{self.bin}/fieldsync", *argv], capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"fieldsync {' '.join(argv)} failed ({r.returncode}): {r.stderr.strip()[-400:]}")
        return r

    def admin(self, db, *argv):
        r = subprocess.run([f"{self.bin}/fieldsyncd", "admin", *argv, *self.db_args(db)], capture_output=True, text=True, timeout=120)
        return r

    def start_daemon(self, db, fault=None):
        env = dict(os.environ)
        env.pop("FIELDSYNC_FAULT", None)
        if fault:
            env["FIELDSYNC_FAULT"] = fault
        log = open(os.path.join(os.path.dirname(db), "daemon.log"), "a")
        self.daemon = subprocess.Popen([f"{self.bin}/fieldsyncd", "serve", *self.db_args(db), "--port", str(self.port), "--log-level", "warning"],
                                       stdout=log, stderr=log, env=env)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.daemon.poll() is not None:
                raise RuntimeError(f"fieldsyncd exited at start ({self.daemon.returncode}); see {log.name}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("fieldsyncd did not start listening within 30 s")

    def stop_daemon(self):
        """SIGTERM (a clean stop); returns True if the daemon died of SIGKILL instead."""
        if self.daemon is None:
            return False
        if self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        killed = self.daemon.returncode == -signal.SIGKILL
        self.daemon = None
        return killed

    def sync_all(self, directory, attempts=1):
        return [subprocess.Popen([f"{self.bin}/fieldsync", "sync", "--store", store(directory, d), "--json", "--attempts", str(attempts), "--seed", "1",
                                  "--batch", str(self.args.batch)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for d in self.devices]

    def verify_server(self, db):
        r = self.admin(db, "verify", "--json")
        if r.returncode not in (0, 2):
            raise RuntimeError(f"fieldsyncd admin verify failed: {r.stderr.strip()[-400:]}")
        return json.loads(r.stdout)

    def verify_device(self, directory, d):
        return json.loads(self.fieldsync("verify", "--store", store(directory, d), "--json", check=False).stdout)

    # phases

    def prepare(self):
        """Enrolls the devices and writes the workload offline; returns the starting directory."""
        base = os.path.join(self.work, "base")
        os.makedirs(base)
        db = os.path.join(base, "server.sqlite")
        tokens = {}
        r = self.admin(db, "create-admin")   # creates the database (other admin commands want it to exist)
        if r.returncode != 0:
            raise RuntimeError(f"create-admin failed: {r.stderr}")
        for d in self.devices:
            r = self.admin(db, "enroll", "--county", COUNTY, "--device", d)
            if r.returncode != 0:
                raise RuntimeError(f"enroll failed: {r.stderr}")
            tokens[d] = r.stdout.strip().splitlines()[-1]
        self.start_daemon(db)
        start = 1_795_000_000_000
        for d in self.devices:
            self.fieldsync("device", "enroll", "--store", store(base, d), "--server", self.url, "--token", tokens[d])
        # Reports everyone edits: created by dev-0, pulled by all before going offline.
        self.fieldsync("report", "generate", "--store", store(base, self.devices[0]), "--count", "30", "--create", "1",
                       "--shared", "0", "--seed", str(self.args.seed), "--start-millis", str(start))
        self.fieldsync("sync", "--store", store(base, self.devices[0]))
        for d in self.devices:
            self.fieldsync("sync", "--store", store(base, d))
        self.stop_daemon()
        for i, d in enumerate(self.devices):
            self.fieldsync("report", "generate", "--store", store(base, d), "--count", str(self.args.edits), "--create", "0.15",
                           "--shared", "0.25", "--seed", str(self.args.seed), "--start-millis", str(start + 100_000 + i))
        return base

    def settle(self, directory, db):
        """A fault-free daemon; devices sync until a whole round moves nothing."""
        self.start_daemon(db)
        try:
            for _ in range(8):
                quiet = True
                for p in self.sync_all(directory, attempts=3):
                    out, err = p.communicate(timeout=300)
                    if p.returncode != 0:
                        raise RuntimeError(f"a settling sync failed: {err.strip()[-400:]}")
                    s = json.loads(out)
                    quiet = quiet and s["pushed"] == 0 and s["pulled"] == 0
                if quiet:
                    return
            raise RuntimeError("devices did not settle in 8 rounds")
        finally:
            self.stop_daemon()

    def check(self, directory, db, reference=None):
        server = self.verify_server(db)
        v = server["verification"]
        logs = v["logs"]
        lost = duplicated = diverged = 0
        for d in self.devices:
            dv = self.verify_device(directory, d)
            held = logs.get(d, {"count": 0, "highest": 0})
            lost += max(0, dv["ownHighest"] - held["count"]) + (held["highest"] - held["count"])
            duplicated += dv["duplicateDots"]
            if dv["state"] != server["states"].get(COUNTY) or dv["integrity"] != ["ok"] or dv["pending"] != 0:
                diverged += 1
        duplicated += v["duplicateDots"]
        differs = reference is not None and server["states"] != reference["states"]
        return {"changes": v["changes"], "lost": lost, "duplicated": duplicated, "diverged": diverged,
                "integrity": v["integrity"] == ["ok"], "reference_differs": differs, "server": server}

    def episode(self, base, number, kills):
        rng = random.Random(self.args.seed * 1000 + number)
        directory = os.path.join(self.work, f"episode-{number}")
        shutil.copytree(base, directory)
        self.copy_db(base, directory)
        db = os.path.join(directory, "server.sqlite")
        daemon_kills = device_kills = restarts = integrity_failures = 0
        by_point = {}
        attempts = 0
        while daemon_kills < kills and attempts < kills * 4:
            attempts += 1
            # Each cycle kills the daemon at a named point (the hit-th arrival there), or at a
            # random moment, or stops it (SIGTERM) mid-sync and kills it inside the flush that a
            # stop performs; a third of cycles also kill one device's sync process mid-way.
            kind = rng.choice(self.points + ["random moment"])
            fault = f"{kind}:{rng.randint(1, 3) if kind != 'mid-flush' else 1}" if kind in self.points else None
            device_delay = rng.uniform(0.02, 0.4) if rng.random() < 0.35 else None
            timer = rng.uniform(0.02, 0.5) if kind in ("random moment", "mid-flush") else None
            self.start_daemon(db, fault)
            syncs = self.sync_all(directory)
            started = time.time()
            while any(p.poll() is None for p in syncs) and self.daemon.poll() is None:
                elapsed = time.time() - started
                if device_delay is not None and elapsed >= device_delay:
                    running = [p for p in syncs if p.poll() is None]
                    if running:
                        rng.choice(running).send_signal(signal.SIGKILL)
                        device_kills += 1
                    device_delay = None
                if timer is not None and elapsed >= timer:
                    self.daemon.send_signal(signal.SIGKILL if kind == "random moment" else signal.SIGTERM)
                    break
                time.sleep(0.005)
            for p in syncs:
                try:
                    p.communicate(timeout=120)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.communicate()
            if os.environ.get("FAULTS_DEBUG"):
                print(f"  cycle {attempts}: {kind} {fault or ''} daemon rc={self.daemon.poll() if self.daemon else None} "
                      f"devices rc={[p.returncode for p in syncs]}", file=sys.stderr)
            if self.stop_daemon():
                daemon_kills += 1
                by_point[kind] = by_point.get(kind, 0) + 1
            restarts += 1
            # The database after every stop, before the next start: sound, no dot twice.
            v = self.verify_server(db)["verification"]
            if v["integrity"] != ["ok"] or v["duplicateDots"] != 0:
                integrity_failures += 1
        self.settle(directory, db)
        result = self.check(directory, db, self.reference)
        result.update(daemon_kills=daemon_kills, device_kills=device_kills, restarts=restarts,
                      integrity_failures=integrity_failures, by_point=by_point)
        if not self.args.keep:
            shutil.rmtree(directory, ignore_errors=True)
            self.drop_db(directory)
        return result

    def copy_store(self, source, target):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(source + suffix):
                shutil.copyfile(source + suffix, target + suffix)
            elif os.path.exists(target + suffix):
                os.remove(target + suffix)

    def field_chaos(self, base):
        """Field situations on a fault-free daemon; returns the result row."""
        directory = os.path.join(self.work, "field")
        shutil.copytree(base, directory)
        self.copy_db(base, directory)
        db = os.path.join(directory, "server.sqlite")
        clock, relay, revoked, restored = self.devices[:4]
        clone = os.path.join(directory, f"{relay}-copy.sqlite")
        backup = os.path.join(directory, f"{restored}-backup.sqlite")
        now = int(time.time() * 1000)
        gen = lambda path, count, seed, start: self.fieldsync(
            "report", "generate", "--store", path, "--count", str(count), "--create", "0.2", "--shared", "0.3",
            "--seed", str(self.args.seed + seed), "--start-millis", str(start))
        # A clock 8 days ahead, then fixed: work written under both.
        gen(store(directory, clock), 40, 11, now + 8 * 86_400_000)
        gen(store(directory, clock), 10, 12, now)
        # A device relays the changes of a device that is revoked before they reach the server.
        self.fieldsync("peer", "sync", "--store", store(directory, relay), "--with", store(directory, revoked))
        self.copy_store(store(directory, restored), backup)
        self.start_daemon(db)
        paths = [store(directory, d) for d in self.devices if d != revoked] + [clone]
        try:
            self.admin(db, "revoke", revoked)
            # The phone syncs, is lost, and is restored from the older backup, then written to.
            self.fieldsync("sync", "--store", store(directory, restored), "--batch", str(self.args.batch))
            self.copy_store(backup, store(directory, restored))
            gen(store(directory, restored), 25, 13, now + 1_000)
            # The relaying device's store is copied to a second phone; both keep writing.
            self.fieldsync("sync", "--store", store(directory, relay), "--batch", str(self.args.batch))
            self.copy_store(store(directory, relay), clone)
            gen(store(directory, relay), 20, 14, now + 2_000)
            gen(clone, 20, 15, now + 3_000)
            for _ in range(8):
                quiet = True
                for path in paths:
                    r = self.fieldsync("sync", "--store", path, "--json", "--batch", str(self.args.batch), "--attempts", "3", timeout=300)
                    s = json.loads(r.stdout)
                    quiet = quiet and s["pushed"] == 0 and s["pulled"] == 0
                if quiet:
                    break
        finally:
            self.stop_daemon()
        server = self.verify_server(db)
        logs = server["verification"]["logs"]
        lost = duplicated = diverged = 0
        for path in paths:
            dv = json.loads(self.fieldsync("verify", "--store", path, "--json", check=False).stdout)
            held = logs.get(dv["device"], {"count": 0, "highest": 0})
            lost += max(0, dv["ownHighest"] - held["count"]) + (held["highest"] - held["count"])
            duplicated += dv["duplicateDots"]
            if dv["state"] != server["states"].get(COUNTY) or dv["integrity"] != ["ok"] or dv["pending"] != 0:
                diverged += 1
        duplicated += server["verification"]["duplicateDots"]
        aside = json.loads(self.fieldsync("status", "--store", store(directory, relay), "--json").stdout).get("setAside", 0)
        if not self.args.keep:
            shutil.rmtree(directory, ignore_errors=True)
            self.drop_db(directory)
        return {"lost": lost, "duplicated": duplicated, "diverged": diverged, "set_aside": aside,
                "changes": server["verification"]["changes"], "devices": len(paths)}

    def run(self):
        started = time.time()
        base = self.prepare()
        ref_dir = os.path.join(self.work, "reference")
        shutil.copytree(base, ref_dir)
        self.copy_db(base, ref_dir)
        self.settle(ref_dir, os.path.join(ref_dir, "server.sqlite"))
        ref = self.check(ref_dir, os.path.join(ref_dir, "server.sqlite"))
        self.reference = ref["server"]
        print(f"reference run (no faults): {ref['changes']} changes, lost {ref['lost']}, diverged {ref['diverged']}; "
              f"state {ref['server']['states'].get(COUNTY, '')[:16]}…")
        per = math.ceil(self.args.kills / self.args.episodes)
        rows = []
        print()
        print(f"{'episode':>7} {'daemon kills':>12} {'device kills':>12} {'restarts':>8} {'changes':>8} {'lost':>5} {'dup':>4} {'diverged':>8} {'≠ ref':>5} {'integrity':>9}")
        for e in range(self.args.episodes):
            r = self.episode(base, e, per)
            rows.append(r)
            print(f"{e:>7} {r['daemon_kills']:>12} {r['device_kills']:>12} {r['restarts']:>8} {r['changes']:>8} {r['lost']:>5} "
                  f"{r['duplicated']:>4} {r['diverged']:>8} {('yes' if r['reference_differs'] else 'no'):>5} "
                  f"{('ok' if r['integrity'] and r['integrity_failures'] == 0 else 'FAILED'):>9}", flush=True)
        total = lambda k: sum(r[k] for r in rows)
        points = {}
        for r in rows:
            for k, v in r["by_point"].items():
                points[k] = points.get(k, 0) + v
        print(f"{'total':>7} {total('daemon_kills'):>12} {total('device_kills'):>12} {total('restarts'):>8} {total('changes'):>8} "
              f"{total('lost'):>5} {total('duplicated'):>4} {total('diverged'):>8} {sum(r['reference_differs'] for r in rows):>5} "
              f"{total('integrity_failures'):>9}")
        print(f"daemon kills by point: {', '.join(f'{k} {v}' for k, v in sorted(points.items()))}")
        field = None
        if self.args.field_chaos and len(self.devices) < 4:
            print("field chaos skipped: it needs --devices 4 or more")
        elif self.args.field_chaos:
            field = self.field_chaos(base)
            print(f"field chaos (revoked peer, restored phone, cloned store, clock 8 days ahead then fixed): "
                  f"{field['devices']} stores, {field['changes']} changes, lost {field['lost']}, duplicated {field['duplicated']}, "
                  f"diverged {field['diverged']}, set aside on the relaying device {field['set_aside']}", flush=True)
        print(f"{self.args.devices} devices × {self.args.edits} offline edits; seed {self.args.seed}; {time.time() - started:.0f} s")
        failed = (total("lost") or total("duplicated") or total("diverged") or total("integrity_failures")
                  or any(r["reference_differs"] or not r["integrity"] for r in rows)
                  or total("daemon_kills") < self.args.kills
                  or (field is not None and (field["lost"] or field["duplicated"] or field["diverged"] or field["set_aside"] == 0)))
        if failed:
            print(f"FAILED (kept {self.work} for inspection)")
            return 1
        for d in ("base", "reference"):
            self.drop_db(os.path.join(self.work, d))
        shutil.rmtree(self.work, ignore_errors=True)
        print("passed: nothing lost, nothing duplicated, every device converged, state identical to the fault-free run")
        return 0


def store(directory, device):
    return os.path.join(directory, f"{device}.sqlite")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episodes", type=int, default=10)
    ap.add_argument("--kills", type=int, default=60, help="daemon kills in all, spread over the episodes (device kills come on top)")
    ap.add_argument("--devices", type=int, default=6)
    ap.add_argument("--edits", type=int, default=1500, help="offline edits per device")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--batch", type=int, default=100, help="changes per sync request (more requests, more moments to kill in)")
    ap.add_argument("--bin", default=".build/release", help="directory holding fieldsync and fieldsyncd")
    ap.add_argument("--keep", action="store_true", help="keep every episode's files")
    ap.add_argument("--no-field-chaos", dest="field_chaos", action="store_false",
                    help="skip the field-chaos episode (revoked peer, restored phone, cloned store, clock ahead)")
    ap.add_argument("--postgres", help="run the daemon on PostgreSQL (base URL of a database; one schema per episode) instead of SQLite")
    args = ap.parse_args()
    h = Harness(args)
    try:
        sys.exit(h.run())
    finally:
        h.stop_daemon()


if __name__ == "__main__":
    main()
