'use strict'
// Every operation of the Node API, sync and Promise flavours.

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { tmpDir, expectCode, expectCodeSync } = require('./helpers.js')
const buffdb = require('..')

describe('module', () => {
  test('exports', () => {
    for (const name of ['open', 'openAsync', 'version', 'ErrorCodes', 'Db', 'Txn', 'Reader', 'StreamWriter']) {
      assert.ok(name in buffdb, name)
    }
    assert.match(buffdb.version(), /^\d+\.\d+\.\d+/)
    assert.equal(buffdb.ErrorCodes.NOT_FOUND, 1)
    assert.equal(buffdb.ErrorCodes.INVALID_ARGUMENT, 2)
    assert.equal(buffdb.ErrorCodes.INTERNAL, 12)
    assert.ok(Object.isFrozen(buffdb.ErrorCodes))
  })

  test('classes cannot be constructed directly', () => {
    assert.throws(() => new buffdb.Db())
  })
})

describe('open / close', () => {
  let dir
  before(() => {
    dir = tmpDir()
  })
  after(() => fs.rmSync(dir, { recursive: true, force: true }))

  test('open, options, path, close is idempotent, then CLOSED', () => {
    const file = path.join(dir, 'a.bdb')
    const db = buffdb.open(file, { chunkSize: 8192, versionsToKeep: 3, durability: 'full', compression: true, verifyChecksums: false, pageSize: 65536 })
    assert.ok(db instanceof buffdb.Db)
    assert.equal(db.path, file)
    assert.equal(db.closed, false)
    const o = db.options
    assert.equal(o.chunkSize, 8192)
    assert.equal(o.versionsToKeep, 3)
    assert.equal(o.durability, 'full')
    assert.equal(o.compression, true)
    assert.equal(o.verifyChecksums, false)
    assert.equal(o.pageSize, 65536)
    assert.equal(db.stats().pageSize, 65536)
    expectCodeSync(() => buffdb.open(path.join(dir, 'bad-page.bdb'), { pageSize: 5000 }), 'INVALID_ARGUMENT')
    db.put('k', 'v')
    db.close()
    db.close()
    assert.equal(db.closed, true)
    expectCodeSync(() => db.get('k'), 'CLOSED')
    expectCodeSync(() => db.put('k', 'v'), 'CLOSED')
    expectCodeSync(() => db.scan(), 'CLOSED')
    const again = buffdb.open(file)
    assert.equal(again.get('k').toString(), 'v')
    again.close()
  })

  test('openAsync / closeAsync', async () => {
    const db = await buffdb.openAsync(path.join(dir, 'b.bdb'))
    assert.ok(db instanceof buffdb.Db)
    await db.putAsync('a', 'b')
    await db.closeAsync()
    await expectCode(() => db.getAsync('a'), 'CLOSED')
  })

  test(':memory:', () => {
    const db = buffdb.open(':memory:')
    db.put('x', 'y')
    assert.equal(db.get('x').toString(), 'y')
    db.close()
  })

  test('read-only and create: false', () => {
    const file = path.join(dir, 'ro.bdb')
    expectCodeSync(() => buffdb.open(file, { create: false }), 'NOT_FOUND')
    buffdb.open(file).close()
    const ro = buffdb.open(file, { readOnly: true })
    expectCodeSync(() => ro.put('a', 'b'), 'READ_ONLY')
    ro.close()
  })

  test('not a database: refused and left untouched', () => {
    const file = path.join(dir, 'junk.bin')
    const junk = Buffer.alloc(8192, 0x5a)
    fs.writeFileSync(file, junk)
    expectCodeSync(() => buffdb.open(file), 'NOT_A_DATABASE')
    assert.ok(fs.readFileSync(file).equals(junk))
  })

  test('stats, check, checkpoint (sync + async)', async () => {
    const db = buffdb.open(path.join(dir, 's.bdb'))
    db.put('a', '1')
    db.blobPut('blob')
    db.streamWrite('/s', 'stream')
    const st = db.stats()
    assert.equal(st.kvCount, 1)
    assert.equal(st.blobCount, 1)
    assert.equal(st.streamCount, 1)
    assert.ok(st.fileSize >= 0)
    assert.deepEqual(await db.statsAsync(), st)
    const rep = db.check()
    assert.equal(rep.ok, true)
    assert.deepEqual(rep.damagedStreams, [])
    assert.equal((await db.checkAsync()).ok, true)
    db.checkpoint()
    await db.checkpointAsync()
    db.close()
  })
})

