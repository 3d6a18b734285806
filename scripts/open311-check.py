#!/usr/bin/env python3
"""A third-party Open311 client reads a live fieldsyncd: PyPI's `georeport` (the maintained
Python 3 GeoReport v2 client) reads the services, a service definition, the requests (all, then
filtered by service, status and a window of dates) and one request, in JSON and in XML, and
checks they say the same thing in both formats.
  scripts/open311-check.py BASE_URL SERVICE_WITH_ATTRIBUTES REQUEST_ID   (BASE_URL ends in /open311/v2)
Prints "ok …" and exits 0, or says what differed and exits 1.
"""
import datetime
import sys

from georeport import GeoReport


def as_list(x):
    return [] if x is None else x if isinstance(x, list) else [x]


def read(root, fmt, code, request_id):
    c = GeoReport(root, output_format=fmt)
    services = as_list(c.get_service_list())
    assert services, "no services"
    for s in services:
        for key in ("service_code", "service_name", "metadata", "type"):
            assert key in s, f"service lacks {key}: {s}"
        assert str(s["metadata"]).lower() in ("true", "false"), s
    definition = c.get_service_definition(code)
    assert definition["service_code"] == code, definition
    attributes = definition["attributes"]
    attributes = as_list(attributes["attribute"] if fmt == "xml" else attributes)
    assert attributes and all("code" in a and "datatype" in a for a in attributes), attributes
    requests = as_list(c.get_service_requests())
    assert any(r["service_request_id"] == request_id for r in requests), f"{request_id} not listed"
    now = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=3)))
    start = (now - datetime.timedelta(days=30)).isoformat(timespec="seconds")
    end = (now + datetime.timedelta(days=1)).isoformat(timespec="seconds")
    filtered = as_list(c.get_service_requests(service_code=code, start_date=start, end_date=end, status="open"))
    assert filtered and all(r["service_code"] == code and r["status"] == "open" for r in filtered), filtered
    by_id = as_list(c.get_service_requests(service_request_id=request_id))
    assert [r["service_request_id"] for r in by_id] == [request_id], by_id
    one = c.get_service_request(request_id)
    assert one["service_request_id"] == request_id and one["status"] in ("open", "closed"), one
    for personal in ("first_name", "last_name", "email", "phone", "reporter_name", "reporter_phone"):
        assert personal not in one, f"{personal} served publicly"
    return sorted(s["service_code"] for s in services), one


def main():
    root, code, request_id = sys.argv[1:4]
    try:
        codes_json, one_json = read(root, "json", code, request_id)
        codes_xml, one_xml = read(root, "xml", code, request_id)
    except AssertionError as e:
        sys.exit(f"FAILED: {e}")
    if codes_json != codes_xml:
        sys.exit(f"FAILED: JSON lists {codes_json}, XML {codes_xml}")
    for key in ("service_request_id", "status", "service_code", "description", "requested_datetime"):
        if str(one_json.get(key)) != str(one_xml.get(key)):
            sys.exit(f"FAILED: {key} is {one_json.get(key)!r} in JSON, {one_xml.get(key)!r} in XML")
    print(f"ok: georeport read {len(codes_json)} services, the definition of {code} and request {request_id} in JSON and XML")


if __name__ == "__main__":
    main()
