#!/usr/bin/env python3
"""The operators' console in a real browser (headless Chromium from Debian, driven by Selenium).

Builds a county desk from real parts: a fieldsyncd on loopback, an operator, two enrolled
devices that write reports (whose texts are script and markup payloads), a photo, and a conflict
from concurrent edits. Then, in the browser: sign in, filter the reports, open one with a photo,
assign it and add a note, set a status on several at once, resolve the conflict and see it in the
log and on a device after its sync, export CSV and GeoJSON, open the public scorecard, sign out;
then as an admin enroll a phone and revoke it, and read the audit log. Every page is checked for escaping (no payload runs, each shows as text),
accessibility (labels, one h1 and no skipped heading levels, alt text, contrast of text, the skip
link first in focus order) and weight; a screenshot of each step goes to --shots.

Usage: scripts/console_check.py --bin .build/debug [--shots DIR] [--slow]
"""
import argparse, json, os, re, shutil, socket, struct, subprocess, sys, tempfile, time, urllib.request, zlib

PAYLOADS = [
    '<script>window.__xss=1</script>',
    '"><img src=x onerror="window.__xss=2">',
    "'><svg onload=window.__xss=3>",
    '<a href="javascript:window.__xss=4">x</a>',
]


def run(*args, **kw):
    r = subprocess.run(list(args), capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{r.stdout}\n{r.stderr}")
    return r.stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def png(width=48, height=32):
    """A small valid PNG (a gradient), so the browser really decodes a photo."""
    rows = b"".join(b"\x00" + b"".join(bytes((x * 5 % 256, y * 8 % 256, 120)) for x in range(width))
                    for y in range(height))
    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


class Tiles:
    """A map tile server on loopback: the same 256-pixel PNG for every tile, counting requests."""

    def __init__(self):
        import http.server, threading
        tile, hits = png(256, 256), []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(tile)))
                self.end_headers()
                self.wfile.write(tile)

            def log_message(self, *args):
                pass

        self.hits = hits
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.template = f"http://127.0.0.1:{self.server.server_address[1]}/{{z}}/{{x}}/{{y}}.png"


class Desk:
    """A daemon, an operator and two devices of kisumu, with a conflict and a photo."""

    def __init__(self, bin_dir, work, tiles):
        self.bin, self.work = bin_dir, work
        self.db = os.path.join(work, "county.sqlite")
        d = lambda *a: run(os.path.join(bin_dir, "fieldsyncd"), *a)
        self.admin = re.search(r"fsa_[A-Za-z0-9_-]+", d("admin", "create-admin", "--db", self.db)).group(0)
        out = d("admin", "create-operator", "--db", self.db, "--name", "Achieng <b>desk</b>", "--county", "kisumu")
        self.token = re.search(r"fso_[A-Za-z0-9_-]+", out).group(0)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.daemon = subprocess.Popen(
            [os.path.join(bin_dir, "fieldsyncd"), "serve", "--db", self.db, "--port", str(self.port),
             "--map-tiles", tiles.template, "--map-attribution", "Test tiles"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "daemon.log"), "w"))
        for _ in range(100):
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        self.stores = {}
        for name in ("tab-a", "tab-b"):
            enroll = d("admin", "enroll", "--db", self.db, "--county", "kisumu", "--device", name)
            token = re.search(r"fse_[A-Za-z0-9_-]+", enroll).group(0)
            store = os.path.join(work, f"{name}.sqlite")
            self.cli("device", "enroll", "--store", store, "--server", self.url, "--token", token)
            self.stores[name] = store

    def cli(self, *args):
        return run(os.path.join(self.bin, "fieldsync"), *args)

    def sync(self, name):
        self.cli("sync", "--store", self.stores[name])

    def populate(self):
        a, b = self.stores["tab-a"], self.stores["tab-b"]
        self.report = self.cli("report", "new", "--store", a, "--category", "pothole", "--ward", "Kondele",
                               "--description", "Deep pothole " + " ".join(PAYLOADS),
                               "--attr", "depth=" + PAYLOADS[1]).strip().split()[-1]
        self.cli("report", "note", "--store", a, self.report, PAYLOADS[0] + " note")
        self.cli("report", "tag", "--store", a, self.report, "--add", "urgent")
        photo = os.path.join(self.work, "pothole.png")
        open(photo, "wb").write(png())
        self.cli("report", "attach", "--store", a, self.report, "--file", photo)
        for i in range(6):
            self.cli("report", "new", "--store", a, "--category", "streetlight", "--ward", "Manyatta",
                     "--description", f"Streetlight {i} out" if i else "=HYPERLINK(\"http://x\") streetlight",
                     "--lat", "-0.0917", "--long", f"34.76{i}")
        self.sync("tab-a")
        self.sync("tab-b")
        # Concurrent edits of one field: a conflict.
        self.cli("report", "edit", "--store", a, self.report, "--set", "status=in_progress")
        self.cli("report", "edit", "--store", b, self.report, "--set", "status=" + PAYLOADS[2])
        self.sync("tab-a")
        self.sync("tab-b")
        self.sync("tab-a")

    def stop(self):
        self.daemon.terminate()
        self.daemon.wait(timeout=20)