describe('KV', () => {
  let db
  before(() => {
    db = buffdb.open(':memory:')
  })
  after(() => db.close())

  test('get / put / delete / has accept string, Buffer, Uint8Array', () => {
    db.put('s', 'string')
    db.put(Buffer.from('b'), Buffer.from('buffer'))
    db.put(new Uint8Array([117]), new Uint8Array([1, 2, 3]))
    assert.deepEqual(db.get('s'), Buffer.from('string'))
    assert.ok(Buffer.isBuffer(db.get('b')))
    assert.deepEqual(db.get('u'), Buffer.from([1, 2, 3]))
    assert.equal(db.get('missing'), undefined)
    assert.equal(db.has('s'), true)
    assert.equal(db.has('nope'), false)
    assert.equal(db.delete('s'), true)
    assert.equal(db.delete('s'), false)
    assert.equal(db.has('s'), false)
    // a view into a bigger buffer uses only its own bytes
    const big = Buffer.from('xxKEYxx')
    db.put(big.subarray(2, 5), 'v')
    assert.equal(db.get('KEY').toString(), 'v')
  })

  test('async flavours', async () => {
    await db.putAsync('ak', 'av')
    assert.deepEqual(await db.getAsync('ak'), Buffer.from('av'))
    assert.equal(await db.getAsync('nope'), undefined)
    assert.equal(await db.hasAsync('ak'), true)
    assert.equal(await db.deleteAsync('ak'), true)
    assert.equal(await db.hasAsync('ak'), false)
    const bigValue = Buffer.alloc(200_000, 3) // pinned, not copied
    await db.putAsync('bigv', bigValue)
    assert.ok(db.get('bigv').equals(bigValue))
  })

  test('getMany / putMany (array, Map, object) / eq / notEq / count', async () => {
    db.putMany([['m:1', 'a'], ['m:2', 'b']])
    db.putMany(new Map([['m:3', 'a']]))
    db.putMany({ 'm:4': 'c' })
    await db.putManyAsync([['m:5', 'e']])
    assert.deepEqual(db.getMany(['m:1', 'zz', 'm:4']), [Buffer.from('a'), undefined, Buffer.from('c')])
    assert.deepEqual(await db.getManyAsync(['m:2']), [Buffer.from('b')])
    assert.equal(db.eq(['m:1', 'm:3']), true)
    assert.equal(db.eq(['m:1', 'm:2']), false)
    assert.equal(await db.eqAsync(['m:1', 'm:3']), true)
    assert.equal(db.notEq(['m:1', 'm:2', 'm:4']), true)
    assert.equal(await db.notEqAsync(['m:1', 'm:3']), false)
    expectCodeSync(() => db.eq(['m:1', 'missing']), 'NOT_FOUND')
    assert.equal(db.count('m:'), 5)
    assert.equal(await db.countAsync('m:'), 5)
    assert.ok(db.count() >= 5)
  })

  test('scan / keys: sync iterator, async iterator, options, early return', async () => {
    const d = buffdb.open(':memory:')
    const pairs = []
    for (let i = 0; i < 3000; i++) pairs.push([`k:${String(i).padStart(5, '0')}`, `v${i}`])
    d.putMany(pairs)
    d.put('other', 'x')
    let n = 0
    for (const [k, v] of d.scan('k:')) {
      assert.equal(k.toString(), pairs[n][0])
      assert.equal(v.toString(), pairs[n][1])
      n++
    }
    assert.equal(n, 3000)
    n = 0
    for await (const [k] of d.scan('k:')) {
      assert.equal(k.toString(), pairs[n][0])
      n++
    }
    assert.equal(n, 3000)
    const some = d.scan('k:', { startAfter: 'k:00010', limit: 3 }).toArray()
    assert.deepEqual(some.map(([k]) => k.toString()), ['k:00011', 'k:00012', 'k:00013'])
    const keys = d.keys('k:', { limit: 2 }).toArray()
    assert.deepEqual(keys.map(String), ['k:00000', 'k:00001'])
    assert.equal((await d.keys('k:').toArrayAsync()).length, 3000)
    const all = [...d.keys()]
    assert.equal(all.length, 3001)
    // stop early
    let seen = 0
    for (const _ of d.scan('k:')) {
      if (++seen === 5) break
    }
    assert.equal(seen, 5)
    for await (const _ of d.keys('k:')) {
      if (++seen === 10) break
    }
    const it = d.scan('k:')
    assert.equal(typeof it.next, 'function')
    assert.equal(it.next().done, false)
    assert.deepEqual(it.return(), { done: true, value: undefined })
    assert.equal(it.next().done, true)
    d.close()
  })
})

