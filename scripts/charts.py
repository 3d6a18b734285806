#!/usr/bin/env python3
"""Draws the benchmark charts (SVG, standard library only) from fieldsync-bench's JSON figures
and the peer's JSON (scripts/bench-peer). Usage: charts.py FIGURES.json PEER.json|- OUTDIR"""
import json
import sys
from html import escape


def bar_chart(title, unit, rows, path, note=""):
    """Horizontal bars. rows: [(label, value, colour)]."""
    width, left, right, bar, gap, top = 760, 270, 90, 22, 8, 48
    height = top + len(rows) * (bar + gap) + (40 if note else 20)
    vmax = max(v for _, v, _ in rows) or 1
    scale = (width - left - right) / vmax
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="13">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="12" y="24" font-size="16" font-weight="bold">{escape(title)}</text>',
           f'<text x="{width - 12}" y="24" text-anchor="end" fill="#555">{escape(unit)}</text>']
    for i, (label, value, colour) in enumerate(rows):
        y = top + i * (bar + gap)
        w = max(1.0, value * scale)
        out.append(f'<text x="{left - 8}" y="{y + bar * 0.72:.1f}" text-anchor="end">{escape(label)}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar}" fill="{colour}"/>')
        shown = f"{value:,.0f}" if value >= 100 else f"{value:.2f}"
        out.append(f'<text x="{left + w + 6:.1f}" y="{y + bar * 0.72:.1f}">{shown}</text>')
    if note:
        out.append(f'<text x="12" y="{height - 14}" fill="#555" font-size="12">{escape(note)}</text>')
    out.append('</svg>')
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    figures = {f["name"].strip(): f for f in json.load(open(sys.argv[1]))}
    peer = json.load(open(sys.argv[2])) if sys.argv[2] != "-" else None
    outdir = sys.argv[3]
    ours, theirs, bound = "#1f6f8b", "#c8553d", "#bbbbbb"

    rows = [(name.replace("gzip, ", ""), figures[name]["median"], ours)
            for name in figures if name.startswith("gzip, ")]
    if peer:
        rows.append(("pycrdt (Yrs) updates, zlib", peer["bytes_per_edit_zlib"], theirs))
        rows.append(("pycrdt (Yrs) updates, raw", peer["bytes_per_edit_raw"], theirs))
    bar_chart("Bytes per edit, whole-device push", "bytes (lower is better)", rows, f"{outdir}/bytes-per-edit.svg",
              "FieldSync: gzip, 500-change requests; fieldsync sync sends JSON with one signature per signed run.")

    rows = []
    for name in figures:
        if name.startswith("1,000 reports over ") and name != "1,000 reports over Edge-Lossy":
            profile = name.removeprefix("1,000 reports over ")
            rows.append((f"{profile}: measured", figures[name]["median"], ours))
            rows.append((f"{profile}: 1.3×bytes/bw + 4 RTT", figures[f"bound over {profile}"]["median"], bound))
    rows.append(("Edge-Lossy: measured", figures["1,000 reports over Edge-Lossy"]["median"], ours))
    rows.append(("Edge-Lossy: bound", figures["its bound: 1.3×bytes/bw + 4 RTT"]["median"], bound))
    bar_chart("Sync time of 1,000 new reports by link profile", "seconds (simulated link)", rows,
              f"{outdir}/sync-time-by-link.svg", "Simulated links (docs/links.md), real daemon on loopback.")

    rows = [(name.removeprefix("push, "), figures[name]["median"], ours) for name in figures if name.startswith("push, ")]
    bar_chart("Push throughput against fleet size (HTTP, loopback)", "changes/s (higher is better)", rows,
              f"{outdir}/throughput-by-fleet.svg", "Devices push at once to one daemon; 2 cores shared by daemon and devices.")

    rows = [("FieldSync in-memory merge", figures["in-memory merge"]["median"], ours),
            ("FieldSync SQLite ingest", figures["SQLite ingest (server path)"]["median"], ours),
            ("SQLite raw insert (yardstick)", figures["SQLite raw insert, same rows"]["median"], bound)]
    if peer:
        rows.insert(1, ("pycrdt (Yrs) merge", peer["merge_edits_per_s"]["median"], theirs))
    bar_chart("Merge and ingest of the standard scenario", "changes/s (higher is better)", rows,
              f"{outdir}/merge-and-ingest.svg", "50 devices × 2,000 edits, 20% on shared reports.")


if __name__ == "__main__":
    main()
