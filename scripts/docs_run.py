#!/usr/bin/env python3
"""Runs the documentation: every fenced shell example in README.md, docs/ and protocol/.

Each Markdown file runs as one shell session (bash) in a fresh temporary directory, its blocks
in order, so a variable set or a file written by one example is there for the next, as for a
reader who types them one after the other. Blocks tagged ``sh``, ``bash`` or ``console`` run;
other blocks (json, sql, untyped figures) are not commands.

- ``sh``/``bash``: every command must exit 0.
- ``console``: ``$ command`` lines, each followed by the output the doc shows. The output is
  compared line by line: ``…`` inside a line matches anything, a line that is only ``…`` matches
  any number of lines, and a last line ``[exit N]`` says the command exits N.
- ``<!-- docs-run: skip REASON -->`` just before a block skips it, saying why.

What a reader substitutes, the harness substitutes (REWRITES below, each with its reason):
tokens shown as ``fsa_…``/``fso_…``/``fse_…``/``fsd_…``/``fs311_…`` become the last such token an earlier
command printed; ``URL`` after ``--server`` is the live daemon; port 8080 becomes a free port;
PostgreSQL URLs become the test database (a schema per file). ``fieldsyncd serve`` runs in the
background until the file ends or another ``serve`` starts; commands the docs say need a stopped
daemon say so in a comment (``# daemon stopped``), and the harness stops it first. Every inline
`fieldsync …`/`fieldsyncd …` span of the prose is checked too: its subcommand exists and every
``--option`` it names is one; every inline `GET /v1/…?a&b` names an operation of openapi.json
and query parameters it has.

Usage: scripts/docs-run [--bin .build/debug] [--verbose] [--self-test] [FILE.md ...]
Exit status 1 when any example fails; the report names the file, line and difference.
"""
import argparse
import glob
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_LANGS = {"sh", "console"}
TIMEOUT = 240  # seconds per command: the longest documented command (a fleet simulation) takes ~80 s in debug

# Lines the harness does not run, with the reason (matched against the command after rewrites).
SKIP_LINES = [
    (r"^swift build\b", "the harness runs the build CI already made (--bin)"),
    (r"^scripts/test\b", "the test command that runs this harness"),
    (r"^(sudo )?apt-get\b", "installs system packages"),
    (r"^sudo -u postgres\b", "creates a role and database on the machine's cluster; the test database stands in"),
]

# (pattern, replacement, reason): applied to every command before it runs.
REWRITES = [
    (r"\bswift run (fieldsyncd?)\b", r"\1", "the built binary is on PATH"),
    (r"(?<![\w/])\.build/release/", "", "the built binaries (--bin) are on PATH"),
    (r"--host 0\.0\.0\.0", "--host 127.0.0.1", "loopback only on a test machine"),
    (r"/etc/fieldsync/", "{work}/etc/fieldsync/", "a private directory in the run's temporary directory"),
]