class Browser:
    def __init__(self, shots, slow):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        options = webdriver.ChromeOptions()
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1366,768"):
            options.add_argument(flag)
        options.binary_location = "/usr/bin/chromium"
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        self.shots, self.step, self.failures, self.weights = shots, 0, [], {}
        if slow:  # a slow office link: 400 ms round trips, 256 kbit/s down
            self.driver.execute_cdp_cmd("Network.enable", {})
            self.driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
                "offline": False, "latency": 400, "downloadThroughput": 32_000, "uploadThroughput": 16_000})

    def fail(self, what):
        self.failures.append(f"step {self.step}: {what}")
        print("FAIL", self.failures[-1])

    def check(self, ok, what):
        if not ok:
            self.fail(what)

    def get(self, url):
        self.driver.get(url)

    def submit(self, button):
        """Clicks a form's button and waits for the next page."""
        from selenium.webdriver.support.ui import WebDriverWait
        from selenium.webdriver.support import expected_conditions
        button.click()
        WebDriverWait(self.driver, 30).until(expected_conditions.staleness_of(button))

    def phone_check(self, name):
        """At a phone's width the page fits: only tables scroll sideways, inside themselves."""
        d = self.driver
        d.set_window_size(390, 844)
        wide = d.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        self.check(wide <= 1, f"{name}: {wide} px wider than a phone's screen")
        d.save_screenshot(os.path.join(self.shots, f"{name}-phone.png"))
        d.set_window_size(1366, 768)

    def page_checks(self, name):
        """Escaping, accessibility and weight of the page in the browser now."""
        from selenium.webdriver.common.by import By
        d = self.driver
        self.step += 1
        height = min(3000, d.execute_script("return document.documentElement.scrollHeight"))
        d.set_window_size(1366, max(768, height + 140))  # the whole page in one picture
        d.save_screenshot(os.path.join(self.shots, f"{name}.png"))
        d.set_window_size(1366, 768)
        self.check(d.execute_script("return window.__xss === undefined"), f"{name}: a payload ran")
        self.check(not d.find_elements(By.CSS_SELECTOR, "main script, main [onerror], main [onload], main svg[onload]"),
                   f"{name}: markup from data became elements")
        self.check(d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en", f"{name}: no lang")
        h1 = d.find_elements(By.TAG_NAME, "h1")
        self.check(len(h1) == 1, f"{name}: {len(h1)} h1 elements")
        levels = [int(h.tag_name[1]) for h in d.find_elements(By.CSS_SELECTOR, "h1, h2, h3, h4, h5, h6")]
        self.check(all(b - a <= 1 for a, b in zip(levels, levels[1:])), f"{name}: heading levels skip {levels}")
        for el in d.find_elements(By.CSS_SELECTOR, "input:not([type=hidden]), select, textarea"):
            eid = el.get_attribute("id")
            labelled = el.get_attribute("aria-label") or (eid and d.find_elements(By.CSS_SELECTOR, f"label[for='{eid}']"))
            self.check(bool(labelled), f"{name}: a form field without a label ({el.get_attribute('name')})")
        for img in d.find_elements(By.TAG_NAME, "img"):
            self.check(bool(img.get_attribute("alt")), f"{name}: an image without alt text")
        low = d.execute_script(CONTRAST_JS)
        self.check(not low, f"{name}: text below 4.5:1 contrast: {low[:3]}")
        # Focus order: the first Tab lands on the skip link.
        from selenium.webdriver.common.keys import Keys
        d.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
        first = d.execute_script("return document.activeElement && document.activeElement.className")
        self.check(first == "skip", f"{name}: the first focus is {first!r}, not the skip link")
        errors = [e for e in d.get_log("browser") if e.get("level") == "SEVERE" and "favicon" not in e.get("message", "")]
        self.check(not errors, f"{name}: browser errors {errors[:2]}")
        weight = d.execute_script(
            "const n = performance.getEntriesByType('navigation')[0];"
            "const r = performance.getEntriesByType('resource');"
            "return [n ? n.transferSize : 0, r.reduce((s, e) => s + (e.transferSize || 0), 0),"
            " (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || 0]")
        self.weights[name] = {"document_bytes": weight[0], "resources_bytes": weight[1], "first_paint_ms": round(weight[2])}


CONTRAST_JS = """
function lum(c) { const m = c.match(/[\\d.]+/g); if (!m) return null;
  const [r, g, b] = m.slice(0, 3).map(v => { v = v / 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b; }
function bg(el) { while (el) { const c = getComputedStyle(el).backgroundColor;
  if (c && !c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') return c; el = el.parentElement; } return 'rgb(255, 255, 255)'; }
const low = [];
for (const el of document.querySelectorAll('body *')) {
  if (!el.childNodes.length || ![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
  const s = getComputedStyle(el); if (s.visibility === 'hidden' || s.display === 'none' || el.closest('svg')) continue;
  const r = el.getBoundingClientRect(); if (r.width <= 1 || r.height <= 1) continue;
  const a = lum(s.color), b = lum(bg(el)); if (a === null || b === null) continue;
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  if (ratio < 4.5) low.push(el.tagName + ' ' + ratio.toFixed(2));
}
return low;
"""


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", default=".build/debug")
    p.add_argument("--shots", default=".build/console-shots")
    p.add_argument("--slow", action="store_true", help="emulate a slow office link")
    args = p.parse_args()
    os.makedirs(args.shots, exist_ok=True)
    for old in os.listdir(args.shots):
        if old.endswith(".png"):
            os.remove(os.path.join(args.shots, old))
    from selenium.webdriver.common.by import By
    work = tempfile.mkdtemp(prefix="fieldsync-console-")
    tiles = Tiles()
    desk = Desk(os.path.abspath(args.bin), work, tiles)
    browser = None
    try:
        desk.populate()
        browser = Browser(args.shots, args.slow)
        b, d = browser, browser.driver
        # 1. Signed out, every page leads to sign-in; sign in with the operator's token.
        b.get(desk.url + "/console/reports")
        b.check(d.current_url.endswith("/console/sign-in"), "not sent to sign-in")
        b.page_checks("sign-in")
        d.find_element(By.ID, "token").send_keys(desk.token)
        b.submit(d.find_element(By.CSS_SELECTOR, "form.stack button"))
        b.check(d.current_url.endswith("/console/reports"), f"after sign-in at {d.current_url}")
        b.check(desk.token not in d.current_url, "the token is in the address")
        cookie = d.get_cookie("fs_session") or {}
        b.check(cookie.get("httpOnly") and cookie.get("sameSite") == "Strict", f"session cookie {cookie}")
        b.page_checks("reports")
        b.phone_check("reports")
        b.check(PAYLOADS[0] in d.find_element(By.TAG_NAME, "main").text, "a payload is not shown as text")
        # 2. Filter the reports.
        d.find_element(By.ID, "f-text").send_keys("streetlight 3")
        b.submit(d.find_element(By.CSS_SELECTOR, "form.filters button"))
        rows = d.find_elements(By.CSS_SELECTOR, "table.list tbody tr")
        b.check(len(rows) == 1 and "Streetlight 3" in rows[0].text, f"filter gave {len(rows)} rows")
        b.page_checks("reports-filtered")
        b.get(desk.url + "/console/reports?sort=received_oldest")
        first = d.find_elements(By.CSS_SELECTOR, "table.list tbody tr")[0].text
        b.check(desk.report in first, "sorted by received, oldest first, the first report is not first")
        b.get(desk.url + "/console/conflicts?field=priority")
        b.check("No open conflicts." in d.find_element(By.TAG_NAME, "main").text, "the field filter of the log")
        b.get(desk.url + "/console/reports?tag=urgent")
        rows = d.find_elements(By.CSS_SELECTOR, "table.list tbody tr")
        b.check(len(rows) == 1 and desk.report in rows[0].text, f"tag filter gave {len(rows)} rows")
        b.get(desk.url + "/console/reports?conflict=open")
        rows = d.find_elements(By.CSS_SELECTOR, "table.list tbody tr")
        b.check(len(rows) == 1 and desk.report in rows[0].text, f"open-conflict filter gave {len(rows)} rows")
        b.get(desk.url + "/console/reports")
        d.find_element(By.ID, "f-ward").send_keys("Manyatta")
        d.execute_script("document.getElementById('f-from').value = '2000-01-01'")
        b.submit(d.find_element(By.CSS_SELECTOR, "form.filters button"))
        b.check(len(d.find_elements(By.CSS_SELECTOR, "table.list tbody tr")) == 6, "ward filter")
        points = d.find_elements(By.CSS_SELECTOR, "figure.map circle")
        b.check(len(points) == 6, f"the map shows {len(points)} points, not 6")
        # The map lies on the configured tile server's tiles (the policy lets them in).
        images = d.find_elements(By.CSS_SELECTOR, "figure.map image")
        time.sleep(0.5)
        b.check(images and len(tiles.hits) >= len(images) and "Test tiles" in d.page_source,
                f"{len(images)} tiles drawn, {len(tiles.hits)} fetched")
        b.page_checks("reports-map")
        # 3. The report with a photo: the image decodes.
        b.get(desk.url + "/console/reports/" + desk.report)
        img = d.find_elements(By.CSS_SELECTOR, "ul.media img")
        loaded = lambda _: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img[0])
        from selenium.webdriver.support.ui import WebDriverWait
        b.check(img and WebDriverWait(d, 30).until(loaded) == 48, "the photo did not load")
        b.check(PAYLOADS[1] in d.find_element(By.TAG_NAME, "main").text, "an attribute payload is not shown as text")
        b.page_checks("report")
        b.phone_check("report")
        # 4. Field work: assign the report and add a note; a device sees both after its sync.
        d.find_element(By.ID, "w-assignee").send_keys("Otieno")
        d.find_element(By.ID, "w-note").send_keys("Crew booked for Monday " + PAYLOADS[3])
        b.submit(d.find_element(By.CSS_SELECTOR, "form[action$='/edit'] button"))
        b.check("Saved" in d.find_element(By.TAG_NAME, "main").text, "no saved notice")
        b.page_checks("report-edited")
        desk.sync("tab-a")
        shown = desk.cli("report", "show", "--store", desk.stores["tab-a"], desk.report)
        b.check("Otieno" in shown and "Crew booked" in shown, "the device does not show the desk's edit")
        # 5. A bulk status on a filtered list.
        b.get(desk.url + "/console/reports?q=streetlight")
        for box in d.find_elements(By.CSS_SELECTOR, "input[name=report]"):
            box.click()
        d.find_element(By.ID, "bulk-status").send_keys("scheduled")
        b.submit(d.find_element(By.CSS_SELECTOR, "form#bulk button"))
        b.check("Status set on 6 report(s)." in d.find_element(By.TAG_NAME, "main").text, "bulk status not applied")
        b.page_checks("reports-bulk")
        b.get(desk.url + "/console/reports/" + desk.report)
        # 6. Resolve the conflict by keeping a candidate; it shows resolved and reaches a device.
        b.submit(d.find_element(By.PARTIAL_LINK_TEXT, "Resolve status"))
        b.page_checks("conflict")
        b.check("Had seen" in d.find_element(By.CSS_SELECTOR, "table.candidates").text, "no 'had seen' row")
        choice = d.find_element(By.ID, "choose-1")
        chosen_value = d.find_element(By.CSS_SELECTOR, "label[for='choose-1']").text.split(": ", 1)[1]
        choice.click()
        b.submit(d.find_element(By.CSS_SELECTOR, "section form button"))
        b.check("Resolved." in d.find_element(By.TAG_NAME, "main").text, "no resolved notice")
        b.page_checks("conflict-resolved")
        b.get(desk.url + "/console/conflicts?state=resolved")
        b.check(desk.report in d.find_element(By.TAG_NAME, "main").text, "not in the resolved log")
        b.page_checks("conflicts-resolved")
        desk.sync("tab-b")
        shown = desk.cli("report", "show", "--store", desk.stores["tab-b"], desk.report)
        b.check(chosen_value in shown, f"the device does not show {chosen_value!r} after its sync")
        # 7. The scorecard, signed in, then the public one without a session.
        b.get(desk.url + "/console/scorecard?county=kisumu&group=ward")
        b.page_checks("scorecard")
        # 8. A forged form (no CSRF token) changes nothing.
        status = d.execute_script(
            "return fetch('/console/sign-out', {method: 'POST', body: new URLSearchParams({csrf: 'forged'})})"
            ".then(r => r.status)")
        b.check(status == 403, f"a forged sign-out answered {status}")
        d.get_log("browser")  # the refused request's own log line
        # Exports of a filtered list: CSV (formulas defused) and GeoJSON.
        csv = d.execute_script("return fetch('/console/export.csv?q=streetlight').then(r => r.text())")
        lines = [l for l in csv.split("\r\n") if l]
        b.check(len(lines) == 7 and lines[0].startswith('"id","county"'), f"CSV has {len(lines)} lines")
        b.check('"\'=HYPERLINK(' in csv and "reporter_name" not in csv, "CSV: a formula cell or a personal column")
        geo = json.loads(d.execute_script("return fetch('/console/export.geojson?q=streetlight').then(r => r.text())"))
        b.check(len(geo["features"]) == 6 and geo["features"][0]["geometry"]["type"] == "Point", "GeoJSON")
        personal = d.execute_script("return fetch('/console/export.csv?personal=1').then(r => r.status)")
        b.check(personal == 403, f"an operator's export with personal fields answered {personal}")
        d.get_log("browser")
        # 9. Sign out: the session is gone.
        b.submit(d.find_element(By.CSS_SELECTOR, "form.signout button"))
        b.get(desk.url + "/console/reports")
        b.check(d.current_url.endswith("/console/sign-in"), "still signed in after signing out")
        b.get(desk.url + "/console/scorecard?county=kisumu")
        b.check("Service scorecard" in d.title, "the public scorecard needs a session")
        b.page_checks("public-scorecard")
        # 10. An admin enrolls a phone (the token shown once), the phone enrolls with it, then the
        # admin revokes it and its next sync is refused; the audit log shows all of it.
        b.get(desk.url + "/console/sign-in")
        d.find_element(By.ID, "token").send_keys(desk.admin)
        b.submit(d.find_element(By.CSS_SELECTOR, "form.stack button"))
        # The catalogue: an admin publishes one (a service name is a payload), then a broken one.
        b.get(desk.url + "/console/catalogue")
        catalogue = {"county": "kisumu", "services": [
            {"service_code": "pothole", "service_name": "Pothole " + PAYLOADS[0], "group": "roads",
             "attributes": [{"code": "depth_cm", "datatype": "number", "required": True, "order": 1,
                             "description": "Depth in cm"}],
             "targets": {"acknowledge_hours": 24, "resolve_hours": 240}},
            {"service_code": "streetlight", "service_name": "Streetlight out"}]}
        d.execute_script("document.getElementById('c-json').value = arguments[0]", json.dumps(catalogue))
        b.submit(d.find_element(By.CSS_SELECTOR, "form#publish button"))
        main = d.find_element(By.TAG_NAME, "main").text
        b.check("Published version 1" in main and "Pothole " + PAYLOADS[0] in main, "the catalogue was not published")
        b.page_checks("catalogue")
        d.execute_script("document.getElementById('c-json').value = arguments[0]", '{"county": "kisumu", "services": 3}')
        b.submit(d.find_element(By.CSS_SELECTOR, "form#publish button"))
        b.check("not a catalogue" in d.find_element(By.TAG_NAME, "main").text, "a broken catalogue was not refused")
        b.check("v2" not in d.find_element(By.TAG_NAME, "main").text, "a broken catalogue made a version")
        d.get_log("browser")
        b.get(desk.url + "/console/devices")
        b.check("Photos waiting" in d.find_element(By.TAG_NAME, "main").text, "no photos-waiting column")
        b.page_checks("devices")
        d.find_element(By.ID, "e-device").send_keys("tab-c")
        d.find_element(By.ID, "e-county").send_keys("kisumu")
        b.submit(d.find_element(By.CSS_SELECTOR, "form[action$='/enroll'] button"))
        token = d.find_element(By.ID, "enrollment-token").text
        b.check(token.startswith("fse_") and token not in d.current_url, "no enrollment token shown")
        b.page_checks("device-enrolled")
        # The QR code decodes to the token (zbarimg, Debian's zbar-tools, reads a screenshot of it).
        qr = os.path.join(work, "qr.png")
        d.find_element(By.CSS_SELECTOR, "svg.qr").screenshot(qr)
        if shutil.which("zbarimg"):
            decoded = subprocess.run(["zbarimg", "--raw", "-q", qr], capture_output=True, text=True).stdout.strip()
            b.check(decoded == token, f"the QR code reads {decoded!r}")
        elif os.environ.get("CI"):
            b.fail("zbarimg (zbar-tools) is needed to read the QR code")
        else:
            print("QR check skipped: install zbar-tools")
        phone = os.path.join(work, "tab-c.sqlite")
        desk.cli("device", "enroll", "--store", phone, "--server", desk.url, "--token", token)
        b.get(desk.url + "/console/devices")
        b.submit(d.find_element(By.CSS_SELECTOR, "button[aria-label='Revoke tab-c']"))
        b.check("Revoked tab-c" in d.find_element(By.TAG_NAME, "main").text, "no revoked notice")
        refused = subprocess.run([os.path.join(desk.bin, "fieldsync"), "sync", "--store", phone, "--attempts", "1"],
                                 capture_output=True, text=True)
        b.check(refused.returncode != 0, "a revoked phone still syncs")
        b.get(desk.url + "/console/audit")
        log = d.find_element(By.TAG_NAME, "main").text
        for action in ("sign_in", "sign_out", "resolve", "edit_report", "export", "enroll", "revoke_device",
                       "publish_catalogue"):
            b.check(action in log, f"the audit log lacks {action}")
        b.page_checks("audit")
        print(json.dumps({"weights": b.weights}, indent=1))
        if b.failures:
            sys.exit(f"{len(b.failures)} failures:\n" + "\n".join(b.failures))
        print(f"console check passed: {b.step} pages, screenshots in {args.shots}")
    finally:
        if browser:
            browser.driver.quit()
        desk.stop()


if __name__ == "__main__":
    main()
