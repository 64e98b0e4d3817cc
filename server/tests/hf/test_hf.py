"""Hugging Face hub support of the buffdb CLI, tested with the real huggingface_hub.

Makes a small fake model repository in hub-cache layout (config.json, tokenizer.json
and a few-MiB model.safetensors written by the `safetensors` package; two revisions
sharing files), then checks: `buffdb hf import` -> `hf export` byte for byte, shared
files stored once, the export read by huggingface_hub with HF_HUB_OFFLINE=1,
`model inspect`, and `buffdb hf serve` answering hf_hub_download / snapshot_download
by branch and by commit, with the hub's errors for bad input.

    BUFFDB_BIN=target/debug/buffdb python test_hf.py [--old-python PATH]...

`--old-python PATH` (repeatable) runs the download checks again with the Python of
another venv (another huggingface_hub major version); `--downloads ENDPOINT EXPECT.json`
runs only those checks. `--make-cache DIR` only writes the fake repository's hub cache
into DIR (the README's walkthrough imports it).
"""

import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = "buffdb-test/tiny"
BIN = os.environ.get("BUFFDB_BIN", "buffdb")


def git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def make_cache(root: Path) -> dict:
    """A hub cache with two revisions of REPO; returns what each revision holds."""
    import numpy as np
    from safetensors.numpy import save_file

    rng = np.random.default_rng(22)
    tensors = {
        "embed.weight": rng.standard_normal((512, 768), dtype=np.float32),  # 1.5 MiB
        "layer.0.bias": rng.standard_normal((768,), dtype=np.float32),
        "head.weight": (rng.standard_normal((768, 1024)) * 100).astype(np.float16),  # 1.5 MiB
    }
    st = root / "model.safetensors.tmp"
    save_file(tensors, str(st), metadata={"format": "np"})
    weights = st.read_bytes()
    st.unlink()
    tokenizer = json.dumps({"version": "1.0", "model": {"vocab": {f"tok{i}": i for i in range(300)}}}).encode()
    revs = {
        "a" * 8 + hashlib.sha1(b"rev1").hexdigest()[8:]: {
            "config.json": b'{"hidden_size": 768, "rev": 1}',
            "tokenizer.json": tokenizer,
            "model.safetensors": weights,
        },
        hashlib.sha1(b"rev2").hexdigest(): {
            "config.json": b'{"hidden_size": 768, "rev": 2}',
            "tokenizer.json": tokenizer,
            "model.safetensors": weights,
            "extra/notes.txt": b"second revision only\n",
        },
    }
    (c1, c2) = list(revs)
    repo = root / ("models--" + REPO.replace("/", "--"))
    for commit, files in revs.items():
        for name, data in files.items():
            etag = hashlib.sha256(data).hexdigest() if name.endswith(".safetensors") else git_oid(data)
            blob = repo / "blobs" / etag
            blob.parent.mkdir(parents=True, exist_ok=True)
            blob.write_bytes(data)
            link = repo / "snapshots" / commit / name
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(c2)
    (repo / "refs" / "v1").write_text(c1)
    return {"c1": c1, "c2": c2, "revs": {c: {n: hashlib.sha256(d).hexdigest() for n, d in f.items()} for c, f in revs.items()}, "tensors": {k: [str(v.dtype), list(v.shape)] for k, v in tensors.items()}}


