"""Benchmark: a 1 GiB file downloaded through `buffdb hf serve` by huggingface_hub,
against reading and copying the same file on the filesystem, in the same run; the
server's peak RSS; cold start of `hf serve` to the first byte of a download.

    BUFFDB_BIN=target/release/buffdb python bench_hf.py [MIB]
"""

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BIN = os.environ.get("BUFFDB_BIN", "buffdb")
MIB = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
RUNS = 3


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def main():
    from huggingface_hub import hf_hub_download

    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as t:
        work = Path(t)
        src = work / "big.bin"
        with open(src, "wb") as f:
            block = os.urandom(8 << 20)
            for i in range(MIB // 8):
                f.write(block[i % 7:] + block[: i % 7])
        size = src.stat().st_size
        store = work / "store.db"
        subprocess.run([BIN, "-s", str(store), "model", "register", "bench/big", "1", str(src)], check=True, capture_output=True)

        # Cold start to first byte: spawn, connect, GET one byte.
        port = free_port()
        t0 = time.perf_counter()
        proc = subprocess.Popen([BIN, "-s", str(store), "hf", "serve", f"127.0.0.1:{port}"], stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}/bench/big/resolve/main/big.bin"
        while True:
            try:
                with urllib.request.urlopen(urllib.request.Request(url, headers={"Range": "bytes=0-0"})) as r:
                    r.read(1)
                break
            except OSError:
                time.sleep(0.005)
        cold = time.perf_counter() - t0
        try:
            def read_fs():
                with open(src, "rb", buffering=0) as f:
                    while f.read(8 << 20):
                        pass

            def copy_fs(i):
                shutil.copyfile(src, work / f"copy{i}")

            def download(i):
                p = hf_hub_download("bench/big", "big.bin", endpoint=f"http://127.0.0.1:{port}", cache_dir=str(work / f"c{i}"))
                assert os.path.getsize(p) == size

            fs_read, fs_copy, hub = [], [], []
            for i in range(RUNS):  # interleaved, so drift hits all three alike
                fs_read.append(timed(read_fs))
                fs_copy.append(timed(lambda: copy_fs(i)))
                (work / f"copy{i}").unlink()
                hub.append(timed(lambda: download(i)))
                shutil.rmtree(work / f"c{i}")
            st = {l.split(":")[0]: l.split()[1] for l in open(f"/proc/{proc.pid}/status") if ":" in l}
            hwm, anon = st["VmHWM"], st["RssAnon"]
        finally:
            proc.terminate()
            proc.wait()
        mb = size / 1e6
        r, c, h = (statistics.median(x) for x in (fs_read, fs_copy, hub))
        print(f"file: {size >> 20} MiB, {RUNS} runs interleaved, medians")
        print(f"| read | MB/s | vs filesystem read | vs filesystem copy |")
        print(f"|---|---:|---:|---:|")
        print(f"| filesystem read (8 MiB reads) | {mb / r:.0f} | 1.00 | |")
        print(f"| filesystem copy (shutil.copyfile) | {mb / c:.0f} | {r / c:.2f} | 1.00 |")
        print(f"| huggingface_hub hf_hub_download via buffdb hf serve | {mb / h:.0f} | {r / h:.2f} | {c / h:.2f} |")
        # VmHWM counts the store's pages SQLite maps (file-backed, shared); RssAnon is the server's own memory.
        print(f"server peak RSS (with mapped store pages): {int(hwm) / 1024:.0f} MiB, anonymous after the runs: {int(anon) / 1024:.0f} MiB")
        print(f"cold start of hf serve to first byte: {cold * 1000:.0f} ms")


if __name__ == "__main__":
    main()
