"""Benchmark: a 1 GiB file downloaded through `buffdb hf serve` by huggingface_hub,
against reading and copying the same file on the filesystem, in the same run; the same
file taken by `curl` and by a bare socket reader (what the server itself sends), and by
httpx's `iter_bytes` into a file (the HTTP client huggingface_hub uses, without the
hub's code); the server's peak RSS; cold start of `hf serve` to the first byte.

    BUFFDB_BIN=target/release/buffdb python bench_hf.py [MIB] [--profile OUT.txt]

Each round runs every reader once, one after the other (interleaved, so drift hits all
alike); medians of RUNS rounds. `--profile` also runs one more hf_hub_download under
pyinstrument and writes its text report to OUT.txt.
"""

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

BIN = os.environ.get("BUFFDB_BIN", "buffdb")
ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
MIB = int(ARGS[0]) if ARGS else 1024
PROFILE = sys.argv[sys.argv.index("--profile") + 1] if "--profile" in sys.argv else None
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
REPO, FILE = "bench/big", "big.bin"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_of(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(f, server_pid):
    """(wall seconds, client CPU seconds (this process and its children), server CPU seconds)."""
    import resource

    r0, c0, s0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN), cpu_of(server_pid)
    t = time.perf_counter()
    f()
    wall = time.perf_counter() - t
    r1, c1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(b.ru_utime + b.ru_stime - a.ru_utime - a.ru_stime for a, b in ((r0, r1), (c0, c1)))
    return wall, cpu, cpu_of(server_pid) - s0


