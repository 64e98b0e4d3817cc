"""Encrypted BuffDB files against SQLCipher's own tools (sqlcipher3 from PyPI), and the
command line's key handling: run by scripts/test-sqlcipher.sh with BUFFDB_BIN set to a
`buffdb` built with the `encryption` feature."""

import os
import socket
import subprocess
import tempfile
import time
import unittest

import sqlcipher3

BIN = os.environ["BUFFDB_BIN"]
APPLICATION_ID = 0x42554644  # "BUFD"


def buffdb(*args, store=None, key_file=None, stdin=None, check=True, env=None):
    cmd = [BIN]
    if store:
        cmd += ["--store", store]
    if key_file:
        cmd += ["--key-file", key_file]
    out = subprocess.run(cmd + list(args), input=stdin, capture_output=True, env=env, timeout=120)
    if check and out.returncode != 0:
        raise AssertionError(f"{args}: exit {out.returncode}: {out.stderr.decode()}")
    return out


def read(path):
    with open(path, "rb") as f:
        return f.read()


def files(path):
    """The bytes of a database's main file and WAL (the -lock file holds only liveness tokens)."""
    return {s: read(path + s) for s in ("", "-wal") if os.path.exists(path + s)}


class Sqlcipher3(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def key_file(self, name, text):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(text + "\n")
        os.chmod(p, 0o600)
        return p

    def test_sqlcipher3_has_sqlcipher_4_defaults(self):
        c = sqlcipher3.connect(":memory:")
        version = c.execute("PRAGMA cipher_version").fetchone()[0]
        self.assertTrue(version.startswith("4."), version)
        c.execute("PRAGMA key = 'x'")
        pragmas = {p: c.execute(f"PRAGMA {p}").fetchone()[0] for p in
                   ("kdf_iter", "cipher_page_size", "cipher_hmac_algorithm", "cipher_kdf_algorithm")}
        self.assertEqual(pragmas, {"kdf_iter": "256000", "cipher_page_size": "4096",
                                   "cipher_hmac_algorithm": "HMAC_SHA512",
                                   "cipher_kdf_algorithm": "PBKDF2_HMAC_SHA512"})

    def test_a_buffdb_file_opens_in_sqlcipher_with_its_key(self):
        db, key = self.path("enc.db"), self.key_file("k", "correct horse battery")
        buffdb("kv", "set", "greeting", "hello from buffdb", store=db, key_file=key)
        buffdb("kv", "set", "second", "value two", store=db, key_file=key)
        buffdb("stream", "put", "/doc", "-", store=db, key_file=key, stdin=b"stream bytes " * 1000)
        self.assertFalse(read(db)[:16].startswith(b"SQLite format 3"))
        c = sqlcipher3.connect(db)
        c.execute("PRAGMA key = 'correct horse battery'")
        c.execute("PRAGMA cipher_page_size = 16384")  # BuffDB's default page size
        rows = c.execute("SELECT key_text, value_text FROM kv ORDER BY key").fetchall()
        self.assertEqual(rows, [("greeting", "hello from buffdb"), ("second", "value two")])
        self.assertEqual(c.execute("PRAGMA application_id").fetchone()[0], APPLICATION_ID)
        self.assertEqual(c.execute("SELECT path, size FROM streams").fetchall(), [("/doc", 13000)])
        self.assertEqual(c.execute("PRAGMA cipher_integrity_check").fetchall(), [])
        c.close()
        # The wrong key does not read it.
        c = sqlcipher3.connect(db)
        c.execute("PRAGMA key = 'wrong'")
        c.execute("PRAGMA cipher_page_size = 16384")
        with self.assertRaises(sqlcipher3.DatabaseError):
            c.execute("SELECT count(*) FROM kv").fetchone()
        c.close()

    def test_a_raw_key_file_is_sqlciphers_raw_key(self):
        db, raw = self.path("raw.db"), "ab" * 32
        key = self.key_file("raw", f"x'{raw}'")
        buffdb("kv", "set", "k", "v", store=db, key_file=key)
        c = sqlcipher3.connect(db)
        c.execute(f"PRAGMA key = \"x'{raw}'\"")
        c.execute("PRAGMA cipher_page_size = 16384")
        self.assertEqual(c.execute("SELECT value_text FROM kv").fetchall(), [("v",)])
        c.close()

    def test_a_file_sqlcipher_encrypted_opens_in_buffdb(self):
        plain, enc = self.path("plain.db"), self.path("by-sqlcipher.db")
        buffdb("kv", "set", "a", "alpha", store=plain)
        buffdb("blob", "store", "-", "blob metadata", store=plain, stdin=b"blob bytes" * 500)
        buffdb("stream", "put", "/s", "-", "--metadata", '{"v":1}', store=plain, stdin=b"0123456789" * 10000)
        c = sqlcipher3.connect(plain)  # a plaintext file: no key
        app_id = c.execute("PRAGMA application_id").fetchone()[0]
        version = c.execute("PRAGMA user_version").fetchone()[0]
        c.execute("ATTACH DATABASE ? AS enc KEY 'sqlcipher made this'", (enc,))  # default 4096-byte pages
        c.execute("SELECT sqlcipher_export('enc')").fetchall()
        # sqlcipher_export leaves these header fields out; BuffDB knows its files by them.
        c.execute(f"PRAGMA enc.application_id = {app_id}")
        c.execute(f"PRAGMA enc.user_version = {version}")
        c.execute("DETACH DATABASE enc")
        c.close()
        key = self.key_file("k2", "sqlcipher made this")
        self.assertEqual(buffdb("kv", "get", "a", store=enc, key_file=key).stdout, b"alpha\n")
        self.assertEqual(buffdb("blob", "get", "1", store=enc, key_file=key).stdout, b"blob bytes" * 500)
        self.assertEqual(buffdb("stream", "get", "/s", store=enc, key_file=key).stdout, b"0123456789" * 10000)
        self.assertIn(b"page size: 4096", buffdb("stats", store=enc, key_file=key).stdout)
        self.assertIn(b"\nok\n", buffdb("check", store=enc, key_file=key).stdout)
        buffdb("kv", "set", "b", "written by buffdb", store=enc, key_file=key)
        c = sqlcipher3.connect(enc)
        c.execute("PRAGMA key = 'sqlcipher made this'")
        self.assertEqual(c.execute("SELECT value_text FROM kv WHERE key_text = 'b'").fetchall(), [("written by buffdb",)])
        c.close()

    def test_cli_rekey_encrypt_decrypt_each_check_their_result(self):
        plain, enc, back = self.path("p.db"), self.path("e.db"), self.path("b.db")
        k1, k2 = self.key_file("k1", "first key"), self.key_file("k2", "second key")
        buffdb("kv", "set", "a", "1", store=plain)
        out = buffdb("encrypt", plain, enc, key_file=k1).stdout
        self.assertIn(b"\nok\n", out)
        self.assertEqual(buffdb("kv", "get", "a", store=enc, key_file=k1).stdout, b"1\n")
        out = buffdb("rekey", "--new-key-file", k2, store=enc, key_file=k1).stdout
        self.assertIn(b"\nok\n", out)
        bad = buffdb("kv", "get", "a", store=enc, key_file=k1, check=False)
        self.assertEqual(bad.returncode, 3)
        self.assertIn(b"wrong encryption key", bad.stderr)
        self.assertIn(b"\nok\n", buffdb("decrypt", enc, back, key_file=k2).stdout)
        self.assertEqual(buffdb("kv", "get", "a", store=back).stdout, b"1\n")
        # The key from the environment.
        env = dict(os.environ, BUFFDB_KEY_FILE=k2)
        self.assertEqual(buffdb("kv", "get", "a", store=enc, env=env).stdout, b"1\n")

    def test_cli_key_errors_are_clear_and_change_nothing(self):
        enc, plain = self.path("e.db"), self.path("p.db")
        key, wrong = self.key_file("k", "right"), self.key_file("w", "wrong")
        empty = self.path("empty")
        open(empty, "w").close()
        buffdb("kv", "set", "a", "1", store=enc, key_file=key)
        buffdb("kv", "set", "a", "1", store=plain)
        before = files(enc), files(plain)
        cases = [
            (enc, wrong, b"wrong encryption key"),
            (enc, None, b"give its encryption key"),
            (enc, empty, b"empty"),
            (plain, key, b"not encrypted"),
            (enc, self.path("missing-key-file"), b"cannot read the key file"),
        ]
        for store, key_file, message in cases:
            out = buffdb("kv", "get", "a", store=store, key_file=key_file, check=False)
            self.assertNotEqual(out.returncode, 0)
            self.assertIn(message, out.stderr, (store, key_file))
            self.assertNotIn(b"right", out.stderr)
        self.assertEqual((files(enc), files(plain)), before)

    def test_the_server_serves_an_encrypted_store(self):
        enc, key = self.path("served.db"), self.key_file("k", "server key")
        buffdb("kv", "set", "served", "yes", store=enc, key_file=key)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        addr = f"127.0.0.1:{port}"
        server = subprocess.Popen([BIN, "--store", enc, "--key-file", key, "run", addr],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 60
            while True:
                out = buffdb("--remote", addr, "kv", "get", "served", check=False)
                if out.returncode == 0 or time.time() > deadline or server.poll() is not None:
                    break
                time.sleep(0.2)
            self.assertEqual(out.stdout, b"yes\n", out.stderr)
        finally:
            server.kill()
            server.wait()
        # Without the key the server does not start.
        out = subprocess.run([BIN, "--store", enc, "run", addr], capture_output=True, timeout=60)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(b"encryption key", out.stderr)


if __name__ == "__main__":
    unittest.main()
