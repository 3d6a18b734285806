"""The standard scenario through pycrdt, for a side-by-side comparison with FieldSync.

Each report is a nested Map under one root Map; each edit is one transaction; the per-edit
updates are the device's change log. Reports several devices edit are created once in a seed
document that every device starts from (Yrs keeps only one of two nested maps created
concurrently under one key). Merge = a fresh document applying the seed and then every device's
updates in that device's order; and, beside it, the same edits as one whole-device diff per
device (`get_update` against the seed's state vector), applied the same way. Bytes per edit:
raw, and zlib (level 6) over each device's updates in one stream (or its one diff)."""
import json, statistics, sys, time, zlib
from pycrdt import Doc, Map

def run(path, repeats=5):
    data = json.load(open(path))
    seed = Doc()
    reports = seed.get("reports", type=Map)
    with seed.transaction():
        for e in data["seed_reports"]:
            reports[e["report"]] = Map(e["fields"])
    seed_update = seed.get_update()

    seed_state = seed.get_state()
    logs, diffs, raw, compressed, diff_raw, diff_compressed, edits = [], [], 0, 0, 0, 0, 0
    for device in data["devices"]:
        doc = Doc()
        doc.apply_update(seed_update)
        updates = []
        doc.observe(lambda event, u=updates: u.append(event.update))
        root = doc.get("reports", type=Map)
        for e in device:
            with doc.transaction():
                if e["create"]:
                    root[e["report"]] = Map(e["fields"])
                else:
                    m = root[e["report"]]
                    for k, v in e["fields"].items():
                        m[k] = v
        logs.append(updates)
        # The same edits as one whole-device diff: everything this device wrote since the seed.
        diff = doc.get_update(seed_state)
        diffs.append(diff)
        diff_raw += len(diff)
        diff_compressed += len(zlib.compress(diff, 6))
        edits += len(device)
        raw += sum(len(u) for u in updates)
        z = zlib.compressobj(6)
        compressed += len(z.compress(b"".join(updates)) + z.flush())

    def merge(updates_by_device):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            merged = Doc()
            merged.apply_update(seed_update)
            for updates in updates_by_device:
                for u in updates:
                    merged.apply_update(u)
            times.append(time.perf_counter() - start)
        rates = sorted(edits / t for t in times)
        return {"median": statistics.median(rates), "min": rates[0], "max": rates[-1]}

    return {"engine": "pycrdt (Yrs)", "edits": edits,
            "merge_edits_per_s": merge(logs),
            "merge_whole_device_diffs_edits_per_s": merge([[d] for d in diffs]),
            "bytes_per_edit_raw": raw / edits, "bytes_per_edit_zlib": compressed / edits,
            "whole_device_diff_bytes_per_edit_raw": diff_raw / edits,
            "whole_device_diff_bytes_per_edit_zlib": diff_compressed / edits}

if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1]), indent=2))