def start(store, *extra, probe=True):
    """Spawns `hf serve`; returns (process, port, seconds to the first byte of a download)."""
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([BIN, "-s", str(store), "hf", "serve", f"127.0.0.1:{port}", *extra], stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/{REPO}/resolve/main/{FILE}"
    while True:
        try:
            if not probe:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return proc, port, time.perf_counter() - t0
            with urllib.request.urlopen(urllib.request.Request(url, headers={"Range": "bytes=0-0"})) as r:
                r.read(1)
            return proc, port, time.perf_counter() - t0
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("hf serve exited")
            time.sleep(0.002)


class Rss(threading.Thread):
    """Samples the server's VmRSS and RssAnon (kB) every 20 ms; keeps the peaks."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak_rss, self.peak_anon, self.stop = pid, 0, 0, threading.Event()

    def read(self):
        st = {}
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                st[k] = v.split()[0] if v.split() else "0"
        return st

    def run(self):
        while not self.stop.wait(0.02):
            try:
                st = self.read()
            except OSError:
                return
            self.peak_rss = max(self.peak_rss, int(st["VmRSS"]))
            self.peak_anon = max(self.peak_anon, int(st["RssAnon"]))


def socket_read(port, size):
    """A bare HTTP/1.1 GET over a socket, the body read into one reused 8 MiB buffer."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"GET /{REPO}/resolve/main/{FILE} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    buf = bytearray(8 << 20)
    view = memoryview(buf)
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(65536)
    header, _, body = head.partition(b"\r\n\r\n")
    assert header.startswith(b"HTTP/1.1 200"), header[:40]
    got = len(body)
    while True:
        n = s.recv_into(view)
        if n == 0:
            break
        got += n
    s.close()
    assert got == size, (got, size)


def socket_read_small(port, size):
    """The same GET, read as httpcore reads: `recv(65536)`, a new bytes object each."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"GET /{REPO}/resolve/main/{FILE} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    got = 0
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += len(b)
    s.close()
    assert got > size, (got, size)


def pull_through(work, store, size):
    """`hf serve --upstream` (B) in front of a server holding the file (A): the first
    download through B fetches it from A while B stores it; B's memory while it does."""
    a, port_a, _ = start(store)
    b, port_b, _ = start(work / "edge.db", "--upstream", f"http://127.0.0.1:{port_a}", probe=False)
    rss = Rss(b.pid)
    idle = rss.read()
    rss.start()
    try:
        url = f"http://127.0.0.1:{port_b}/{REPO}/resolve/main/{FILE}"
        first = timed(lambda: subprocess.run(["curl", "-sS", "-o", "/dev/null", url], check=True), b.pid)
        again = timed(lambda: subprocess.run(["curl", "-sS", "-o", "/dev/null", url], check=True), b.pid)
        rss.stop.set()
        rss.join()
    finally:
        for p in (a, b):
            p.terminate()
            p.wait()
    kib = lambda k: f"{int(k) / 1024:.0f} MiB"
    mb = size / 1e6
    print(f"pull-through of {size >> 20} MiB, curl through B --upstream A; load {LOAD0[0]:.1f} -> {os.getloadavg()[0]:.1f}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"first (fetched from A, stored by B): {mb / first[0]:,.0f} MB/s, B's CPU {first[2]:.2f} s; "
          f"again (from B's store): {mb / again[0]:,.0f} MB/s, B's CPU {again[2]:.2f} s")
    print(f"B's RSS: idle {kib(idle['VmRSS'])} (anonymous {kib(idle['RssAnon'])}); peak {kib(rss.peak_rss)} "
          f"(anonymous {kib(rss.peak_anon)})")


def main():
    global LOAD0
    LOAD0 = os.getloadavg()
    import httpx2 as httpx  # huggingface_hub 2.x's HTTP client
    import huggingface_hub
    from huggingface_hub import hf_hub_download

    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as t:
        work = Path(t)
        src = work / FILE
        with open(src, "wb") as f:
            block = os.urandom(8 << 20)
            for i in range(MIB // 8):
                f.write(block[i % 7:] + block[: i % 7])
        size = src.stat().st_size
        store = work / "store.db"
        subprocess.run([BIN, "-s", str(store), "model", "register", REPO, "1", str(src)], check=True, capture_output=True)

        if os.environ.get("BENCH_ONLY") == "pull":
            return pull_through(work, store, size)
        colds = []
        for _ in range(RUNS):
            proc, port, cold = start(store)
            colds.append(cold)
            proc.terminate()
            proc.wait()
        proc, port, _ = start(store)
        base = f"http://127.0.0.1:{port}"
        url = f"{base}/{REPO}/resolve/main/{FILE}"
        rss = Rss(proc.pid)
        idle = rss.read()
        rss.start()
        curl = shutil.which("curl")
        try:
            def read_fs(i):
                with open(src, "rb", buffering=0) as f:
                    buf = bytearray(8 << 20)
                    while f.readinto(buf):
                        pass

            def copy_fs(i):
                shutil.copyfile(src, work / f"copy{i}")

            def curl_get(i):
                subprocess.run([curl, "-sS", "-o", "/dev/null", url], check=True)

            def httpx_get(i):
                with httpx.Client() as c, c.stream("GET", url) as r, open(work / f"httpx{i}", "wb") as f:
                    for chunk in r.iter_bytes(chunk_size=10 << 20):
                        f.write(chunk)

            def httpx_discard(i, raw):
                with httpx.Client() as c, c.stream("GET", url) as r:
                    for chunk in (r.iter_raw() if raw else r.iter_bytes(chunk_size=10 << 20)):
                        pass

            def download(i):
                p = hf_hub_download(REPO, FILE, endpoint=base, cache_dir=str(work / f"c{i}"))
                assert os.path.getsize(p) == size

            readers = {
                "filesystem read (8 MiB `readinto`)": read_fs,
                "filesystem copy (`shutil.copyfile`)": copy_fs,
                "bare socket reader, HTTP/1.1, body into a reused 8 MiB buffer": lambda i: socket_read(port, size),
                "`curl -o /dev/null`": curl_get if curl else None,
                "bare socket reader, `recv(65536)` into a new bytes object each time (as httpcore reads)": lambda i: socket_read_small(port, size),
                "httpx `iter_raw()`, discarded (httpcore + h11 per 64 KiB)": lambda i: httpx_discard(i, True),
                "httpx `iter_bytes(10 MiB)`, discarded (+ rejoined into 10 MiB pieces)": lambda i: httpx_discard(i, False),
                "httpx `iter_bytes(10 MiB)` into a file (what huggingface_hub's loop does)": httpx_get,
                f"huggingface_hub {huggingface_hub.__version__} `hf_hub_download`": download,
            }
            times = {k: [] for k, f in readers.items() if f}
            for i in range(RUNS):
                for name in times:
                    times[name].append(timed(lambda: readers[name](i), proc.pid))
                    for leftover in (work / f"copy{i}", work / f"httpx{i}"):
                        leftover.unlink(missing_ok=True)
                    shutil.rmtree(work / f"c{i}", ignore_errors=True)
            if PROFILE:
                from pyinstrument import Profiler

                prof = Profiler(interval=0.001)
                prof.start()
                download("prof")
                prof.stop()
                Path(PROFILE).write_text(prof.output_text(unicode=False, color=False, show_all=True))
            rss.stop.set()
            rss.join()
            end = rss.read()
        finally:
            proc.terminate()
            proc.wait()
        mb = size / 1e6
        med = lambda ts, k: statistics.median(t[k] for t in ts)
        fs = med(times["filesystem read (8 MiB `readinto`)"], 0)
        print(f"file: {size >> 20} MiB; {RUNS} rounds, each reader once a round (interleaved); medians; "
              f"load average {LOAD0[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
        print()
        print("| reader | MB/s | vs the filesystem read | wall s, each round | client CPU s | server CPU s | MB/s per client CPU s |")
        print("|---|---:|---:|---|---:|---:|---:|")
        for name, ts in times.items():
            w, c, sv = med(ts, 0), med(ts, 1), med(ts, 2)
            print(f"| {name} | {mb / w:,.0f} | {fs / w:.2f}x | {', '.join(f'{x[0]:.2f}' for x in ts)} | {c:.2f} | {sv:.2f} | {mb / c:,.0f} |")
        print()
        kib = lambda k: f"{int(k) / 1024:.0f} MiB"
        print(f"server RSS: idle {kib(idle['VmRSS'])} (anonymous {kib(idle['RssAnon'])}); "
              f"peak while serving {kib(rss.peak_rss)} (anonymous {kib(rss.peak_anon)}); "
              f"VmHWM at the end {kib(end['VmHWM'])}")
        print(f"cold start of hf serve to the first byte: {', '.join(f'{c * 1000:.0f}' for c in colds)} ms "
              f"(median {statistics.median(colds) * 1000:.0f} ms)")
        if PROFILE:
            print(f"profile of one hf_hub_download: {PROFILE}")


if __name__ == "__main__":
    main()
