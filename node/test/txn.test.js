'use strict'
// A transaction has every operation of a database (same names, arguments and
// results); what it opens — lazy iterators, readers, stream writers, Node
// Readable/Writable streams — reads and writes the transaction's view and fails
// with CLOSED once the transaction has ended. Writes through them are visible to
// everyone at commit and gone at rollback.

const { test, describe } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const { Readable, Writable } = require('node:stream')
const { pipeline } = require('node:stream/promises')
const { tmpDir, expectCode, expectCodeSync } = require('./helpers.js')
const buffdb = require('..')

function withDb(fn, options) {
  return async () => {
    const dir = tmpDir()
    const db = buffdb.open(path.join(dir, 't.bdb'), { chunkSize: 4096, ...options })
    try {
      await fn(db)
    } finally {
      db.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

const key = (i) => `k:${String(i).padStart(5, '0')}`
const end = (txn, how) => (how === 'commit' ? txn.commit() : txn.rollback())

/** Collects a Readable; resolves with its bytes. */
async function collect(readable) {
  const parts = []
  await pipeline(
    readable,
    new Writable({
      write(c, _e, cb) {
        parts.push(c)
        cb()
      },
    }),
  )
  return Buffer.concat(parts)
}

describe('Txn has the operations of Db', () => {
  test('every Db method but the database-only ones is a Txn method, and the reverse', () => {
    const methods = (cls) =>
      new Set(Reflect.ownKeys(cls.prototype).filter((k) => typeof k === 'string' && k !== 'constructor' && typeof Object.getOwnPropertyDescriptor(cls.prototype, k).value === 'function'))
    const db = methods(buffdb.Db)
    const txn = methods(buffdb.Txn)
    const dbOnly = ['close', 'closeAsync', 'checkpoint', 'checkpointAsync', 'stats', 'statsAsync', 'check', 'checkAsync', 'begin', 'beginAsync', 'transaction', 'transactionAsync']
    const txnOnly = ['commit', 'commitAsync', 'rollback', 'rollbackAsync']
    assert.deepEqual([...db].filter((m) => !txn.has(m)).sort(), dbOnly.slice().sort())
    assert.deepEqual([...txn].filter((m) => !db.has(m)).sort(), txnOnly.slice().sort())
    // The operations (KV, blobs, streams, search, query) are all there.
    for (const m of ['getMany', 'scan', 'keys', 'search', 'searchCount', 'blobOpen', 'blobInfo', 'blobIds', 'streamOpen', 'streamWriter', 'createReadStream', 'createBlobReadStream', 'createWriteStream', 'streamReadRange', 'streamVersions', 'streamExists', 'query', 'queryAsync']) {
      assert.ok(txn.has(m), m)
    }
  })
})

describe('lazy iterators in a transaction', () => {
  for (const how of ['commit', 'rollback']) {
    test(`read its own writes across batches, then CLOSED after ${how}`, withDb(async (db) => {
      db.put('k:old', 'committed')
      const txn = db.begin()
      const n = 2500 // more than one batch the JS layer pulls (1024)
      txn.putMany(Array.from({ length: n }, (_, i) => [key(i), `v${i}`]))
      txn.delete('k:old')
      for (let i = 0; i < 5; i++) txn.streamWrite(`/p/${i}`, 'x')
      // Whole walks see the transaction's writes and not the deleted key.
      const all = txn.scan('k:').toArray()
      assert.equal(all.length, n)
      assert.equal(all[0][0].toString(), key(0))
      assert.equal(all[n - 1][1].toString(), `v${n - 1}`)
      assert.equal((await txn.keys('k:').toArrayAsync()).length, n)
      assert.deepEqual(txn.search('/p/').toArray(), ['/p/0', '/p/1', '/p/2', '/p/3', '/p/4'])
      assert.equal(db.scan('k:').toArray().length, 1, 'the database does not see them yet')

      // Started in the transaction, finished after it: one CLOSED, then the end.
      const scan = txn.scan('k:')
      const keys = txn.keys('k:')[Symbol.asyncIterator]()
      const paths = txn.search('/p/')
      assert.equal(scan.next().value[0].toString(), key(0))
      assert.equal((await keys.next()).value.toString(), key(0))
      assert.equal(paths.next().value, '/p/0')
      end(txn, how)
      expectCodeSync(() => scan.next(), 'CLOSED')
      assert.equal(scan.next().done, true)
      await expectCode(() => keys.next(), 'CLOSED')
      assert.equal((await keys.next()).done, true)
      expectCodeSync(() => paths.next(), 'CLOSED')
      // Opened after the end: CLOSED at once.
      expectCodeSync(() => txn.scan('k:'), 'CLOSED')

      const committed = how === 'commit'
      assert.equal(db.count('k:'), committed ? n : 1)
      assert.equal(db.has('k:old'), !committed)
      assert.equal(db.searchCount('/p/'), committed ? 5 : 0)
    }))
  }
})

describe('readers in a transaction', () => {
  for (const how of ['commit', 'rollback']) {
    test(`read the transaction's streams and blobs, then CLOSED after ${how}`, withDb(async (db) => {
      db.streamWrite('/s', 'old version')
      const txn = db.begin()
      const doc = crypto.randomBytes(20_000) // several 4 KiB chunks
      const info = txn.streamWrite('/s', doc)
      assert.equal(info.version, 2)
      const id = txn.blobPut(doc.subarray(0, 9000), 'm')
      assert.equal(db.blobGet(id), undefined, 'the blob is the transaction\'s alone')

      const r = txn.streamOpen('/s')
      assert.equal(r.size, doc.length)
      assert.equal(r.info.version, 2)
      assert.deepEqual(r.read(5000), doc.subarray(0, 5000))
      const b = await txn.blobOpenAsync(id)
      assert.deepEqual(await b.readAsync(100), doc.subarray(0, 100))
      const older = txn.streamOpen('/s', { version: 1 })
      assert.equal(older.read(100).toString(), 'old version')
      assert.deepEqual(txn.streamReadRange('/s', 19_990, 100), doc.subarray(19_990))
      assert.deepEqual(txn.streamVersions('/s').map((v) => v.version), [1, 2])
      assert.equal(txn.blobInfo(id).size, 9000)
      // The database reads the committed state meanwhile.
      assert.equal(db.streamRead('/s').toString(), 'old version')

      end(txn, how)
      expectCodeSync(() => r.read(10), 'CLOSED')
      await expectCode(() => b.readAsync(10), 'CLOSED')
      expectCodeSync(() => older.seek(0), 'CLOSED')
      expectCodeSync(() => txn.streamOpen('/s'), 'CLOSED')
      await expectCode(() => txn.blobOpenAsync(id), 'CLOSED')

      if (how === 'commit') {
        assert.deepEqual(db.streamRead('/s'), doc)
        assert.deepEqual(db.blobGet(id), doc.subarray(0, 9000))
      } else {
        assert.equal(db.streamRead('/s').toString(), 'old version')
        assert.equal(db.blobGet(id), undefined)
      }
    }))
  }

  test('a Readable opened in a transaction reads its view and errors CLOSED once it has ended', withDb(async (db) => {
    const txn = db.begin()
    const doc = crypto.randomBytes(300_000)
    txn.streamWrite('/r', doc)
    const id = txn.blobPut(doc.subarray(0, 50_000))
    assert.deepEqual(await collect(txn.createReadStream('/r', { highWaterMark: 64 * 1024 })), doc)
    assert.deepEqual(await collect(txn.createReadStream('/r', { start: 10, end: 19 })), doc.subarray(10, 20))
    assert.deepEqual(await collect(txn.createBlobReadStream(id)), doc.subarray(0, 50_000))
    // One in flight when the transaction ends: it fails, it does not read the database.
    const rs = txn.createReadStream('/r', { highWaterMark: 16 * 1024 })
    await new Promise((resolve) => rs.once('readable', resolve))
    txn.rollback()
    const err = await collect(rs).then(() => null, (e) => e)
    assert.ok(err, 'the Readable must fail')
    assert.equal(err.code, 'CLOSED')
    await expectCode(() => collect(txn.createReadStream('/r')), 'CLOSED')
    assert.equal(db.streamExists('/r'), false)
  }))
})

describe('stream writers in a transaction', () => {
  for (const how of ['commit', 'rollback']) {
    test(`a StreamWriter's version is the transaction's: visible at commit, gone at rollback (${how})`, withDb(async (db) => {
      db.streamWrite('/w', 'v1')
      const txn = db.begin()
      const w = txn.streamWriter('/w')
      const doc = crypto.randomBytes(30_000)
      w.write(doc.subarray(0, 10_000))
      await w.writeAsync(doc.subarray(10_000))
      const info = await w.commitAsync()
      assert.equal(info.size, doc.length)
      assert.deepEqual(txn.streamRead('/w'), doc, 'the transaction reads its new version')
      assert.equal(db.streamRead('/w').toString(), 'v1', 'nobody else does yet')
      // A writer still open when the transaction ends cannot commit.
      const open = txn.streamWriter('/w2')
      open.write('partial')
      end(txn, how)
      expectCodeSync(() => open.write('more'), 'CLOSED')
      expectCodeSync(() => open.commit(), 'CLOSED')
      expectCodeSync(() => txn.streamWriter('/w3'), 'CLOSED')
      if (how === 'commit') {
        assert.deepEqual(db.streamRead('/w'), doc)
        assert.equal(db.streamStat('/w').version, 2)
      } else {
        assert.equal(db.streamRead('/w').toString(), 'v1')
        assert.deepEqual(db.streamVersions('/w').map((v) => v.version), [1])
      }
      assert.equal(db.streamExists('/w2'), false)
    }))

    test(`a Writable (createWriteStream, streamWriteAsync from a Readable) writes into the transaction (${how})`, withDb(async (db) => {
      const doc = crypto.randomBytes(200_000)
      const pieces = []
      for (let o = 0; o < doc.length; o += 7_000) pieces.push(doc.subarray(o, o + 7_000))
      await db.transactionAsync(async (txn) => {
        const ws = txn.createWriteStream('/ws', { highWaterMark: 16 * 1024 })
        await pipeline(Readable.from(pieces), ws)
        assert.equal(ws.info.size, doc.length)
        const info = await txn.streamWriteAsync('/from', Readable.from(pieces))
        assert.equal(info.size, doc.length)
        assert.deepEqual(await txn.streamReadAsync('/ws'), doc)
        assert.deepEqual(txn.streamRead('/from'), doc)
        assert.equal(db.streamExists('/ws'), false)
        assert.deepEqual(txn.query('SELECT path, size FROM streams ORDER BY path').rows, [['/from', doc.length], ['/ws', doc.length]])
        if (how === 'rollback') throw new Error('roll back')
      }).catch((err) => {
        if (how === 'commit' || err.message !== 'roll back') throw err
      })
      if (how === 'commit') {
        assert.deepEqual(db.streamRead('/ws'), doc)
        assert.deepEqual(db.streamRead('/from'), doc)
      } else {
        assert.equal(db.searchCount('/'), 0)
      }
    }))
  }

  test('a Writable whose transaction ends before it finishes fails CLOSED and writes nothing', withDb(async (db) => {
    const txn = db.begin()
    const ws = txn.createWriteStream('/late')
    await new Promise((resolve, reject) => ws.write(Buffer.alloc(10_000, 1), (err) => (err ? reject(err) : resolve())))
    txn.commit()
    const err = await new Promise((resolve) => {
      ws.on('error', resolve)
      ws.end(Buffer.alloc(10, 2))
    })
    assert.equal(err.code, 'CLOSED')
    assert.equal(db.streamExists('/late'), false)
    assert.equal(db.check().ok, true, 'the unfinished version left nothing damaged')
  }))
})

test('query in a transaction sees its own writes; the database does not', withDb(async (db) => {
  const txn = db.begin()
  txn.put('q1', 'a')
  txn.blobPut('xyz')
  assert.deepEqual(txn.query('SELECT key_text, value_text FROM kv').rows, [['q1', 'a']])
  assert.deepEqual((await txn.queryAsync('SELECT size FROM blobs')).rows, [[3]])
  assert.deepEqual(db.query('SELECT count(*) FROM kv').rows, [[0]])
  await expectCode(() => txn.queryAsync('DELETE FROM kv'), 'READ_ONLY')
  assert.equal(txn.get('q1').toString(), 'a', 'a refused query leaves the transaction usable')
  txn.rollback()
  await expectCode(() => txn.queryAsync('SELECT 1'), 'CLOSED')
}))