describe('blobs', () => {
  let db
  before(() => {
    db = buffdb.open(':memory:', { chunkSize: 4096 })
  })
  after(() => db.close())

  test('put / get / metadata / info / update / delete / eq / ids', async () => {
    const a = db.blobPut('hello', 'greeting')
    const b = await db.blobPutAsync(Buffer.alloc(100_000, 9))
    assert.equal(typeof a, 'number')
    assert.ok(b > a)
    assert.equal(db.blobGet(a).toString(), 'hello')
    assert.ok((await db.blobGetAsync(b)).equals(Buffer.alloc(100_000, 9)))
    assert.equal(db.blobGet(9999), undefined)
    assert.equal(db.blobMetadata(a), 'greeting')
    assert.equal(db.blobMetadata(b), null)
    assert.equal(await db.blobMetadataAsync(a), 'greeting')
    expectCodeSync(() => db.blobMetadata(9999), 'NOT_FOUND')
    const info = db.blobInfo(b)
    assert.equal(info.id, b)
    assert.equal(info.size, 100_000)
    assert.equal(info.metadata, null)
    assert.equal(info.chunkCount, 25)
    assert.equal(db.blobInfo(9999), undefined)
    assert.equal((await db.blobInfoAsync(a)).metadata, 'greeting')
    db.blobUpdate(a, { data: 'hello again' })
    assert.equal(db.blobGet(a).toString(), 'hello again')
    assert.equal(db.blobMetadata(a), 'greeting')
    await db.blobUpdateAsync(a, { metadata: 'renamed' })
    assert.equal(db.blobMetadata(a), 'renamed')
    db.blobUpdate(a, { metadata: null })
    assert.equal(db.blobMetadata(a), null)
    expectCodeSync(() => db.blobUpdate(9999, { data: 'x' }), 'NOT_FOUND')
    const c = db.blobPut('hello again')
    assert.equal(db.blobEq([a, c]), true)
    assert.equal(await db.blobEqAsync([a, b]), false)
    assert.equal(db.blobNotEq([a, b]), true)
    assert.equal(await db.blobNotEqAsync([a, b, c]), false)
    assert.deepEqual(db.blobIds(), [a, b, c])
    assert.deepEqual(await db.blobIdsAsync({ startAfter: a, limit: 1 }), [b])
    assert.equal(db.blobDelete(c), true)
    assert.equal(await db.blobDeleteAsync(c), false)
    const d = db.blobPut('x')
    assert.ok(d > c, 'ids are never reused')
  })

  test('blobOpen reader and createBlobReadStream', async () => {
    const data = Buffer.alloc(50_000)
    for (let i = 0; i < data.length; i++) data[i] = i % 251
    const id = db.blobPut(data)
    const r = db.blobOpen(id)
    assert.equal(r.size, data.length)
    assert.equal(r.info, null)
    assert.ok(r.read(10).equals(data.subarray(0, 10)))
    r.close()
    const r2 = await db.blobOpenAsync(id)
    assert.ok((await r2.readAsync(100_000)).equals(data))
    r2.close()
    const chunks = []
    for await (const c of db.createBlobReadStream(id, { start: 1000, end: 1999 })) chunks.push(c)
    assert.ok(Buffer.concat(chunks).equals(data.subarray(1000, 2000)))
    expectCodeSync(() => db.blobOpen(123456), 'NOT_FOUND')
  })
})

