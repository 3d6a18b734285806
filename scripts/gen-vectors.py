#!/usr/bin/env python3
"""Writes protocol/vectors/*.json: request/response pairs the tests replay against a live
fieldsyncd. The signed change is encoded and signed here, in Python, from protocol/binary.md
alone — a second implementation of the signing input that must agree with the Swift one."""
import base64, json, os
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HERE = os.path.join(os.path.dirname(__file__), "..", "protocol", "vectors")
PRIVATE = bytes(range(1, 33))  # the fixture device's private key (tests register tab-a with it)

def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80); n >>= 7
    out.append(n); return bytes(out)

def string(s):
    b = s.encode(); return varint(len(b)) + b

def value(v):
    if v is None: return b"\x00"
    if v is False: return b"\x01"
    if v is True: return b"\x02"
    if isinstance(v, int): return b"\x03" + varint((v << 1) ^ (v >> 63))
    if isinstance(v, str): return b"\x05" + string(v)
    raise ValueError(v)

def op(o):
    if o["op"] == "create": return b"\x01" + string(o["county"])
    if o["op"] == "set": return b"\x02" + string(o["field"]) + value(o["value"])
    if o["op"] == "note": return b"\x05" + string(o["text"])
    raise ValueError(o)

def encode(c):
    out = b"\x01" + string(c["device"]) + varint(c["seq"]) + string(c["report"]) + string(c["county"])
    ctx = sorted(c.get("ctx", {}).items())
    out += varint(len(ctx)) + b"".join(string(d) + varint(s) for d, s in ctx)
    out += varint(c["hlc"][0]) + varint(c["hlc"][1])
    out += varint(len(c["ops"])) + b"".join(op(o) for o in c["ops"])
    # resolves: by field name, each field's candidate dots sorted (the canonical order, whatever
    # order the JSON lists them in).
    res = sorted(c.get("resolves", {}).items())
    out += varint(len(res))
    for field, dots in res:
        ds = sorted((d["device"], d["seq"]) for d in dots)
        out += string(field) + varint(len(ds)) + b"".join(string(d) + varint(n) for d, n in ds)
    return out

def sign(c):
    key = Ed25519PrivateKey.from_private_bytes(PRIVATE)
    return base64.b64encode(key.sign(b"fieldsync/change/v1\x00" + encode(c))).decode()

def sign_run(changes):
    """A signed run (protocol/binary.md, 'Signed runs'): each change's binary form with its length."""
    key = Ed25519PrivateKey.from_private_bytes(PRIVATE)
    body = b"".join(varint(len(encode(c))) + encode(c) for c in changes)
    return base64.b64encode(key.sign(b"fieldsync/run/v1\x00" + body)).decode()


