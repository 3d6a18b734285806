#!/usr/bin/env python3
"""Uploads a file to fieldsyncd with tuspy (PyPI), the tus client others already use: creation with
the file's sha256 in the metadata, sha1 checksums per chunk, a cut after the first chunk and a
resume from the server's offset by a fresh uploader (as after a restart), then checks the bytes
by downloading them. Usage: tus-check.py URL TOKEN FILE CHUNK_BYTES. Prints 'ok <upload url>'."""
import hashlib
import sys
import urllib.request

from tusclient import client

url, token, path, chunk = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
data = open(path, "rb").read()
sha = hashlib.sha256(data).hexdigest()
tus = client.TusClient(url + "/v1/uploads", headers={"Authorization": "Bearer " + token})
first = tus.uploader(file_path=path, chunk_size=chunk, metadata={"sha256": sha, "content_type": "image/jpeg"},
                     upload_checksum=True)
first.upload_chunk()  # one piece, then the "connection" is gone
assert first.offset == min(chunk, len(data)), first.offset
resumed = tus.uploader(file_path=path, url=first.url, chunk_size=chunk, upload_checksum=True)
assert resumed.offset == first.offset, (resumed.offset, first.offset)  # learnt from HEAD
resumed.upload()
request = urllib.request.Request(url + "/v1/media/" + sha, headers={"Authorization": "Bearer " + token})
body = urllib.request.urlopen(request, timeout=10).read()
assert body == data, "the downloaded bytes differ"
# The same file again: the server holds it. tuspy ignores the creation's Upload-Offset and sends its
# first chunk; the server drops it and answers the whole length, so the upload ends there.
again = tus.uploader(file_path=path, chunk_size=chunk, metadata={"sha256": sha}, upload_checksum=True)
again.upload_chunk()
assert again.offset == len(data), again.offset
print("ok", first.url)