describe('path streams', () => {
  let db
  before(() => {
    db = buffdb.open(':memory:', { chunkSize: 4096, versionsToKeep: 2 })
  })
  after(() => db.close())

  const data = Buffer.alloc(10_000)
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 256

  test('write / read / range / stat / versions / exists / delete', async () => {
    const info = db.streamWrite('/docs/a', 'first')
    assert.equal(info.version, 1)
    assert.equal(info.size, 5)
    assert.equal(info.path, '/docs/a')
    assert.equal(typeof info.crc32, 'number')
    const i2 = await db.streamWriteAsync('/docs/a', data)
    assert.equal(i2.version, 2)
    assert.equal(i2.chunkCount, 3)
    assert.ok(db.streamRead('/docs/a').equals(data))
    assert.ok((await db.streamReadAsync('/docs/a')).equals(data))
    assert.ok(db.streamReadRange('/docs/a', 4094, 4).equals(data.subarray(4094, 4098)))
    assert.ok((await db.streamReadRangeAsync('/docs/a', 9998, 100)).equals(data.subarray(9998)))
    assert.equal(db.streamReadRange('/docs/a', 20000, 10).length, 0)
    const st = db.streamStat('/docs/a')
    assert.equal(st.version, 2)
    assert.equal(st.size, 10_000)
    assert.equal((await db.streamStatAsync('/docs/a')).size, 10_000)
    assert.deepEqual(db.streamVersions('/docs/a').map((v) => v.version), [1, 2])
    assert.deepEqual((await db.streamVersionsAsync('/docs/a')).map((v) => v.version), [1, 2])
    assert.equal(db.streamExists('/docs/a'), true)
    assert.equal(await db.streamExistsAsync('/nope'), false)
    db.streamWrite('/docs/a', 'third', { compression: true })
    assert.deepEqual(db.streamVersions('/docs/a').map((v) => v.version), [2, 3])
    assert.equal(db.streamDelete('/docs/a'), true)
    assert.equal(await db.streamDeleteAsync('/docs/a'), false)
    expectCodeSync(() => db.streamRead('/docs/a'), 'NOT_FOUND')
  })

  test('reader: read, readInto, readAt, seek, tell, chunks, versions', async () => {
    db.streamWrite('/r', 'old')
    db.streamWrite('/r', data)
    const r = db.streamOpen('/r')
    assert.equal(r.size, data.length)
    assert.equal(r.info.version, 2)
    assert.equal(r.tell(), 0)
    assert.ok(r.read(5).equals(data.subarray(0, 5)))
    assert.equal(r.tell(), 5)
    const buf = Buffer.alloc(100)
    assert.equal(r.readInto(buf), 100)
    assert.ok(buf.equals(data.subarray(5, 105)))
    assert.equal(r.seek(9990), 9990)
    assert.equal(await r.readIntoAsync(buf), 10)
    assert.equal(r.readAt(100, buf), 100)
    assert.ok(buf.equals(data.subarray(100, 200)))
    assert.equal(await r.readAtAsync(200, buf), 100)
    assert.ok(buf.equals(data.subarray(200, 300)))
    r.seek(0)
    const chunks = [...r]
    assert.equal(chunks.length, 3)
    assert.ok(Buffer.concat(chunks).equals(data))
    r.seek(4096)
    const rest = []
    for await (const c of r) rest.push(c)
    assert.ok(Buffer.concat(rest).equals(data.subarray(4096)))
    r.seek(0)
    assert.ok((await r.nextChunkAsync()).equals(data.subarray(0, 4096)))
    r.seek(data.length + 10)
    assert.equal(r.read(10).length, 0)
    assert.equal(r.nextChunk(), null)
    r.close()
    r.close()
    expectCodeSync(() => r.read(1), 'CLOSED')
    const old = await db.streamOpenAsync('/r', { version: 1 })
    assert.equal(old.read(100).toString(), 'old')
    old.close()
  })

  test('streamWriter: write, written, commit; abort leaves the old version', async () => {
    const w = db.streamWriter('/w')
    w.write('hello ')
    await w.writeAsync(Buffer.from('world'))
    assert.equal(w.written, 11)
    assert.equal(db.streamExists('/w'), false, 'nothing visible before commit')
    const info = w.commit()
    assert.equal(info.size, 11)
    assert.equal(w.active, false)
    expectCodeSync(() => w.write('x'), 'CLOSED')
    const w2 = await db.streamWriterAsync('/w', { compression: true })
    w2.write('discard me')
    w2.abort()
    w2.abort()
    assert.equal(db.streamRead('/w').toString(), 'hello world')
    const w3 = db.streamWriter('/w')
    await w3.writeAsync('v2')
    assert.equal((await w3.commitAsync()).version, 2)
    const w4 = db.streamWriter('/w')
    await w4.abortAsync()
  })

  test('streamWriteAsync from a Readable / async iterable', async () => {
    const { Readable } = require('node:stream')
    const info = await db.streamWriteAsync('/from-readable', Readable.from([Buffer.from('ab'), Buffer.from('cd')]))
    assert.equal(info.size, 4)
    async function* gen() {
      yield Buffer.from('x')
      yield 'yz'
    }
    const i2 = await db.streamWriteAsync('/from-gen', gen())
    assert.equal(i2.size, 3)
    assert.equal(db.streamRead('/from-gen').toString(), 'xyz')
  })

  test('search: iterator, async iterator, count', async () => {
    for (const p of ['/t/b', '/t/a', '/t/sub/c', '/a/t', '/tx']) db.streamWrite(p, 'x')
    assert.deepEqual([...db.search('/t/')], ['/t/a', '/t/b', '/t/sub/c'])
    const got = []
    for await (const p of db.search('/t', { startAfter: '/t/a', limit: 2 })) got.push(p)
    assert.deepEqual(got, ['/t/b', '/t/sub/c'])
    assert.equal(db.searchCount('/t/'), 3)
    assert.equal(await db.searchCountAsync('/t'), 4)
  })
})

