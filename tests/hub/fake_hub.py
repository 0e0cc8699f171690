#!/usr/bin/python3
"""A fake Hugging Face hub on 127.0.0.1 for tests/test_hub.cpp and scripts/bench_download.sh:
the hub's URL layout and headers, served from a folder, with fault modes chosen by name.

    fake_hub.py ROOT          prints the port it listens on (port 0: the system's choice)

ROOT/ORG/NAME/COMMIT/FILE    the repository's files at that commit (COMMIT: 40 hex digits)
ROOT/ORG/NAME/refs.json      {"main": COMMIT, "v1": COMMIT}: branches and tags
ROOT/ORG/NAME/token          optional: the one token that may read it (a gated repository)
ROOT/requests.log            every request, one JSON object a line (method, path, range, auth)

GET|HEAD /ORG/NAME/resolve/REV/FILE   200 (small files, ETag = git blob sha1) or, for weights
  (LFS), 302 to /cdn/... with X-Linked-Etag = sha256 and X-Linked-Size; always X-Repo-Commit.
  404s carry X-Error-Code (RepoNotFound, RevisionNotFound, EntryNotFound) as the hub's do.
GET /cdn/ORG/NAME/COMMIT/FILE         the bytes, with Range (206: bytes=N- and bytes=N-M).
GET /api/models/ORG/NAME/revision/REV the file list (siblings), as the hub's API.
For the JS library @huggingface/hub (scripts/check_hub_interop.sh): a resolve GET of a small
file with Range bytes=N-M (206), POST /api/models/ORG/NAME/paths-info/REV ({"paths": [...]}:
oid, size, lfs, lastCommit = the revision's commit) and GET /api/models/ORG/NAME/tree/REV (the
files and folders, recursive).

A repository whose NAME contains a fault's name has it: drop-once (the first GET of a weights
file ends halfway), bad-checksum (X-Linked-Etag is the sha256 of other bytes), slow (weights
trickle, so that two clients overlap), stall (the weights' headers, then silence), no-range (Range
ignored: 200 and everything), wrong-size (X-Linked-Size one byte
more than the file), other-host (the CDN redirect names localhost, not 127.0.0.1).

Hostile mode (tests/test_hub_hostile.cpp): ROOT/ORG/NAME/hostile.json replaces what the
repository's answers say, sent as given: "etag" (the ETag of small files), "linked_etag" (the
X-Linked-Etag of weights), "commit" (X-Repo-Commit), "size" (X-Linked-Size), "location" (the
weights' redirect, any scheme), "api_location" (the file list's redirect), "siblings" (the
API's file names), "listing": "endless" (a file list that never ends: JSON without
Content-Length, 64 MiB then close), "stray": FILE (any other path under /ORG/NAME/ answers as a
resolve of FILE: a listed "../x.pth" reaches the server as /ORG/NAME/x.pth once curl has
removed the dot segments), "body": "overflow" (the CDN sends the file, then 64 MiB more,
without Content-Length) or "trickle" (the CDN announces 10^12 bytes and sends 2 a second for
30 s).
"""
import hashlib
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin", ".pth", ".pt")
COMMIT = re.compile(r"^[0-9a-f]{40}$")
ROOT = ""
LOG_LOCK = threading.Lock()
STATE_LOCK = threading.Lock()
DROPPED = set()  # drop-once files already dropped
SHA256 = {}  # (path, size, mtime_ns) -> hex digest: hash a big file once


def sha256_of(path):
    st = os.stat(path)
    key = (path, st.st_size, st.st_mtime_ns)
    with STATE_LOCK:
        if key in SHA256:
            return SHA256[key]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    with STATE_LOCK:
        SHA256[key] = h.hexdigest()
    return SHA256[key]


def hostile(org, name):
    path = os.path.join(ROOT, org, name, "hostile.json")
    return json.load(open(path)) if os.path.isfile(path) else {}


