#!/usr/bin/env python3
"""Syncs over shaped real TCP: the daemon and the devices in two network namespaces joined by
a veth pair, each direction shaped with what this kernel offers (no netem qdisc here):

- bandwidth: `tc qdisc … tbf` on each end's egress;
- loss: `iptables -m statistic --mode random --probability P -j DROP` on each end's output;
- delay: every outgoing packet goes through NFQUEUE to scripts/delayq.c, which holds it
  for the one-way latency before accepting it;
- cuts: at seeded random moments an `iptables … -j REJECT --reject-with tcp-reset` rule on the
  device side resets every connection to the daemon for a second.

For each profile (2G rural, Edge-Lossy, 3G; figures and sources in docs/links.md) the devices
sync once over a clean link and once with cuts; the run checks nothing is lost or duplicated and
every device converges, and prints each sync's time against 1.3 × bytes ÷ bandwidth + 4 RTT.
Needs root (namespaces, tc, iptables) and libnetfilter-queue. Everything is torn down at the end.

Usage: scripts/netem [--profiles 2g,edge-lossy,3g] [--devices N] [--edits N] [--seed N] [--bin DIR]
       scripts/netem --photo BYTES | --peer   (one photo, or a peer meeting, over 2G)
"""
import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faults import Harness, store  # noqa: E402

# down/up in kbit/s, one-way latency in ms, loss as a fraction (docs/links.md, FACTS sources).
PROFILES = {
    "2g": {"down": 20, "up": 18, "latency": 650, "loss": 0.02, "source": "Facebook ATC 2G-DevelopingRural"},
    "edge-lossy": {"down": 240, "up": 200, "latency": 420, "loss": 0.01, "source": "Facebook ATC Edge-Lossy"},
    "3g": {"down": 780, "up": 330, "latency": 100, "loss": 0.0, "source": "Facebook ATC 3G-Average"},
}
SRV, DEV = "fs-netem-srv", "fs-netem-dev"
SRV_IP, DEV_IP, PORT = "10.77.0.1", "10.77.0.2", 8080


def sh(*argv, check=True, ns=None):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(argv)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr.strip()}")
    return r