def tree(root: Path) -> dict:
    """Every entry under root: symlink target, file bytes' sha256, or 'dir'."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_symlink():
            out[rel] = "-> " + os.readlink(p)
        elif p.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def buffdb(*args, store, check=True) -> subprocess.CompletedProcess:
    r = subprocess.run([BIN, "-s", str(store), *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"buffdb {' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return r


def sha256_file(p) -> str:
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_server(store, *extra, log=None):
    port = free_port()
    log = log or Path(str(store) + f".{port}.log")
    proc = subprocess.Popen([BIN, "-s", str(store), "hf", "serve", f"127.0.0.1:{port}", *extra], stderr=open(log, "w"))
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(f"hf serve exited: {Path(log).read_text()}")
            time.sleep(0.1)
    raise AssertionError("hf serve did not start")


def stop_server(proc):
    proc.terminate()
    proc.wait(timeout=20)


def http(url, method="GET", headers=None):
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def check_downloads(endpoint: str, expect: dict, work: Path):
    """hf_hub_download and snapshot_download against `endpoint`, by branch and by commit."""
    os.environ["HF_ENDPOINT"] = endpoint
    os.environ["HF_HUB_CACHE"] = str(work / "client-cache")
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ.pop("HF_HUB_OFFLINE", None)
    import huggingface_hub
    from huggingface_hub import hf_hub_download, snapshot_download
    from huggingface_hub.utils import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    c1, c2, revs = expect["c1"], expect["c2"], expect["revs"]
    print(f"  huggingface_hub {huggingface_hub.__version__} against {endpoint}")
    p = hf_hub_download(REPO, "config.json")
    assert sha256_file(p) == revs[c2]["config.json"], "config.json at main"
    assert f"snapshots/{c2}/" in p, p
    p = hf_hub_download(REPO, "model.safetensors", revision=c1)
    assert sha256_file(p) == revs[c1]["model.safetensors"]
    p = hf_hub_download(REPO, "config.json", revision="v1")
    assert sha256_file(p) == revs[c1]["config.json"], "config.json at v1"
    cache = Path(os.environ["HF_HUB_CACHE"]) / ("models--" + REPO.replace("/", "--"))
    assert (cache / "refs" / "main").read_text() == c2
    for rev, commit in (("main", c2), (c1, c1)):
        d = Path(snapshot_download(REPO, revision=rev, cache_dir=str(work / f"snap-{rev[:6]}")))
        got = {str(f.relative_to(d)): sha256_file(f) for f in d.rglob("*") if f.is_file()}
        assert got == revs[commit], (rev, got)
    for call, exc in (
        (lambda: hf_hub_download(REPO, "missing.bin"), EntryNotFoundError),
        (lambda: hf_hub_download(REPO, "config.json", revision="no-such-branch"), RevisionNotFoundError),
        (lambda: hf_hub_download("buffdb-test/absent", "config.json"), RepositoryNotFoundError),
    ):
        try:
            call()
        except exc:
            pass
        else:
            raise AssertionError(f"expected {exc.__name__}")
    print(f"  huggingface_hub {huggingface_hub.__version__}: downloads by branch, tag and commit ok")


def check_pull_through(store_a: Path, expect: dict, work: Path):
    """B --upstream A: a file fetched from A once, then served by B alone."""
    from concurrent.futures import ThreadPoolExecutor
    from huggingface_hub import hf_hub_download

    c1, c2, revs = expect["c1"], expect["c2"], expect["revs"]
    log_a = work / "a.log"
    proc_a, ep_a = start_server(store_a, "--log-requests", log=log_a)
    proc_b, ep_b = start_server(work / "b.db", "--upstream", ep_a)
    gets = lambda name: sum(1 for l in log_a.read_text().splitlines() if l.startswith(f"hf: GET /{REPO}/resolve/") and f"/{name} 200" in l)
    try:
        p = hf_hub_download(REPO, "model.safetensors", endpoint=ep_b, cache_dir=str(work / "b1"))
        assert sha256_file(p) == revs[c2]["model.safetensors"]
        assert gets("model.safetensors") == 1, log_a.read_text()
        p = hf_hub_download(REPO, "model.safetensors", endpoint=ep_b, cache_dir=str(work / "b2"))
        assert sha256_file(p) == revs[c2]["model.safetensors"]
        assert gets("model.safetensors") == 1, "the second download reached A"
        # Concurrent requests for one missing file: one fetch from A.
        with ThreadPoolExecutor(4) as ex:
            paths = list(ex.map(lambda i: hf_hub_download(REPO, "tokenizer.json", revision=c1, endpoint=ep_b, cache_dir=str(work / f"t{i}")), range(4)))
        assert all(sha256_file(p) == revs[c1]["tokenizer.json"] for p in paths)
        assert gets("tokenizer.json") == 1, log_a.read_text()
        stop_server(proc_a)
        proc_a = None
        for rev in ("main", c2):
            p = hf_hub_download(REPO, "model.safetensors", revision=rev, endpoint=ep_b, cache_dir=str(work / f"b3{rev[:4]}"))
            assert sha256_file(p) == revs[c2]["model.safetensors"], "served by B with A stopped"
        assert len(buffdb("search", "/hf/blobs/", store=work / "b.db").stdout.split()) == 2
    finally:
        stop_server(proc_b)
        if proc_a:
            stop_server(proc_a)


def check_upstream_dies(work: Path):
    """An upstream that stops half way: nothing half-stored; the next request fetches it whole."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from huggingface_hub import hf_hub_download

    data = os.urandom(3 << 20)
    etag, commit = hashlib.sha256(data).hexdigest(), hashlib.sha1(b"flaky").hexdigest()
    state = {"die": True, "gets": 0}

    class Flaky(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def head(self):
            if "/resolve/" not in self.path:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return False
            self.send_response(200)
            for k, v in (("X-Repo-Commit", commit), ("ETag", f'"{etag}"'), ("X-Linked-Etag", f'"{etag}"'),
                         ("X-Linked-Size", str(len(data))), ("Content-Length", str(len(data)))):
                self.send_header(k, v)
            self.end_headers()
            return True

        def do_HEAD(self):
            self.head()

        def do_GET(self):
            if not self.head():
                return
            state["gets"] += 1
            if state["die"]:
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            else:
                self.wfile.write(data)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    store = work / "flaky.db"
    proc, ep = start_server(store, "--upstream", f"http://127.0.0.1:{srv.server_address[1]}")
    try:
        try:
            hf_hub_download("flaky/big", "big.bin", endpoint=ep, cache_dir=str(work / "f1"))
        except Exception:
            pass
        else:
            raise AssertionError("a download cut by the upstream succeeded")
        assert state["gets"] >= 1
        assert buffdb("search", "/hf/", store=store).stdout.strip() == "", "half a file was stored"
        assert buffdb("model", "list", store=store).stdout.strip() == ""
        state["die"] = False
        p = hf_hub_download("flaky/big", "big.bin", endpoint=ep, cache_dir=str(work / "f2"))
        assert Path(p).read_bytes() == data
        assert buffdb("search", "/hf/blobs/", store=store).stdout.split() == [f"/hf/blobs/{etag}"]
    finally:
        stop_server(proc)
        srv.shutdown()


def check_token(store: Path, work: Path):
    """--token: a request without it is refused (401), huggingface_hub with it downloads."""
    from huggingface_hub import hf_hub_download

    proc, ep = start_server(store, "--token", "s3cret")
    try:
        st, _, _ = http(f"{ep}/{REPO}/resolve/main/config.json", "HEAD")
        assert st == 401, st
        st, _, _ = http(f"{ep}/{REPO}/resolve/main/config.json", "HEAD", {"Authorization": "Bearer wrong"})
        assert st == 401, st
        p = hf_hub_download(REPO, "config.json", endpoint=ep, token="s3cret", cache_dir=str(work / "tok"))
        assert Path(p).read_bytes().startswith(b'{"hidden_size"')
    finally:
        stop_server(proc)


def check_resume(work: Path):
    """A connection cut half way through a 24 MiB download: huggingface_hub resumes with
    `Range: bytes=N-` (N > 0), hf serve answers 206, and the file arrives whole."""
    import shutil
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from huggingface_hub import hf_hub_download

    work.mkdir()
    data = os.urandom(24 << 20)
    (work / "big.bin").write_bytes(data)
    buffdb("model", "register", "acme/big", "1", str(work / "big.bin"), store=work / "big.db")
    proc, ep = start_server(work / "big.db")
    state = {"cut": True, "gets": []}

    class Cut(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def relay(self, head):
            headers = {k: self.headers[k] for k in ("Range", "Authorization") if self.headers.get(k)}
            req = urllib.request.Request(ep + self.path, method="HEAD" if head else "GET", headers=headers)
            try:
                resp = urllib.request.urlopen(req)
            except urllib.error.HTTPError as e:
                resp = e
            if not head:
                state["gets"].append((self.path, self.headers.get("Range"), resp.status))
            self.send_response(resp.status)
            for k, v in resp.headers.items():
                if k.lower() not in ("connection", "date", "server", "transfer-encoding"):
                    self.send_header(k, v)
            self.end_headers()
            if head:
                return
            if state["cut"] and self.path.endswith("/big.bin"):
                state["cut"] = False
                self.wfile.write(resp.read(13 << 20))  # past the first 10 MiB chunk
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            shutil.copyfileobj(resp, self.wfile)

        def do_HEAD(self):
            self.relay(True)

        def do_GET(self):
            self.relay(False)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Cut)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        p = hf_hub_download("acme/big", "big.bin", endpoint=f"http://127.0.0.1:{srv.server_address[1]}",
                            cache_dir=str(work / "c"))
        assert Path(p).read_bytes() == data, "the resumed download differs"
        ranges = [(r, st) for path, r, st in state["gets"] if path.endswith("/big.bin")]
        assert len(ranges) == 2 and ranges[0] == (None, 200), ranges
        start = int(ranges[1][0].removeprefix("bytes=").split("-")[0])
        assert 0 < start <= 13 << 20 and ranges[1][1] == 206, ranges
        print(f"  a download cut at 13 MiB resumed with Range: {ranges[1][0]} (206)")
    finally:
        srv.shutdown()
        stop_server(proc)


def check_dataset(work: Path):
    """A dataset repo (`datasets--ORG--NAME`) imported and exported byte for byte, then
    downloaded with repo_type="dataset" (URLs under /datasets/ and /api/datasets/)."""
    from huggingface_hub import hf_hub_download, snapshot_download

    work.mkdir()
    commit = hashlib.sha1(b"dataset").hexdigest()
    files = {"train.csv": b"text,label\nfine,1\nbad,0\n", "data/part-0.parquet": os.urandom(200_000)}
    repo = work / "src" / "datasets--buffdb-test--data"
    for name, data in files.items():
        etag = hashlib.sha256(data).hexdigest() if name.endswith(".parquet") else git_oid(data)
        (repo / "blobs").mkdir(parents=True, exist_ok=True)
        (repo / "blobs" / etag).write_bytes(data)
        link = repo / "snapshots" / commit / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(repo / "blobs" / etag, link.parent))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    store = work / "ds.db"
    buffdb("hf", "import", str(work / "src"), store=store)
    buffdb("hf", "export", str(work / "out"), store=store)
    assert tree(work / "out") == tree(work / "src"), (tree(work / "out"), tree(work / "src"))
    proc, ep = start_server(store)
    try:
        p = hf_hub_download("buffdb-test/data", "train.csv", repo_type="dataset", endpoint=ep, cache_dir=str(work / "c"))
        assert Path(p).read_bytes() == files["train.csv"]
        d = Path(snapshot_download("buffdb-test/data", repo_type="dataset", endpoint=ep, cache_dir=str(work / "s")))
        assert {str(f.relative_to(d)): f.read_bytes() for f in d.rglob("*") if f.is_file()} == files
        try:
            hf_hub_download("buffdb-test/data", "train.csv", endpoint=ep, cache_dir=str(work / "m"))  # not a model
        except Exception as e:
            assert type(e).__name__ == "RepositoryNotFoundError", e
        else:
            raise AssertionError("a dataset was served as a model")
        print("  a dataset repo: imported, hf_hub_download and snapshot_download with repo_type='dataset'")
    finally:
        stop_server(proc)


