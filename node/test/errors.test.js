'use strict'
// Every bad input gets an Error with a stable `.code` — from sync methods
// (thrown) and Promise methods (rejected, never thrown synchronously).

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { tmpDir, expectCode, expectCodeSync } = require('./helpers.js')
const buffdb = require('..')

const NOT_BYTES = [undefined, null, 42, true, {}, [], Symbol('s'), () => 1, 10n]
const NOT_STRING = [undefined, null, 42, Buffer.from('/p'), {}, []]
const NOT_ID = [undefined, null, -1, 1.5, NaN, Infinity, '1', {}, -1n, 2 ** 53]

describe('error codes', () => {
  let db
  before(() => {
    db = buffdb.open(':memory:', { chunkSize: 4096, maxDocumentSize: 1 << 20 })
    db.put('k', 'v')
    db.blobPut('b')
    db.streamWrite('/s', 'stream')
  })
  after(() => db.close())

  test('errors are Errors with .code and a message', () => {
    const err = expectCodeSync(() => db.get(''), 'INVALID_ARGUMENT')
    assert.ok(err instanceof Error)
    assert.match(err.message, /INVALID_ARGUMENT/)
    assert.ok(err.stack)
  })

  test('bad keys and values', async () => {
    for (const bad of NOT_BYTES) {
      expectCodeSync(() => db.get(bad), 'INVALID_ARGUMENT')
      expectCodeSync(() => db.put(bad, 'v'), 'INVALID_ARGUMENT')
      expectCodeSync(() => db.put('k', bad), 'INVALID_ARGUMENT')
      expectCodeSync(() => db.delete(bad), 'INVALID_ARGUMENT')
      expectCodeSync(() => db.has(bad), 'INVALID_ARGUMENT')
      await expectCode(() => db.getAsync(bad), 'INVALID_ARGUMENT')
      await expectCode(() => db.putAsync('k', bad), 'INVALID_ARGUMENT')
    }
    expectCodeSync(() => db.put('', 'v'), 'INVALID_ARGUMENT')
    // strings that are not well-formed Unicode are refused, not turned into U+FFFD
    expectCodeSync(() => db.put('\ud800', 'v'), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.put('k', 'x\udc00'), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.get('a\ud800b'), 'INVALID_ARGUMENT')
    db.put('\ud83d\ude00', 'emoji') // a proper surrogate pair is fine
    assert.equal(db.get(Buffer.from('😀')).toString(), 'emoji')
    expectCodeSync(() => db.put(Buffer.alloc(0), 'v'), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.put('x'.repeat(4097), 'v'), 'TOO_LARGE')
    expectCodeSync(() => db.get('x'.repeat(4097)), 'TOO_LARGE')
    expectCodeSync(() => db.put('k', Buffer.alloc((64 << 20) + 1)), 'TOO_LARGE')
    await expectCode(() => db.putAsync('', 'v'), 'INVALID_ARGUMENT')
    await expectCode(() => db.putAsync('k', Buffer.alloc((64 << 20) + 1)), 'TOO_LARGE')
    // nothing changed
    assert.equal(db.get('k').toString(), 'v')
  })

  test('bad lists and pairs', async () => {
    for (const bad of [undefined, null, 'ab', 42, {}]) {
      expectCodeSync(() => db.getMany(bad), 'INVALID_ARGUMENT')
      expectCodeSync(() => db.eq(bad), 'INVALID_ARGUMENT')
      expectCodeSync(() => db.notEq(bad), 'INVALID_ARGUMENT')
      expectCodeSync(() => db.blobEq(bad), 'INVALID_ARGUMENT')
      await expectCode(() => db.getManyAsync(bad), 'INVALID_ARGUMENT')
    }
    for (const bad of [undefined, null, 42, [['a']], [['a', 'b', 'c']], ['ab'], [[1, 'x']], [['k', null]]]) {
      expectCodeSync(() => db.putMany(bad), 'INVALID_ARGUMENT')
      await expectCode(() => db.putManyAsync(bad), 'INVALID_ARGUMENT')
    }
    expectCodeSync(() => db.putMany([['ok', '1'], ['', '2']]), 'INVALID_ARGUMENT')
    assert.equal(db.has('ok'), false, 'put_many is atomic')
    expectCodeSync(() => db.getMany(['k', 5]), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.eq(['k', 'missing']), 'NOT_FOUND')
    expectCodeSync(() => db.notEq(['missing']), 'NOT_FOUND')
  })

  test('bad scan / keys / search / count arguments', () => {
    expectCodeSync(() => db.scan(42), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.keys({}), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.scan('', { limit: -1 }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.scan('', { limit: 'ten' }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.scan('', { startAfter: 5 }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.scan('', { nope: 1 }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.scan('', 'options'), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.search(Buffer.from('/')), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.search('/', { startAfter: 1 }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.count(7), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.searchCount(7), 'INVALID_ARGUMENT')
  })

  test('bad blob ids and metadata', async () => {
    for (const bad of NOT_ID) {
      expectCodeSync(() => db.blobGet(bad), 'INVALID_ARGUMENT')
      expectCodeSync(() => db.blobDelete(bad), 'INVALID_ARGUMENT')
      expectCodeSync(() => db.blobMetadata(bad), 'INVALID_ARGUMENT')
      expectCodeSync(() => db.blobOpen(bad), 'INVALID_ARGUMENT')
      expectCodeSync(() => db.blobEq([1, bad]), 'INVALID_ARGUMENT')
      await expectCode(() => db.blobGetAsync(bad), 'INVALID_ARGUMENT')
    }
    expectCodeSync(() => db.blobPut('x', 42), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.blobPut(42), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.blobPut('x', 'm'.repeat((1 << 20) + 1)), 'TOO_LARGE')
    expectCodeSync(() => db.blobUpdate(1, { nope: 1 }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.blobUpdate(1, 'data'), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.blobUpdate(1, { metadata: 5 }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.blobUpdate(999, { data: 'x' }), 'NOT_FOUND')
    expectCodeSync(() => db.blobMetadata(999), 'NOT_FOUND')
    expectCodeSync(() => db.blobOpen(999), 'NOT_FOUND')
    expectCodeSync(() => db.blobEq([1, 999]), 'NOT_FOUND')
    await expectCode(() => db.blobUpdateAsync(999, { data: 'x' }), 'NOT_FOUND')
    expectCodeSync(() => db.blobPut(Buffer.alloc((1 << 20) + 1)), 'TOO_LARGE')
    expectCodeSync(() => db.blobIds({ limit: -2 }), 'INVALID_ARGUMENT')
  })

  test('bad paths, offsets, versions, stream options', async () => {
    for (const bad of NOT_STRING) {
      expectCodeSync(() => db.streamRead(bad), 'INVALID_ARGUMENT')
      expectCodeSync(() => db.streamWrite(bad, 'x'), 'INVALID_ARGUMENT')
      expectCodeSync(() => db.streamStat(bad), 'INVALID_ARGUMENT')
      expectCodeSync(() => db.streamOpen(bad), 'INVALID_ARGUMENT')
      await expectCode(() => db.streamReadAsync(bad), 'INVALID_ARGUMENT')
    }
    expectCodeSync(() => db.streamWrite('', 'x'), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.streamWrite('/a\u0000b', 'x'), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.streamWrite('/a\udc00', 'x'), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.search('/\ud800'), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.blobPut('x', 'meta\ud800'), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.streamWrite('/p'.repeat(2049), 'x'), 'TOO_LARGE')
    expectCodeSync(() => db.streamWrite('/big', Buffer.alloc((1 << 20) + 1)), 'TOO_LARGE')
    assert.equal(db.streamExists('/big'), false)
    expectCodeSync(() => db.streamWrite('/s', 42), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.streamWrite('/s', 'x', { compression: 'yes' }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.streamWrite('/s', 'x', { nope: true }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.streamReadRange('/s', -1, 1), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.streamReadRange('/s', 0, 1.5), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.streamReadRange('/s', 'a', 1), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.streamReadRange('/missing', 0, 1), 'NOT_FOUND')
    expectCodeSync(() => db.streamOpen('/s', { version: -1 }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.streamOpen('/s', { version: 99 }), 'NOT_FOUND')
    expectCodeSync(() => db.streamOpen('/missing'), 'NOT_FOUND')
    expectCodeSync(() => db.streamStat('/missing'), 'NOT_FOUND')
    expectCodeSync(() => db.createReadStream('/s', { start: -1 }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.createReadStream('/s', { start: 5, end: 2 }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.createReadStream('/s', { bogus: 1 }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.createWriteStream('/s', 'opts'), 'INVALID_ARGUMENT')
    const r = db.streamOpen('/s')
    expectCodeSync(() => r.seek(-5), 'INVALID_ARGUMENT')
    expectCodeSync(() => r.read('x'), 'INVALID_ARGUMENT')
    expectCodeSync(() => r.readInto('not a buffer'), 'INVALID_ARGUMENT')
    expectCodeSync(() => r.readAt(0, null), 'INVALID_ARGUMENT')
    await expectCode(() => r.readIntoAsync(42), 'INVALID_ARGUMENT')
    r.close()
    const w = db.streamWriter('/w')
    expectCodeSync(() => w.write(42), 'INVALID_ARGUMENT')
    await expectCode(() => w.writeAsync(null), 'INVALID_ARGUMENT')
    w.abort()
  })

  test('a stream that fails mid-pipeline is NOT_FOUND / TOO_LARGE through events', async () => {
    const { pipeline } = require('node:stream/promises')
    const { Writable, Readable } = require('node:stream')
    await expectCode(
      () => pipeline(db.createReadStream('/missing'), new Writable({ write: (_c, _e, cb) => cb() })),
      'NOT_FOUND',
    )
    await expectCode(() => pipeline(Readable.from([Buffer.alloc((1 << 20) + 10)]), db.createWriteStream('/too-big')), 'TOO_LARGE')
    assert.equal(db.streamExists('/too-big'), false)
  })

  test('bad options to open', async () => {
    const dir = tmpDir()
    const f = path.join(dir, 'x.bdb')
    for (const bad of [
      { chunkSize: 100 },
      { chunkSize: 1 << 30 },
      { chunkSize: -1 },
      { versionsToKeep: 0 },
      { durability: 'sometimes' },
      { durability: 1 },
      { readOnly: 'yes' },
      { unknownOption: true },
      'options',
    ]) {
      expectCodeSync(() => buffdb.open(f, bad), 'INVALID_ARGUMENT')
      await expectCode(() => buffdb.openAsync(f, bad), 'INVALID_ARGUMENT')
    }
    for (const bad of [undefined, null, 42, Buffer.from('x.bdb')]) {
      expectCodeSync(() => buffdb.open(bad), 'INVALID_ARGUMENT')
    }
    expectCodeSync(() => buffdb.open(path.join(dir, 'no', 'such', 'dir', 'x.bdb')), 'IO')
  })

  test('bad query input', async () => {
    expectCodeSync(() => db.query(42), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.query('SELECT ?', 'not an array'), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.query('SELECT ?', [{}]), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.query('SELECT ?', [2n ** 70n]), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.query('DROP TABLE bdb_kv'), 'READ_ONLY')
    expectCodeSync(() => db.query('SELEKT'), 'INVALID_ARGUMENT')
    await expectCode(() => db.queryAsync('UPDATE bdb_kv SET value = 1'), 'READ_ONLY')
  })

  test('transaction misuse', async () => {
    expectCodeSync(() => db.transaction('not a function'), 'INVALID_ARGUMENT')
    await expectCode(() => db.transactionAsync(null), 'INVALID_ARGUMENT')
    const t = db.begin()
    expectCodeSync(() => t.put(1, 2), 'INVALID_ARGUMENT')
    t.rollback()
    expectCodeSync(() => t.rollback(), 'CLOSED')
    await expectCode(() => t.getAsync('k'), 'CLOSED')
  })

  test('closed database: every family of call is CLOSED', async () => {
    const d = buffdb.open(':memory:')
    d.streamWrite('/x', 'x')
    const r = d.streamOpen('/x')
    d.close()
    expectCodeSync(() => d.get('k'), 'CLOSED')
    expectCodeSync(() => d.blobPut('x'), 'CLOSED')
    expectCodeSync(() => d.streamRead('/x'), 'CLOSED')
    expectCodeSync(() => d.search('/'), 'CLOSED')
    expectCodeSync(() => d.begin(), 'CLOSED')
    expectCodeSync(() => d.query('SELECT 1'), 'CLOSED')
    expectCodeSync(() => d.stats(), 'CLOSED')
    await expectCode(() => d.putAsync('k', 'v'), 'CLOSED')
    await expectCode(() => d.streamWriteAsync('/x', 'y'), 'CLOSED')
    let readerErr = null
    try {
      r.read(1)
    } catch (e) {
      readerErr = e
    }
    if (readerErr) assert.equal(readerErr.code, 'CLOSED')
    r.close()
  })
})