class Failure(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def blocks(path):
    """Yields (line_number, lang, lines, skip_reason) for each fenced block of a Markdown file."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i, skip = 0, None
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^(\s*)(`{3,}|~{3,})\s*([\w-]*)[^`]*$", line)
        marker = re.search(r"<!--\s*docs-run:\s*skip\s+(.*?)\s*-->", line)
        if marker:
            skip = marker.group(1)
        elif m:
            indent, fence, lang = len(m.group(1)), m.group(2), m.group(3).lower()
            body, start = [], i + 2   # the first body line's number (1-based)
            i += 1
            closer = re.compile(r"^\s*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*$")
            while i < len(lines) and not closer.match(lines[i]):
                body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
                i += 1
            if i == len(lines):
                raise SystemExit(f"docs-run: {path}:{start - 1}: a fence that is never closed")
            yield start, {"shell": "sh", "bash": "sh", "zsh": "sh"}.get(lang, lang), body, skip
            skip = None
        elif line.strip():
            skip = None
        i += 1


def commands(lang, body, start):
    """Splits a block into (line_number, command, expected_output or None, expected_exit)."""
    out = []
    if lang == "console":
        current = None
        for n, line in enumerate(body):
            if line.startswith("$ "):
                current = [start + n, line[2:], [], 0]
                out.append(current)
            elif current is not None and current[1].endswith("\\"):
                current[1] = current[1][:-1] + " " + line.strip()
            elif current is not None:
                m = re.match(r"^\[exit (\d+)\]$", line.strip())
                if m:
                    current[3] = int(m.group(1))
                else:
                    current[2].append(line)
        for c in out:
            while c[2] and not c[2][-1].strip():
                c[2].pop()
        return [tuple(c) for c in out]
    pending = None
    for n, line in enumerate(body):
        if pending is not None:
            pending[1] = pending[1][:-1] + " " + line.strip()
        elif line.strip() and not line.lstrip().startswith("#"):
            pending = [start + n, line]
        else:
            continue
        if not pending[1].endswith("\\"):
            out.append((pending[0], pending[1], None, 0))
            pending = None
    return out


def matches(expected, actual):
    """Line-by-line comparison with … wildcards."""
    def line_ok(e, a):
        parts = [re.escape(p) for p in e.rstrip().split("…")]
        return re.fullmatch(".*".join(parts), a.rstrip()) is not None

    def walk(i, j):
        if i == len(expected):
            return j == len(actual)
        if expected[i].strip() == "…":
            return any(walk(i + 1, k) for k in range(j, len(actual) + 1))
        return j < len(actual) and line_ok(expected[i], actual[j]) and walk(i + 1, j + 1)

    return walk(0, 0)


class Session:
    """One bash process per Markdown file, in its own temporary directory."""

    def __init__(self, bin_dir, name, postgres_url):
        self.work = tempfile.mkdtemp(prefix="docs-run-")
        os.makedirs(os.path.join(self.work, "etc/fieldsync"), mode=0o700)
        os.chmod(self.work, 0o700)
        self.ports = {}      # port in the doc → free port here
        self.tokens = {}
        self.daemons = {}    # free port → pid file of the daemon serving it
        self.said_stopped = False
        env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDSYNC_")}
        env.update(PATH=f"{bin_dir}:{ROOT}/scripts:{env.get('PATH', '/usr/bin:/bin')}", HOME=self.work, LC_ALL="C.UTF-8")
        self.postgres = None
        if postgres_url:
            schema = "docs_" + re.sub(r"\W", "_", name).lower()
            self.postgres = postgres_url + ("&" if "?" in postgres_url else "?") + f"schema={schema}"
            drop_schema(postgres_url, schema)
        self.bash = subprocess.Popen(["bash", "--noprofile", "--norc"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, cwd=self.work, env=env, text=True, start_new_session=True, bufsize=1)
        self.send("set -o pipefail; shopt -s expand_aliases; ln -s " + ROOT + "/scripts scripts")

    def send(self, script, timeout=TIMEOUT):
        marker = f"__docs_run_done_{time.monotonic_ns()}__"
        self.bash.stdin.write(f"{script}\necho \"{marker} $?\"\n")
        self.bash.stdin.flush()
        deadline, data, fd = time.monotonic() + timeout, b"", self.bash.stdout.fileno()
        done = re.compile(re.escape(marker).encode() + rb" (\d+)\n")
        while (found := done.search(data)) is None:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise Failure(f"no answer within {timeout} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise Failure("the shell exited: " + data.decode(errors="replace"))
            data += chunk
        return int(found.group(1)), data[:found.start()].decode(errors="replace")

    def rewrite(self, command):
        self.said_stopped = re.search(r"#.*\b(daemons? stopped|stop the daemons?)\b", command) is not None
        command = re.sub(r"\s+#\s.*$", "", command)   # a trailing comment is for the reader
        for pattern, replacement, _ in REWRITES:
            command = re.sub(pattern, replacement.replace("{work}", self.work), command)
        command = re.sub(r"(?<=:)80\d\d\b|(?<=--port )80\d\d\b", lambda m: str(self.port(m.group(0))), command)
        command = re.sub(r"--server URL\b", f"--server http://127.0.0.1:{self.port('8080')}", command)
        if self.postgres:
            command = re.sub(r"postgres://[^\s\"']*@[\w.-]+(:\d+)?/[^\s\"'$]*", self.postgres, command)
            # the docs tell the reader to export FIELDSYNC_POSTGRES_URL first (in prose)
            command = re.sub(r"\$\{?FIELDSYNC_POSTGRES_URL\}?", self.postgres, command)
        for prefix in ("fsa", "fso", "fse", "fsd", "fs311"):
            if f"{prefix}_…" in command:
                if prefix not in self.tokens:
                    raise Failure(f"the example uses {prefix}_… but no earlier command printed one")
                command = command.replace(f"{prefix}_…", self.tokens[prefix])
        return command

    def port(self, documented):
        if documented not in self.ports:
            self.ports[documented] = free_port()
        return self.ports[documented]

    def remember_tokens(self, output):
        for m in re.finditer(r"\b(fs[aoed]|fs311)_[A-Za-z0-9_-]{20,}", output):
            self.tokens[m.group(1)] = m.group(0)

    def run(self, command, exit_expected):
        """Runs one command; returns (exit status, output)."""
        first = command.split("|")[0].split(";")[0].strip()
        if re.match(r"^fieldsyncd serve\b", first) and exit_expected == 0:
            return self.serve(command)
        if self.said_stopped:
            self.stop()   # the doc says the daemon is stopped here (`# daemon stopped`)
        status, output = self.send("{ " + command + "\n} < /dev/null 2> .stderr")
        with open(os.path.join(self.work, ".stderr"), encoding="utf-8", errors="replace") as f:
            errors = f.read()
        for documented, here in self.ports.items():   # the reader's ports, as the doc shows them
            output, errors = (re.sub(rf"\b{here}\b", documented, t) for t in (output, errors))
        self.remember_tokens(output + errors)
        return status, output, errors

    def serve(self, command):
        port = re.search(r"--port (\d+)", command)
        if port is None:   # the default port, 8080, is mapped like a written one
            command += f" --port {self.port('8080')}"
        port = int(port.group(1)) if port else self.port("8080")
        self.stop(port)
        pid_file = f".serve-{port}.pid"
        # a simple command in the background: $! is the daemon itself, which SIGTERM drains
        self.send(command + f" < /dev/null > serve-{port}.log 2>&1 & echo $! > {pid_file}")
        self.daemons[port] = pid_file
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with opener.open(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        return 0, "", ""
            except OSError:
                pass
            alive, _ = self.send(f"kill -0 $(cat {pid_file}) 2>/dev/null")
            if alive != 0:
                break
            time.sleep(0.2)
        _, log = self.send(f"cat serve-{port}.log")
        return 1, "", "the daemon did not answer /healthz:\n" + log

    def stop(self, port=None):
        """Stops the daemon on a port, or every daemon (SIGTERM: it drains and closes its database)."""
        for p in [port] if port is not None else list(self.daemons):
            pid_file = self.daemons.pop(p, None)
            if pid_file:
                self.send(f"kill -TERM $(cat {pid_file}) 2>/dev/null; wait $(cat {pid_file}) 2>/dev/null; true", timeout=60)

    def close(self):
        try:
            self.stop()
        finally:
            try:
                os.killpg(self.bash.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.bash.wait()
            shutil.rmtree(self.work, ignore_errors=True)


def drop_schema(url, schema):
    psql = shutil.which("psql")
    if psql is None:
        return
    base = re.sub(r"\?.*$", "", url)
    subprocess.run([psql, base, "-q", "-c", f"DROP SCHEMA IF EXISTS {schema} CASCADE"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def run_file(path, bin_dir, postgres_url, report):
    rel = os.path.relpath(path, ROOT)
    todo = [b for b in blocks(path) if b[1] in RUN_LANGS]
    if not todo:
        return
    session = None
    try:
        for start, lang, body, skip in todo:
            if skip:
                report.append(("skip", f"{rel}:{start}", skip))
                continue
            if any("postgres" in line for line in body) and postgres_url is None:
                report.append(("skip", f"{rel}:{start}", "PostgreSQL example; set FIELDSYNC_TEST_POSTGRES_URL"))
                continue
            if session is None:
                session = Session(bin_dir, rel, postgres_url)
            todo_commands = commands(lang, body, start)
            if not todo_commands:
                report.append(("FAIL", f"{rel}:{start}", f"a {lang} block with no command (console commands start with '$ ')"))
            for line, command, expected, exit_expected in todo_commands:
                run_command(session, rel, line, command, expected, exit_expected, report)
    finally:
        if session:
            session.close()


def run_command(session, rel, line, command, expected, exit_expected, report):
    where = f"{rel}:{line}"
    for pattern, reason in SKIP_LINES:
        if re.match(pattern, command.strip()):
            report.append(("skip", where, f"{command.strip()}: {reason}"))
            return
    try:
        actual_command = session.rewrite(command)
        status, output, errors = session.run(actual_command, exit_expected)
    except Failure as f:
        report.append(("FAIL", where, f"{command}\n    {f}"))
        return
    # What a reader sees: stdout (curl's progress meter, on stderr, shows only without a terminal);
    # a command shown failing is compared with its error too.
    shown_text = output + errors if status != 0 or exit_expected != 0 else output
    lines = shown_text.rstrip("\n").split("\n") if shown_text.strip() else []
    shown = "\n".join("    | " + l for l in (output + errors).rstrip("\n").split("\n")[-40:])
    if status != exit_expected:
        report.append(("FAIL", where, f"{command}\n    exit {status}, expected {exit_expected}; output:\n{shown}"))
    elif expected is not None and not matches(expected, lines):
        want = "\n".join("    > " + l for l in expected)
        report.append(("FAIL", where, f"{command}\n    output differs; the doc shows:\n{want}\n    it printed:\n{shown}"))
    else:
        report.append(("ok", where, command))


INLINE = re.compile(r"`((?:fieldsyncd|fieldsync) [a-z-][^`]*)`")   # `fieldsync …` names the tool, not a command


def inline_spans(path):
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"```.*?```", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    for m in INLINE.finditer(text.replace("\n", " ")):
        yield text[:m.start()].count("\n") + 1, m.group(1)


def takes_positional(usage):
    """Whether a USAGE line has a positional argument (`<device>`, not `--db <path>` or `<subcommand>`)."""
    tokens = usage.replace("[", " ").replace("]", " ").split()
    return any(t.startswith("<") and t != "<subcommand>" and not tokens[i - 1].startswith("-")
               for i, t in enumerate(tokens) if i > 0)


def check_inline(path, bin_dir, report, cache):
    """An inline command names a real subcommand, and every --option it names exists there."""
    rel = os.path.relpath(path, ROOT)
    for line, span in inline_spans(path):
        words = span.split()
        path_words = [words[0]]
        for w in words[1:]:
            if not re.fullmatch(r"[a-z][a-z0-9-]*", w):
                break
            path_words.append(w)
        key = tuple(path_words)
        while key not in cache and len(key) > 1:
            result = subprocess.run([os.path.join(bin_dir, key[0]), *key[1:], "--help"], capture_output=True, text=True)
            usage = re.search(r"USAGE: (.*)", result.stdout)
            if result.returncode == 0 and usage and usage.group(1).startswith(" ".join(key)):
                if key == tuple(path_words) or takes_positional(usage.group(1)):
                    cache[key] = result.stdout
                    break
            key = key[:-1]   # a trailing word may be a value (`admin revoke tab-7`)
        help_text = cache.get(key)
        where = f"{rel}:{line}"
        if help_text is None:
            report.append(("FAIL", where, f"`{span}`: no such command"))
            continue
        unknown = [o for o in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", span)
                   if not re.search(re.escape(o) + r"(?![\w-])", help_text)]
        if unknown:
            report.append(("FAIL", where, f"`{span}`: `{' '.join(key)}` has no option {', '.join(unknown)}"))
        else:
            report.append(("ok", where, f"`{span}`"))


SELF_TEST = os.path.join(ROOT, "scripts/docs-run-selftest.md")


def self_test(bin_dir):
    """Runs the fixture: exactly its wrong examples must fail, each for its reason."""
    report = []
    run_file(SELF_TEST, bin_dir, None, report)
    check_inline(SELF_TEST, bin_dir, report, {})
    failed = sorted(what.split("\n")[0] for kind, _, what in report if kind == "FAIL")
    want = sorted(["echo hello", "true", "false", "`fieldsync sync --no-such-option`: `fieldsync sync` has no option --no-such-option",
                   "`fieldsync no-such-command --store x`: no such command",
                   "`fieldsyncd admin devicess --db x`: no such command",
                   "`fieldsyncd admin devices --silent 3`: `fieldsyncd admin devices` has no option --silent"])
    passed = sum(1 for kind, _, _ in report if kind == "ok")
    if failed != want or passed != 8:
        print(f"docs-run self-test FAILED: expected failures {want} and 8 passes; got {failed}, {passed} passes")
        return 1
    print(f"docs-run self-test: the {len(want)} wrong examples fail, the {passed} right ones pass")
    return 0


HTTP_SPAN = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s]*)[^`]*`")


def check_http(path, report, openapi):
    """An inline `GET /v1/…?a&b` names a path and method of openapi.json, and its query names exist."""
    rel = os.path.relpath(path, ROOT)
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"```.*?```", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    for m in HTTP_SPAN.finditer(text):
        method, target = m.group(1).lower(), m.group(2).replace("\\|", "|")
        where = f"{rel}:{text[:m.start()].count(chr(10)) + 1}"
        route, _, query = target.partition("?")
        operation = None
        for template, item in openapi["paths"].items():
            pattern = "^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template)) + "$"
            if re.match(pattern, route) and method in item:
                operation = item[method]
                break
        if operation is None:
            report.append(("FAIL", where, f"`{m.group(1)} {target}`: not an operation of protocol/openapi.json"))
            continue
        known = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
        names = [q.split("=")[0] for q in query.split("&") if q]
        unknown = [n for n in names if n not in known]
        if unknown:
            report.append(("FAIL", where, f"`{m.group(1)} {target}`: no query parameter {', '.join(unknown)}"))
        else:
            report.append(("ok", where, f"`{m.group(1)} {target}`"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build/debug"))
    parser.add_argument("--verbose", action="store_true", help="list every example run")
    parser.add_argument("--self-test", action="store_true", help="check that the harness catches what it must")
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()
    bin_dir = os.path.abspath(args.bin)
    if args.self_test:
        sys.exit(self_test(bin_dir))
    files = args.files or [os.path.join(ROOT, "README.md"), *sorted(glob.glob(os.path.join(ROOT, "docs/*.md"))),
                           *sorted(glob.glob(os.path.join(ROOT, "protocol/*.md")))]
    postgres_url = os.environ.get("FIELDSYNC_TEST_POSTGRES_URL") or None
    if postgres_url is None and os.environ.get("CI"):
        sys.exit("docs-run: CI needs FIELDSYNC_TEST_POSTGRES_URL for the PostgreSQL examples")
    report, cache = [], {}
    with open(os.path.join(ROOT, "protocol/openapi.json"), encoding="utf-8") as f:
        openapi = json.load(f)
    for f in files:
        started = time.monotonic()
        run_file(os.path.abspath(f), bin_dir, postgres_url, report)
        check_inline(os.path.abspath(f), bin_dir, report, cache)
        check_http(os.path.abspath(f), report, openapi)
        if args.verbose:
            print(f"{os.path.relpath(f, ROOT)}: {time.monotonic() - started:.1f} s", file=sys.stderr)
    for kind, where, what in report:
        if kind != "ok" or args.verbose:
            print(f"{kind:4} {where}: {what}")
    ok = sum(1 for r in report if r[0] == "ok")
    failed = sum(1 for r in report if r[0] == "FAIL")
    skipped = sum(1 for r in report if r[0] == "skip")
    print(f"docs-run: {ok} examples and inline commands ran as written, {failed} failed, {skipped} skipped (reasons above)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