describe('transactions', () => {
  let db
  before(() => {
    db = buffdb.open(':memory:')
  })
  after(() => db.close())

  test('transaction(fn) commits on return, rolls back on throw', () => {
    const r = db.transaction((txn) => {
      assert.ok(txn instanceof buffdb.Txn)
      txn.put('a', '1')
      txn.putMany([['b', '2'], ['c', '3']])
      assert.equal(txn.get('a').toString(), '1')
      assert.equal(txn.has('b'), true)
      assert.equal(txn.count(''), 3)
      assert.deepEqual(txn.scan('', { limit: 2 }).toArray().map(([k]) => k.toString()), ['a', 'b'])
      const id = txn.blobPut('blob', 'meta')
      assert.equal(txn.blobGet(id).toString(), 'blob')
      assert.equal(txn.blobMetadata(id), 'meta')
      txn.blobUpdate(id, { metadata: 'm2' })
      txn.streamWrite('/t', 'doc')
      assert.equal(txn.streamRead('/t').toString(), 'doc')
      assert.equal(txn.streamStat('/t').size, 3)
      return 42
    })
    assert.equal(r, 42)
    assert.equal(db.get('a').toString(), '1')
    assert.equal(db.streamRead('/t').toString(), 'doc')
    assert.throws(
      () =>
        db.transaction((txn) => {
          txn.put('a', 'changed')
          txn.delete('b')
          txn.streamDelete('/t')
          throw new Error('boom')
        }),
      /boom/,
    )
    assert.equal(db.get('a').toString(), '1')
    assert.equal(db.has('b'), true)
    assert.equal(db.streamExists('/t'), true)
  })

  test('transaction(async fn) commits when the promise resolves', async () => {
    const v = await db.transaction(async (txn) => {
      await txn.putAsync('p', '1')
      return 'done'
    })
    assert.equal(v, 'done')
    assert.equal(db.get('p').toString(), '1')
    await assert.rejects(
      db.transaction(async (txn) => {
        await txn.putAsync('p', '2')
        throw new Error('nope')
      }),
      /nope/,
    )
    assert.equal(db.get('p').toString(), '1')
  })

  test('transactionAsync and every Txn Promise method', async () => {
    const out = await db.transactionAsync(async (txn) => {
      await txn.putAsync('x', '1')
      await txn.putManyAsync([['y', '2']])
      assert.equal((await txn.getAsync('x')).toString(), '1')
      assert.equal(await txn.hasAsync('y'), true)
      assert.equal(await txn.deleteAsync('y'), true)
      assert.ok((await txn.countAsync('')) >= 1)
      assert.ok((await txn.scan('x').toArrayAsync()).length === 1)
      const id = await txn.blobPutAsync('b')
      assert.equal((await txn.blobGetAsync(id)).toString(), 'b')
      assert.equal(await txn.blobMetadataAsync(id), null)
      await txn.blobUpdateAsync(id, { data: 'c' })
      assert.equal(await txn.blobDeleteAsync(id), true)
      await txn.streamWriteAsync('/ta', 'z')
      assert.equal((await txn.streamReadAsync('/ta')).toString(), 'z')
      assert.equal((await txn.streamStatAsync('/ta')).size, 1)
      assert.equal(await txn.streamDeleteAsync('/ta'), true)
      return 'ok'
    })
    assert.equal(out, 'ok')
    assert.equal(db.get('x').toString(), '1')
    await assert.rejects(
      db.transactionAsync(async (txn) => {
        await txn.putAsync('x', '2')
        throw new Error('rollback')
      }),
      /rollback/,
    )
    assert.equal(db.get('x').toString(), '1')
  })

  test('explicit begin / commit / rollback; finished txn is CLOSED', async () => {
    const t = db.begin()
    assert.equal(t.active, true)
    t.put('e', '1')
    t.commit()
    assert.equal(t.active, false)
    expectCodeSync(() => t.put('e', '2'), 'CLOSED')
    expectCodeSync(() => t.commit(), 'CLOSED')
    assert.equal(db.get('e').toString(), '1')
    const t2 = await db.beginAsync()
    t2.put('e', '2')
    await t2.rollbackAsync()
    assert.equal(db.get('e').toString(), '1')
    const t3 = db.begin()
    t3.put('e', '3')
    await t3.commitAsync()
    assert.equal(db.get('e').toString(), '3')
    const t4 = db.begin()
    t4.rollback()
  })

  test('a writer outside the open transaction gets BUSY, not a deadlock', () => {
    const file = path.join(tmpDir(), 'busy.bdb')
    const d = buffdb.open(file, { busyTimeoutMs: 50 })
    const t = d.begin()
    expectCodeSync(() => d.put('k', 'v'), 'BUSY')
    t.rollback()
    d.put('k', 'v')
    d.close()
  })
})

describe('query', () => {
  test('rows, params, bigint, blobs, READ_ONLY', async () => {
    const db = buffdb.open(':memory:')
    db.put('cfg:a', '{"level": 3}')
    const q = db.query("SELECT key_text, json_extract(value_text, '$.level') AS level FROM kv WHERE key_text LIKE ?", ['cfg:%'])
    assert.deepEqual(q.columns, ['key_text', 'level'])
    assert.deepEqual(q.rows, [['cfg:a', 3]])
    const p = await db.queryAsync('SELECT ?, ?, ?, ?, ?, ?', [null, 1.5, 2n ** 60n, 'text', Buffer.from([1, 2]), true])
    assert.deepEqual(p.rows, [[null, 1.5, 2n ** 60n, 'text', Buffer.from([1, 2]), 1]])
    expectCodeSync(() => db.query('DELETE FROM bdb_kv'), 'READ_ONLY')
    await expectCode(() => db.queryAsync('SELEKT'), 'INVALID_ARGUMENT')
    db.close()
  })
})

if (typeof Symbol.dispose === 'symbol') {
  test('Symbol.dispose closes', () => {
    const db = buffdb.open(':memory:')
    db[Symbol.dispose]()
    assert.equal(db.closed, true)
  })
}