def check_run_hf(work: Path):
    """`buffdb run --hf ADDR`: a model registered through the gRPC port (`--remote`)
    is downloaded by huggingface_hub from the hub port of the same process."""
    from huggingface_hub import hf_hub_download

    work.mkdir()
    grpc, hub = free_port(), free_port()
    log = work / "run.log"
    proc = subprocess.Popen([BIN, "-s", str(work / "run.db"), "run", f"127.0.0.1:{grpc}", "--hf", f"127.0.0.1:{hub}"],
                            stderr=open(log, "w"))
    try:
        for port in (grpc, hub):
            for _ in range(300):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    assert proc.poll() is None, log.read_text()
                    time.sleep(0.1)
        data = os.urandom(1 << 20)
        (work / "w.bin").write_bytes(data)
        r = subprocess.run([BIN, "--remote", f"127.0.0.1:{grpc}", "model", "register", "acme/remote", "7",
                            str(work / "w.bin")], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        p = hf_hub_download("acme/remote", "w.bin", endpoint=f"http://127.0.0.1:{hub}", cache_dir=str(work / "c"))
        assert Path(p).read_bytes() == data
        print("  buffdb run --hf: registered over gRPC, downloaded by huggingface_hub from the hub port")
    finally:
        stop_server(proc)


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "--downloads":
        with tempfile.TemporaryDirectory() as t:
            check_downloads(sys.argv[2], json.loads(Path(sys.argv[3]).read_text()), Path(t))
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--make-cache":
        Path(sys.argv[2]).mkdir(parents=True, exist_ok=True)
        e = make_cache(Path(sys.argv[2]))
        print(f"wrote {REPO} to {sys.argv[2]}: main = {e['c2']}, v1 = {e['c1']}")
        return
    old_pythons = [sys.argv[i + 1] for i, a in enumerate(sys.argv[:-1]) if a == "--old-python"]
    with tempfile.TemporaryDirectory() as t:
        work = Path(t)
        src, out, store = work / "src-cache", work / "exported", work / "store.db"
        src.mkdir()
        expect = make_cache(src)
        (work / "expect.json").write_text(json.dumps(expect))

        print("==> hf import, then again (nothing new), then export: byte for byte")
        r = buffdb("hf", "import", str(src), store=store)
        assert "2 new versions, 2 refs, 5 files stored" in r.stdout, r.stdout
        r = buffdb("hf", "import", str(src), store=store)
        assert "0 new versions" in r.stdout and "0 files stored" in r.stdout, r.stdout
        # `latest` follows the hub's main branch (not the commit that sorts last).
        listed = {l.split("\t")[0]: l.split("\t")[-1] for l in buffdb("model", "list", REPO, store=store).stdout.splitlines()}
        assert listed[expect["c2"]] == "latest,main" and listed[expect["c1"]] == "v1", listed
        blobs = buffdb("search", "/hf/blobs/", store=store).stdout.split()
        distinct = {h for rev in expect["revs"].values() for h in rev.values()}
        assert len(blobs) == len(distinct) == 5, blobs  # 9 files listed, 5 distinct, each stored once
        buffdb("hf", "export", str(out), store=store)
        assert tree(out) == tree(src), (tree(out), tree(src))

        print("==> the export read by huggingface_hub offline")
        env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(out), HF_HUB_DISABLE_TELEMETRY="1")
        code = f"""
import hashlib, json, sys
from huggingface_hub import hf_hub_download, snapshot_download
from safetensors.numpy import load_file
e = json.load(open({str(work / 'expect.json')!r}))
h = lambda p: hashlib.sha256(open(p, 'rb').read()).hexdigest()
assert h(hf_hub_download({REPO!r}, 'config.json')) == e['revs'][e['c2']]['config.json']
assert h(hf_hub_download({REPO!r}, 'config.json', revision=e['c1'])) == e['revs'][e['c1']]['config.json']
assert h(hf_hub_download({REPO!r}, 'config.json', revision='v1')) == e['revs'][e['c1']]['config.json']
d = snapshot_download({REPO!r})
t = load_file(d + '/model.safetensors')
assert {{k: [str(v.dtype), list(v.shape)] for k, v in t.items()}} == e['tensors']
"""
        subprocess.run([sys.executable, "-c", code], env=env, check=True)

        print("==> registry: model list, show, inspect")
        lines = buffdb("model", "list", REPO, store=store).stdout.splitlines()
        assert len(lines) == 2 and any(l.startswith(expect["c2"]) and "main" in l for l in lines), lines
        show = json.loads(buffdb("model", "show", REPO, "v1", store=store).stdout)
        assert show["version"] == expect["c1"] and show["parameters"]["source"] == "huggingface"
        inspect = buffdb("model", "inspect", REPO, "main", store=store).stdout.splitlines()
        got = {l.split("\t")[0]: [l.split("\t")[1], json.loads(l.split("\t")[2])] for l in inspect[1:] if not l.startswith("__")}
        want = {k: [{"float32": "F32", "float16": "F16"}[d], s] for k, (d, s) in expect["tensors"].items()}
        assert got == want, (got, want)

        # A model registered outside the hub: served too, `main` meaning `latest`.
        (work / "w.bin").write_bytes(os.urandom(300_000))
        buffdb("model", "register", "acme/classifier", "1.0", f"weights.bin={work / 'w.bin'}", "--framework", "pytorch", store=store)

        print("==> hf serve: the current huggingface_hub")
        (work / "pull").mkdir()
        proc, endpoint = start_server(store, "--tree-page-size", "2")
        try:
            # Bad input gets the hub's status codes and X-Error-Code.
            st, h, _ = http(f"{endpoint}/buffdb-test/../resolve/main/config.json")
            assert st == 404 and h.get("X-Error-Code") == "RepoNotFound", (st, h)
            st, h, _ = http(f"{endpoint}/{REPO}/resolve/nope/config.json", "HEAD")
            assert st == 404 and h.get("X-Error-Code") == "RevisionNotFound", (st, h)
            st, h, _ = http(f"{endpoint}/{REPO}/resolve/main/nope.bin", "HEAD")
            assert st == 404 and h.get("X-Error-Code") == "EntryNotFound" and h.get("X-Repo-Commit") == expect["c2"], (st, h)
            st, h, _ = http(f"{endpoint}/{REPO}/resolve/main/model.safetensors", headers={"Range": "bytes=999999999-"})
            assert st == 416 and h.get("Content-Range", "").startswith("bytes */"), (st, h)
            st, h, body = http(f"{endpoint}/{REPO}/resolve/main/model.safetensors", headers={"Range": "bytes=8-"})
            assert st == 206 and h["X-Linked-Etag"] == '"' + expect["revs"][expect["c2"]]["model.safetensors"] + '"', (st, h)
            st, h, _ = http(f"{endpoint}/{REPO}/resolve/main/config.json", "HEAD")
            assert st == 200 and "X-Linked-Etag" not in h and not any(k.lower().startswith("x-xet") for k in h), h
            check_downloads(endpoint, expect, work / "new")
            print("==> a hub cache written by huggingface_hub itself: imported, exported the same")
            written = work / "new" / "snap-main"  # snapshot_download of main: c2, refs/main, trees/c2.json
            buffdb("hf", "import", str(written), store=work / "re.db")
            buffdb("hf", "export", str(work / "re-exported"), store=work / "re.db")
            skip = lambda rel: rel.startswith(".locks") or rel == "CACHEDIR.TAG" or rel.split("/")[1:2] == ["trees"]
            want = {k: v for k, v in tree(written).items() if not skip(k)}
            assert any(k.endswith(f"/snapshots/{expect['c2']}/model.safetensors") for k in want), want
            assert tree(work / "re-exported") == want, (tree(work / "re-exported"), want)
            from huggingface_hub import hf_hub_download
            p = hf_hub_download("acme/classifier", "weights.bin", cache_dir=str(work / "reg"))
            assert Path(p).read_bytes() == (work / "w.bin").read_bytes()
            print("==> pull-through: B --upstream A")
            check_pull_through(store, expect, work / "pull")
            check_upstream_dies(work / "pull")
            check_token(store, work / "pull")
            for old in old_pythons:
                print("==> hf serve: an older huggingface_hub major version")
                subprocess.run([old, __file__, "--downloads", endpoint, str(work / "expect.json")], check=True)
        finally:
            stop_server(proc)
        check_run_hf(work / "run")
        check_resume(work / "resume")
        check_dataset(work / "dataset")
        logs = sorted(work.rglob("*.log"))
        panics = [str(l) for l in logs if "panicked" in l.read_text(errors="replace")]
        assert logs and not panics, f"a server panicked: {panics}"
    print("hf tests passed")


if __name__ == "__main__":
    main()
