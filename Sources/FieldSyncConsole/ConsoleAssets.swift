/// The console's static files, served from memory under `/console/static/` (no CDN, no build
/// step): one stylesheet and one small script, both covered by the Content-Security-Policy.
public enum ConsoleAssets {
    /// `console.css`: system fonts, AA contrast, visible focus, tables that scroll on a phone.
    public static let css = """
        :root { --ink: #1b1f24; --muted: #4a5360; --line: #c9ced6; --accent: #0b5cad; --bad: #a4141b;
          --ok: #1f6b2c; --paper: #ffffff; --band: #f2f4f7; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
          color: var(--ink); background: var(--paper); }
        header { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; padding: .5rem 1rem;
          background: var(--band); border-bottom: 1px solid var(--line); }
        header .brand { font-weight: 700; margin: 0; }
        nav ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; margin: 0; padding: 0; }
        a { color: var(--accent); }
        a[aria-current="page"] { font-weight: 700; color: var(--ink); }
        main { padding: 1rem; max-width: 80rem; }
        main:focus { outline: none; }
        h1 { font-size: 1.5rem; margin: .25rem 0 1rem; }
        h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
        :focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px; }
        .skip { position: absolute; left: -999px; top: 0; background: var(--paper); padding: .5rem; }
        .skip:focus { left: .5rem; z-index: 10; }
        .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
          white-space: nowrap; }
        .signout { display: flex; gap: .5rem; align-items: center; margin-left: auto; }
        .filters { display: flex; flex-wrap: wrap; gap: .75rem; align-items: end; margin-bottom: 1rem; }
        .filters div, .stack { display: flex; flex-direction: column; gap: .25rem; max-width: 30rem; }
        input, select, button { font: inherit; padding: .35rem .5rem; border: 1px solid var(--muted);
          border-radius: 4px; background: var(--paper); color: var(--ink); }
        button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
        table { border-collapse: collapse; width: 100%; display: block; overflow-x: auto; }
        th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        thead th { background: var(--band); }
        td.same { color: var(--muted); background: var(--band); }
        dl.fields { display: grid; grid-template-columns: minmax(8rem, max-content) 1fr; gap: .25rem 1rem; }
        dt { font-weight: 600; }
        dd { margin: 0; overflow-wrap: anywhere; }
        .conflicted { color: var(--bad); }
        .badge { font-weight: 600; }
        .meta, .hint { color: var(--muted); }
        .error { color: var(--bad); border-left: 4px solid var(--bad); padding-left: .5rem; }
        .notice { color: var(--ok); border-left: 4px solid var(--ok); padding-left: .5rem; }
        .tabs { display: flex; gap: 1rem; margin-bottom: 1rem; }
        .pages { display: flex; gap: 1rem; margin-top: 1rem; }
        ul.ops { margin: 0; padding-left: 1rem; }
        figure.chart { margin: 1rem 0; max-width: 40rem; }
        .chart .bar { fill: var(--accent); }
        .chart text { font-size: 13px; fill: var(--ink); }
        figure.map { margin: 1rem 0; max-width: 48rem; }
        .qr-light { fill: #fff; }
        .qr-dark { fill: #000; }
        .map .land { fill: #eef2ea; stroke: var(--line); }
        .map .point { fill: var(--bad); stroke: #fff; stroke-width: 2; }
        .map a:focus-visible .point { stroke: #ffbf47; stroke-width: 4; }
        @media (max-width: 40rem) { header { padding: .5rem; } main { padding: .5rem; } }
        """

    /// `console.js`: small conveniences only; every page works without it.
    public static let javascript = """
        "use strict";
        document.addEventListener("DOMContentLoaded", () => {
          const value = document.getElementById("value");
          const own = document.getElementById("choose-value");
          if (value && own) { value.addEventListener("input", () => { own.checked = true; }); }
        });
        """
}