def main():
    create = {"device": "tab-a", "seq": 1, "report": "vec-r1", "county": "kisumu", "hlc": [1795000000000, 0],
              "ops": [{"op": "create", "county": "kisumu"}, {"op": "set", "field": "status", "value": "open"}]}
    signed = {"change": create, "sig": sign(create)}
    tampered = {"change": dict(create, ops=[create["ops"][0], {"op": "set", "field": "status", "value": "closed"}]), "sig": signed["sig"]}
    edit2 = {"device": "tab-a", "seq": 2, "report": "vec-r1", "county": "kisumu", "ctx": {"tab-a": 1}, "hlc": [1795000000001, 0],
             "ops": [{"op": "set", "field": "priority", "value": 2}]}
    edit3 = {"device": "tab-a", "seq": 3, "report": "vec-r1", "county": "kisumu", "ctx": {"tab-a": 2}, "hlc": [1795000000002, 0],
             "ops": [{"op": "set", "field": "status", "value": "in_progress"}]}
    edit4 = {"device": "tab-a", "seq": 4, "report": "vec-r1", "county": "kisumu", "ctx": {"tab-a": 3}, "hlc": [1795000000003, 0],
             "ops": [{"op": "set", "field": "status", "value": "closed"}]}

    note5 = {"device": "tab-a", "seq": 5, "report": "vec-r1", "county": "kisumu", "ctx": {"tab-a": 4}, "hlc": [1795000000004, 0],
             "ops": [{"op": "note", "text": "unsigned"}]}
    edit6 = {"device": "tab-a", "seq": 5, "report": "vec-r1", "county": "kisumu", "ctx": {"tab-a": 4}, "hlc": [1795000000005, 0],
             "ops": [{"op": "set", "field": "status", "value": "open"}], "resolves": {"status": [{"device": "tab-a", "seq": 4}, {"device": "tab-a", "seq": 3}]}}
    def bad(**edits):
        c = dict(edit6, **edits); c.pop("resolves", None)
        return {"changes": [{"change": c, "sig": sign(c)}]}
    vectors = [
        ("health", "Liveness, no authentication.", "none", "GET", "/healthz", None, 200, {"status": "ok", "protocol": "1"}),
        ("sync-up-to-date", "A device with nothing to push and nothing new learns it in one round trip.", "device", "POST", "/v1/sync", {}, 200,
         {"changes": [], "more": False, "logs": {"tab-a": 0}}),
        ("sync-no-token", "No bearer token.", "none", "POST", "/v1/sync", {}, 401, {"code": "unauthorized"}),
        ("sync-unsupported-version", "A version this server does not speak.", "device", "POST", "/v9/sync", {}, 400, {"code": "unsupported_protocol_version"}),
        ("sync-malformed", "A body that is not JSON.", "device", "POST", "/v1/sync", "{\"changes\": [", 400, {"code": "malformed_json"}),
        ("push-create", "Push one signed change that creates a report; the server holds tab-a's log up to seq 1.", "device", "POST", "/v1/sync",
         {"changes": [signed]}, 200, {"accepted": {"applied": 1, "duplicates": 0}, "logs": {"tab-a": 1}, "more": False}),
        ("push-again", "Re-sending is safe: a duplicate, nothing changes.", "device", "POST", "/v1/sync",
         {"changes": [signed]}, 200, {"accepted": {"applied": 0, "duplicates": 1}, "logs": {"tab-a": 1}}),
        ("push-tampered", "The same signature on altered content.", "device", "POST", "/v1/sync", {"changes": [tampered]}, 422, {"code": "bad_signature"}),
        ("operator-reports", "An operator of kisumu lists its reports.", "operator", "GET", "/v1/reports", None, 200,
         {"reports": [{"id": "vec-r1", "county": "kisumu", "fields": {"status": "open"}, "lifecycle": "active"}]}),
        ("operator-report-detail", "One report with its history.", "operator", "GET", "/v1/reports/vec-r1", None, 200,
         {"report": {"id": "vec-r1"}, "history": [create]}),
        ("operator-conflicts", "No conflicts yet.", "operator", "GET", "/v1/conflicts?state=open", None, 200, {"conflicts": []}),
        ("operator-other-county", "An operator may not read another county.", "operator", "GET", "/v1/reports?county=nairobi", None, 403, {"code": "wrong_county"}),
        ("device-not-operator", "Devices do not use operator endpoints.", "device", "GET", "/v1/reports", None, 403, {"code": "forbidden"}),
        ("push-signed-run", "Two more changes signed once as a run: only the last carries sig, with run 2.", "device", "POST", "/v1/sync",
         {"changes": [{"change": edit2}, {"change": edit3, "sig": sign_run([edit2, edit3]), "run": 2}]}, 200,
         {"accepted": {"applied": 2, "duplicates": 0}, "logs": {"tab-a": 3}}),
        ("push-run-uncovered", "A change with no signature and no run covering it.", "device", "POST", "/v1/sync",
         {"changes": [{"change": edit4}]}, 422, {"code": "bad_signature"}),
        ("push-verdicts", "Per-change verdicts: the signed change is applied; the unsigned one, not held and covered by no run, is refused alone (listed in refused) and the push answers 200.",
         "device", "POST", "/v1/sync", {"changes": [{"change": edit4, "sig": sign(edit4)}, {"change": note5}], "verdicts": True}, 200,
         {"accepted": {"applied": 1, "duplicates": 0, "refused": 1}, "refused": [{"device": "tab-a", "seq": 5, "code": "bad_signature"}], "logs": {"tab-a": 4}}),
        ("push-unknown-field", "A field that is not a report field: 422 unknown_field (not malformed_json).", "device", "POST", "/v1/sync",
         bad(ops=[{"op": "set", "field": "colour", "value": "red"}]), 422, {"code": "unknown_field"}),
        ("push-invalid-report-id", "A report id outside 1-64 of A-Z a-z 0-9 - _ .: 422 invalid_identifier.", "device", "POST", "/v1/sync",
         bad(report="vec r1!"), 422, {"code": "invalid_identifier"}),
        ("push-context-zero", "A context entry of 0 (entries are 1 or more; leave the device out instead): 422 invalid_context.", "device", "POST", "/v1/sync",
         bad(ctx={"tab-a": 4, "tab-z": 0}), 422, {"code": "invalid_context"}),
        ("push-empty-context", "A change that does not create its report needs a non-empty context: 422 invalid_context.", "device", "POST", "/v1/sync",
         bad(ctx={}), 422, {"code": "invalid_context"}),
        ("push-seq-above-int64", "A sequence number above 9223372036854775807 (what a store holds): 422 invalid_sequence.", "device", "POST", "/v1/sync",
         bad(seq=9223372036854775808, ctx={"tab-a": 4}), 422, {"code": "invalid_sequence"}),
        ("sync-changes-not-an-array", "Valid JSON of the wrong shape: 400 invalid_request.", "device", "POST", "/v1/sync",
         {"changes": 5}, 400, {"code": "invalid_request"}),
        ("push-resolves-any-order", "resolves lists its candidates in any order on the wire: the signature is over the canonical (sorted) form, so this change, signed sorted and sent reversed, is applied.",
         "device", "POST", "/v1/sync", {"changes": [{"change": edit6, "sig": sign(edit6)}]}, 200,
         {"accepted": {"applied": 1, "duplicates": 0}, "logs": {"tab-a": 5}}),
    ]
    os.makedirs(HERE, exist_ok=True)
    for old in os.listdir(HERE):
        if old.endswith(".json") and old != "fixture.json": os.remove(os.path.join(HERE, old))
    fixture = {"device_id": "tab-a", "county": "kisumu", "private_key": base64.b64encode(PRIVATE).decode(),
               "operator_counties": ["kisumu"], "note": "The runner enrolls tab-a with this key and an operator for these counties on a fresh server, then replays the vectors in order."}
    json.dump(fixture, open(os.path.join(HERE, "fixture.json"), "w"), indent=2)
    for i, (name, desc, auth, method, path, body, status, expect) in enumerate(vectors, 1):
        v = {"name": name, "description": desc, "auth": auth, "request": {"method": method, "path": path}, "response": {"status": status, "body_includes": expect}}
        if isinstance(body, str): v["request"]["body_text"] = body
        elif body is not None: v["request"]["body"] = body
        json.dump(v, open(os.path.join(HERE, f"{i:02d}-{name}.json"), "w"), indent=2)
    print(f"wrote {len(vectors)} vectors")


if __name__ == "__main__":
    main()