class Network:
    """Two namespaces and a veth pair; shaping applied and removed per profile."""

    def __init__(self, delayq):
        self.delayq = delayq
        self.queues = []

    def up(self):
        self.down()
        sh("ip", "netns", "add", SRV)
        sh("ip", "netns", "add", DEV)
        sh("ip", "link", "add", "fs-veth-srv", "type", "veth", "peer", "name", "fs-veth-dev")
        sh("ip", "link", "set", "fs-veth-srv", "netns", SRV)
        sh("ip", "link", "set", "fs-veth-dev", "netns", DEV)
        for ns, dev, ip in [(SRV, "fs-veth-srv", SRV_IP), (DEV, "fs-veth-dev", DEV_IP)]:
            sh("ip", "addr", "add", f"{ip}/24", "dev", dev, ns=ns)
            sh("ip", "link", "set", dev, "up", ns=ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
            # Shaping must see real packets, not 64 KB offload super-packets.
            sh("ethtool", "-K", dev, "tso", "off", "gso", "off", "gro", "off", ns=ns, check=False)

    def shape(self, p):
        self.unshape()
        for q, (ns, dev, kbit) in enumerate([(SRV, "fs-veth-srv", p["down"]), (DEV, "fs-veth-dev", p["up"])]):
            sh("tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", f"{kbit}kbit", "burst", "1600", "latency", "10s", ns=ns)
            if p["loss"] > 0:
                sh("iptables", "-A", "OUTPUT", "-o", dev, "-m", "statistic", "--mode", "random", "--probability", str(p["loss"]), "-j", "DROP", ns=ns)
            sh("iptables", "-A", "OUTPUT", "-o", dev, "-j", "NFQUEUE", "--queue-num", str(q), ns=ns)
            self.queues.append(subprocess.Popen(["ip", "netns", "exec", ns, self.delayq, str(q), str(p["latency"])],
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(0.3)

    def unshape(self):
        for proc in self.queues:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.queues = []
        for ns, dev in [(SRV, "fs-veth-srv"), (DEV, "fs-veth-dev")]:
            sh("iptables", "-F", "OUTPUT", ns=ns, check=False)
            sh("tc", "qdisc", "del", "dev", dev, "root", ns=ns, check=False)

    def cut(self, seconds, port=PORT):
        """Resets every connection from the devices to the daemon (or the listening peer) for `seconds`."""
        rule = ["OUTPUT", "-p", "tcp", "-d", SRV_IP, "--dport", str(port), "-j", "REJECT", "--reject-with", "tcp-reset"]
        sh("iptables", "-I", *rule, ns=DEV)
        time.sleep(seconds)
        sh("iptables", "-D", *rule, ns=DEV, check=False)

    def down(self):
        self.unshape() if self.queues else None
        for ns in (SRV, DEV):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def cut_thread(net, moments, stop, count, port=PORT):
    """A thread that resets the device's connections for a second at each of `moments` (seconds
    from its start), counting the cuts, until `stop` is set."""
    def cutter():
        t0 = time.time()
        for m in moments:
            if stop.wait(max(0.0, t0 + m - time.time())):
                return
            net.cut(1.0, port)
            count[0] += 1
    return threading.Thread(target=cutter, daemon=True)


def run(args):
    here = os.path.dirname(os.path.abspath(__file__))
    delayq = os.path.join(args.work, "delayq")
    subprocess.run(["cc", "-O2", "-o", delayq, os.path.join(here, "delayq.c"), "-lnetfilter_queue"], check=True)
    h = Harness(argparse.Namespace(bin=args.bin, devices=args.devices, edits=args.edits, seed=args.seed, batch=100, keep=False, postgres=None))
    base = h.prepare()  # enrollments and offline edits, on loopback
    net = Network(delayq)
    rng = random.Random(args.seed)
    url = f"http://{SRV_IP}:{PORT}"
    rows, failed = [], False
    live = {"daemon": None, "syncs": []}
    clean_seconds = 10.0
    try:
        net.up()
        for name in args.profiles.split(","):
            p = PROFILES[name]
            for cuts in (False, True):
                directory = os.path.join(h.work, f"{name}-{'cuts' if cuts else 'clean'}")
                shutil.copytree(base, directory)
                db = os.path.join(directory, "server.sqlite")
                daemon = live["daemon"] = subprocess.Popen(["ip", "netns", "exec", SRV, f"{h.bin}/fieldsyncd", "serve", "--db", db, "--host", SRV_IP,
                                           "--port", str(PORT), "--log-level", "error"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1.0)
                net.shape(p)
                stop = threading.Event()
                cut_count = [0]
                # Three cuts at seeded random moments within the time the clean run took.
                moments = sorted(rng.uniform(0.05, 1.0) * clean_seconds for _ in range(3))

                cutter_thread = cut_thread(net, moments, stop, cut_count) if cuts else None
                started = time.time()
                if cutter_thread:
                    cutter_thread.start()
                totals = {"up": 0, "down": 0, "attempts": 0}
                quiet, rounds = False, 0
                while not quiet and rounds < 6:  # bounded: at most 6 rounds of syncs
                    rounds += 1
                    procs = live["syncs"] = [subprocess.Popen(["ip", "netns", "exec", DEV, f"{h.bin}/fieldsync", "sync", "--store", store(directory, d),
                                               "--server", url, "--json", "--attempts", "20", "--batch", "100"],
                                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for d in h.devices]
                    quiet = True
                    for proc in procs:
                        out, err = proc.communicate(timeout=900)
                        if proc.returncode != 0:
                            raise RuntimeError(f"sync over {name} failed: {err.strip()[-300:]}")
                        s = json.loads(out)
                        totals["up"] += s["bytesSent"]
                        totals["down"] += s["bytesReceived"]
                        totals["attempts"] += s["attempts"]
                        quiet = quiet and s["pushed"] == 0 and s["pulled"] == 0
                elapsed = time.time() - started
                if not cuts:
                    clean_seconds = elapsed
                stop.set()
                if cutter_thread:
                    cutter_thread.join(timeout=10)
                net.unshape()
                daemon.send_signal(signal.SIGTERM)
                daemon.wait(timeout=30)
                result = h.check(directory, db)
                rtt = 2 * p["latency"] / 1000
                bound = 1.3 * (totals["up"] * 8 / (p["up"] * 1000) + totals["down"] * 8 / (p["down"] * 1000)) + 4 * rtt * rounds
                rows.append((name, "cuts" if cuts else "clean", cut_count[0], totals["attempts"], rounds, totals["up"], totals["down"],
                             elapsed, bound, result["lost"], result["duplicated"], result["diverged"]))
                failed = failed or result["lost"] or result["duplicated"] or result["diverged"] or not result["integrity"]
                print(f"{name:>10} {rows[-1][1]:>5} cuts {cut_count[0]:>2} attempts {totals['attempts']:>3} rounds {rounds} "
                      f"up {totals['up']:>7} B down {totals['down']:>8} B  {elapsed:7.1f} s (bound {bound:7.1f} s)  "
                      f"lost {result['lost']} dup {result['duplicated']} diverged {result['diverged']}", flush=True)
                shutil.rmtree(directory, ignore_errors=True)
    finally:
        # Every process started here ends here, before the namespaces go.
        for proc in live["syncs"] + ([live["daemon"]] if live["daemon"] else []):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        net.down()
        shutil.rmtree(h.work, ignore_errors=True)
    print(f"{args.devices} devices × {args.edits} offline edits each; seed {args.seed}; namespaces torn down")
    print("FAILED" if failed else "passed: nothing lost, nothing duplicated, every device converged on every profile")
    return 1 if failed else 0


def photo_run(args):
    """A photo of `args.photo` bytes from one device over shaped 2G, once clean and once with three
    cuts: wire bytes (the device's veth) against 1.05 × size + 2 KB, time against 1.3 × size ÷
    upload bandwidth + 4 RTT, and the stored file's SHA-256."""
    import hashlib
    here = os.path.dirname(os.path.abspath(__file__))
    delayq = os.path.join(args.work, "delayq")
    subprocess.run(["cc", "-O2", "-o", delayq, os.path.join(here, "delayq.c"), "-lnetfilter_queue"], check=True)
    h = Harness(argparse.Namespace(bin=args.bin, devices=1, edits=1, seed=args.seed, batch=100, keep=False, postgres=None))
    base = h.prepare()
    net = Network(delayq)
    p = PROFILES["2g"]
    url = f"http://{SRV_IP}:{PORT}"
    rng = random.Random(args.seed)
    data = bytes(rng.getrandbits(8) for _ in range(args.photo))
    sha = hashlib.sha256(data).hexdigest()
    failed = False
    daemon = None
    try:
        net.up()
        for cuts in (False, True):
            directory = os.path.join(h.work, f"photo-{'cuts' if cuts else 'clean'}")
            shutil.copytree(base, directory)
            db = os.path.join(directory, "server.sqlite")
            device = store(directory, h.devices[0])
            photo = os.path.join(directory, "photo.jpg")
            open(photo, "wb").write(data)
            report = h.fieldsync("report", "new", "--store", device, "--category", "pothole", "--description", "hole").stdout.strip()
            h.fieldsync("report", "attach", report, "--store", device, "--file", photo)
            daemon = subprocess.Popen(["ip", "netns", "exec", SRV, f"{h.bin}/fieldsyncd", "serve", "--db", db, "--host", SRV_IP,
                                       "--port", str(PORT), "--log-level", "error"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
            net.shape(p)
            tx = lambda: int(subprocess.run(["ip", "netns", "exec", DEV, "cat", "/sys/class/net/fs-veth-dev/statistics/tx_bytes"],
                                            capture_output=True, text=True).stdout)
            expected = args.photo * 8 / (p["up"] * 1000)
            moments = sorted(rng.uniform(0.05, 0.9) * expected for _ in range(3))
            stop, cut_count = threading.Event(), [0]

            thread = cut_thread(net, moments, stop, cut_count) if cuts else None
            before, started = tx(), time.time()
            if thread:
                thread.start()
            for _ in range(20):
                subprocess.run(["ip", "netns", "exec", DEV, f"{h.bin}/fieldsync", "sync", "--store", device, "--server", url,
                                "--json"], capture_output=True, text=True, timeout=3600)
                if "media waiting" not in h.fieldsync("status", "--store", device).stdout:
                    break
            elapsed, wire = time.time() - started, tx() - before
            stop.set()
            net.unshape()
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
            stored = os.path.join(db + "-media", "blobs", sha[:2], sha)
            ok = os.path.exists(stored) and hashlib.sha256(open(stored, "rb").read()).hexdigest() == sha
            bound = 1.3 * expected + 4 * 2 * p["latency"] / 1000
            print(f"photo {args.photo} B over 2g {'cuts' if cuts else 'clean'}: cuts {cut_count[0]}, {elapsed:.1f} s "
                  f"(bound {bound:.1f} s), device sent {wire} B on the wire = {wire / args.photo:.3f} × size "
                  f"(target ≤ {1.05 * args.photo + 2048:.0f} B clean), stored intact: {ok}", flush=True)
            failed = failed or not ok
    finally:
        if daemon and daemon.poll() is None:
            daemon.kill()
        net.down()
        shutil.rmtree(h.work, ignore_errors=True)
    print("FAILED" if failed else "passed: the photo arrived intact, clean and with cuts")
    return 1 if failed else 0


PEER_PORT = 7311


def peer_run(args):
    """Two officers meet over the shaped 2G link (one listening in the server's namespace, one
    dialling from the device's), once clean and once with three cuts: each device's offline edits
    reach the other, the meeting's bytes against the wire's, and time against 1.3 × bytes ÷
    bandwidth + 8 one-way latencies per meeting + the 2 s pause before each new attempt."""
    here = os.path.dirname(os.path.abspath(__file__))
    delayq = os.path.join(args.work, "delayq")
    subprocess.run(["cc", "-O2", "-o", delayq, os.path.join(here, "delayq.c"), "-lnetfilter_queue"], check=True)
    h = Harness(argparse.Namespace(bin=args.bin, devices=2, edits=args.edits, seed=args.seed, batch=100, keep=False, postgres=None))
    base = h.prepare()  # both enrolled and synced once (certificates), then offline edits
    net = Network(delayq)
    p = PROFILES["2g"]
    rng = random.Random(args.seed)
    failed, listener, clean_seconds = False, None, 20.0
    a, b = h.devices
    try:
        net.up()
        for cuts in (False, True):
            directory = os.path.join(h.work, f"peer-{'cuts' if cuts else 'clean'}")
            shutil.copytree(base, directory)
            listener = subprocess.Popen(["ip", "netns", "exec", SRV, f"{h.bin}/fieldsync", "peer", "listen", "--store", store(directory, a),
                                         "--host", SRV_IP, "--port", str(PEER_PORT), "--json"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
            net.shape(p)
            tx = lambda ns, dev: int(subprocess.run(["ip", "netns", "exec", ns, "cat", f"/sys/class/net/{dev}/statistics/tx_bytes"],
                                                    capture_output=True, text=True).stdout)
            moments = sorted(rng.uniform(0.05, 0.9) * clean_seconds for _ in range(3))
            stop, cut_count = threading.Event(), [0]
            thread = cut_thread(net, moments, stop, cut_count, PEER_PORT) if cuts else None
            wire0 = tx(DEV, "fs-veth-dev") + tx(SRV, "fs-veth-srv")
            started, meetings, outcome = time.time(), 0, None
            if thread:
                thread.start()
            while meetings < 20:
                meetings += 1
                r = subprocess.run(["ip", "netns", "exec", DEV, f"{h.bin}/fieldsync", "peer", "sync", "--store", store(directory, b),
                                    "--with", f"{SRV_IP}:{PEER_PORT}", "--json"], capture_output=True, text=True, timeout=1800)
                if r.returncode == 0:
                    outcome = json.loads(r.stdout.strip().splitlines()[-1])
                    break
                time.sleep(2.0)  # the officer tries again a moment later
            elapsed = time.time() - started
            wire = tx(DEV, "fs-veth-dev") + tx(SRV, "fs-veth-srv") - wire0
            stop.set()
            if thread:
                thread.join(timeout=10)
            net.unshape()
            listener.terminate()
            listener.wait(timeout=30)
            if not cuts:
                clean_seconds = elapsed
            logs = []
            for d in (a, b):
                with sqlite3.connect(store(directory, d)) as db:
                    logs.append(set(db.execute("SELECT device, seq FROM changes").fetchall()))
            same = outcome is not None and logs[0] == logs[1]
            sent = (outcome or {}).get("bytes_sent", 0) + (outcome or {}).get("bytes_received", 0)
            # plus the two-second pause before each new attempt
            # 8 one-way latencies a meeting: the TCP handshake (2), the five turns, one for start-up
            bound = 1.3 * sent * 8 / (p["up"] * 1000) + 8 * p["latency"] / 1000 * meetings + 2.0 * (meetings - 1)
            print(f"peer meeting over 2g {'cuts' if cuts else 'clean'}: cuts {cut_count[0]}, meetings {meetings}, "
                  f"{(outcome or {}).get('sent', 0)} + {(outcome or {}).get('received', 0)} changes in the last, "
                  f"{sent} B of messages, {wire} B on the wire, {elapsed:.1f} s (bound {bound:.1f} s), "
                  f"both hold the same {len(logs[0])} changes: {same}", flush=True)
            failed = failed or not same
            shutil.rmtree(directory, ignore_errors=True)
    finally:
        if listener and listener.poll() is None:
            listener.kill()
        net.down()
        shutil.rmtree(h.work, ignore_errors=True)
    print("FAILED" if failed else "passed: the officers' meeting carried every change both ways, clean and with cuts")
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profiles", default="2g,edge-lossy,3g")
    ap.add_argument("--devices", type=int, default=3)
    ap.add_argument("--edits", type=int, default=60)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--bin", default=".build/release")
    ap.add_argument("--photo", type=int, default=0, help="instead: send one photo of this many bytes over 2G, clean and with cuts")
    ap.add_argument("--peer", action="store_true", help="instead: two devices meet over the shaped 2G link, clean and with cuts")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("scripts/netem needs root (network namespaces, tc, iptables)")
    import tempfile
    args.work = tempfile.mkdtemp(prefix="fieldsync-netem-")
    try:
        sys.exit(peer_run(args) if args.peer else photo_run(args) if args.photo > 0 else run(args))
    finally:
        shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