def git_sha1(path):
    data = open(path, "rb").read()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Hub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet: the test reads requests.log instead
        pass

    def record(self):
        entry = {"method": self.command, "path": urlsplit(self.path).path,
                 "range": self.headers.get("Range", ""), "auth": self.headers.get("Authorization", "")}
        with LOG_LOCK, open(os.path.join(ROOT, "requests.log"), "a") as f:
            f.write(json.dumps(entry) + "\n")

    def do_HEAD(self):
        self.record()
        self.route(body=False)

    def do_GET(self):
        self.record()
        self.route(body=True)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.post_body = self.rfile.read(length) if length else b""
        self.record()
        self.route(body=True)

    def reply(self, status, headers=None, body=b""):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def route(self, body):
        parts = [unquote(p) for p in urlsplit(self.path).path.split("/")[1:]]
        if len(parts) >= 5 and parts[0] == "cdn":
            return self.cdn(parts[1], parts[2], parts[3], "/".join(parts[4:]))
        if len(parts) == 6 and parts[:2] == ["api", "models"] and parts[4] == "revision":
            return self.api(parts[2], parts[3], parts[5])
        if len(parts) == 6 and parts[:2] == ["api", "models"] and parts[4] in ("paths-info", "tree"):
            return self.api_paths(parts[2], parts[3], parts[5], parts[4])
        if len(parts) >= 5 and parts[2] == "resolve":
            return self.resolve(parts[0], parts[1], parts[3], "/".join(parts[4:]))
        if len(parts) >= 3 and hostile(parts[0], parts[1]).get("stray"):
            return self.resolve(parts[0], parts[1], "main", hostile(parts[0], parts[1])["stray"])
        self.reply(404, {"X-Error-Code": "EntryNotFound"})

    def repo(self, org, name, rev):
        """(repo dir, commit) or None after answering the error."""
        repo = os.path.join(ROOT, org, name)
        if not os.path.isdir(repo):
            self.reply(404, {"X-Error-Code": "RepoNotFound"}, b"Repository not found")
            return None
        token_file = os.path.join(repo, "token")
        if os.path.exists(token_file):
            want = "Bearer " + open(token_file).read().strip()
            if self.headers.get("Authorization", "") != want:
                self.reply(401, {"X-Error-Code": "GatedRepo"}, b"Access to this repository is restricted")
                return None
        refs = json.load(open(os.path.join(repo, "refs.json")))
        commit = rev if COMMIT.match(rev) and os.path.isdir(os.path.join(repo, rev)) else refs.get(rev)
        if commit is None:
            self.reply(404, {"X-Error-Code": "RevisionNotFound"}, b"Revision not found")
            return None
        return repo, commit

    def resolve(self, org, name, rev, filename):
        found = self.repo(org, name, rev)
        if found is None:
            return
        repo, commit = found
        path = os.path.join(repo, commit, filename)
        if not os.path.isfile(path):
            return self.reply(404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": commit}, b"Entry not found")
        bad = hostile(org, name)
        if not filename.endswith(LFS_SUFFIXES):
            data = open(path, "rb").read()
            headers = {"X-Repo-Commit": bad.get("commit", commit), "ETag": bad.get("etag", '"%s"' % git_sha1(path))}
            m = re.match(r"bytes=(\d+)-(\d+)$", self.headers.get("Range", ""))
            if m and int(m.group(1)) < len(data):  # the JS library's probe for the size (bytes=0-0)
                start, end = int(m.group(1)), min(int(m.group(2)) + 1, len(data))
                headers["Content-Range"] = "bytes %d-%d/%d" % (start, end - 1, len(data))
                return self.reply(206, headers, data[start:end])
            return self.reply(200, headers, data)
        digest = sha256_of(path)
        if "bad-checksum" in name:
            digest = hashlib.sha256(open(path, "rb").read() + b"tampered").hexdigest()
        host = self.headers.get("Host", "127.0.0.1")
        if "other-host" in name:
            host = "localhost:%d" % self.server.server_address[1]
        location = "http://%s/cdn/%s/%s/%s/%s" % (host, quote(org), quote(name), commit, quote(filename))
        size = str(os.path.getsize(path) + ("wrong-size" in name))
        self.reply(302, {"X-Repo-Commit": bad.get("commit", commit), "X-Linked-Etag": bad.get("linked_etag", '"%s"' % digest),
                         "X-Linked-Size": bad.get("size", size), "ETag": 'W/"%s"' % git_sha1(path),
                         "Location": bad.get("location", location)})

    def api(self, org, name, rev):
        found = self.repo(org, name, rev)
        if found is None:
            return
        repo, commit = found
        files = sorted(os.path.relpath(os.path.join(d, f), os.path.join(repo, commit))
                       for d, _, fs in os.walk(os.path.join(repo, commit)) for f in fs)
        bad = hostile(org, name)
        if "api_location" in bad:
            return self.reply(302, {"Location": bad["api_location"]})
        if bad.get("listing") == "endless":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b'{"rfilename": "README.md"},' * 4096
            return self.send_until_closed([b'{"siblings": ['] + [chunk] * ((64 << 20) // len(chunk)))
        files = bad.get("siblings", files)
        body = json.dumps({"id": org + "/" + name, "sha": commit, "siblings": [{"rfilename": f} for f in files]})
        self.reply(200, {"Content-Type": "application/json"}, body.encode())

    def send_until_closed(self, chunks, pause=0.0):
        """Writes each chunk (then waits `pause`) until the client hangs up; then closes."""
        self.close_connection = True
        try:
            for chunk in chunks:
                self.wfile.write(chunk)
                self.wfile.flush()
                time.sleep(pause)
        except OSError:
            pass

    def entry(self, repo, commit, rel, with_commit):
        """A file or folder as the hub's paths-info and tree APIs describe it."""
        path = os.path.join(repo, commit, rel)
        if os.path.isdir(path):
            return {"type": "directory", "oid": "0" * 40, "size": 0, "path": rel}
        out = {"type": "file", "oid": git_sha1(path), "size": os.path.getsize(path), "path": rel}
        if rel.endswith(LFS_SUFFIXES):
            out["lfs"] = {"oid": sha256_of(path), "size": os.path.getsize(path), "pointerSize": 134}
        if with_commit:
            out["lastCommit"] = {"id": commit, "title": "fake", "date": "2024-01-01T00:00:00.000Z"}
        return out

    def api_paths(self, org, name, rev, kind):
        found = self.repo(org, name, rev)
        if found is None:
            return
        repo, commit = found
        top = os.path.join(repo, commit)
        if kind == "paths-info":
            asked = json.loads(getattr(self, "post_body", b"") or b"{}").get("paths", [])
            rels = [p for p in asked if os.path.exists(os.path.join(top, p))]
        else:
            rels = sorted(os.path.relpath(os.path.join(d, f), top)
                          for d, ds, fs in os.walk(top) for f in ds + fs)
        body = json.dumps([self.entry(repo, commit, rel, kind == "paths-info") for rel in rels])
        self.reply(200, {"Content-Type": "application/json"}, body.encode())

    def cdn(self, org, name, commit, filename):
        path = os.path.join(ROOT, org, name, commit, filename)
        if not os.path.isfile(path):
            return self.reply(404, {}, b"no such object")
        size = os.path.getsize(path)
        body = hostile(org, name).get("body")
        if body in ("overflow", "trickle") and self.command == "GET":
            self.send_response(200)
            if body == "trickle":
                self.send_header("Content-Length", str(10 ** 12))
            self.send_header("Connection", "close")
            self.end_headers()
            if body == "trickle":
                return self.send_until_closed([b"ab"] * 30, pause=1.0)
            return self.send_until_closed([open(path, "rb").read()] + [b"\0" * (1 << 20)] * 64)
        start, end = 0, size
        m = re.match(r"bytes=(\d+)-(\d*)$", self.headers.get("Range", ""))
        if m and "no-range" not in name:
            start = min(int(m.group(1)), size)
            if m.group(2):  # bytes=N-M (the JS library's bytes=0-0 probe): always 206
                end = max(start, min(int(m.group(2)) + 1, size))
        partial = start > 0 or end < size
        self.send_response(206 if partial else 200)
        if partial:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end - 1, size))
        self.send_header("Content-Length", str(end - start))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", '"%s"' % sha256_of(path))  # as a CDN sends one (the JS library wants it)
        self.end_headers()
        if self.command == "GET":
            self.send_bytes(path, name, start, end)

    def send_bytes(self, path, name, start, size):
        with open(path, "rb") as f:
            if "drop-once" in name or "stall" in name:
                with STATE_LOCK:
                    first = path not in DROPPED
                    DROPPED.add(path)
                if "stall" in name:  # headers, then silence (curl's speed is a 5 s average: no bytes at all)
                    time.sleep(30)
                elif first:
                    f.seek(start)
                    self.wfile.write(f.read((size - start) // 2))
                if first or "stall" in name:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
            if "slow" in name:
                f.seek(start)
                for chunk in iter(lambda: f.read(16384), b""):
                    self.wfile.write(chunk)
                    time.sleep(0.01)
                return
            self.connection.sendfile(f, start, size - start)  # full speed: the benchmark's server


def main():
    global ROOT
    ROOT = os.path.abspath(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
