'use strict'
// Stream metadata (issue 21) through every way Node writes a stream: whole writes
// (sync, async, with compression set), writers (option and setMetadata), Writable
// streams, async writes from a Readable; read back in streamStat/streamVersions and
// a reader's info; replaced with streamSetMetadata; bad input refused, nothing changed.

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { Readable } = require('node:stream')
const { pipeline } = require('node:stream/promises')
const { tmpDir, expectCode, expectCodeSync } = require('./helpers.js')
const buffdb = require('..')

describe('stream metadata', () => {
  let dir
  let db
  before(() => {
    dir = tmpDir()
    db = buffdb.open(path.join(dir, 'meta.bdb'), { chunkSize: 4096 })
  })
  after(() => db.close())

  test('whole writes: sync, async, with compression set, none by default', async () => {
    assert.equal(db.streamWrite('/w/a', 'one', { metadata: '{"k":1}' }).metadata, '{"k":1}')
    assert.equal((await db.streamWriteAsync('/w/b', 'two', { metadata: 'b' })).metadata, 'b')
    const big = Buffer.alloc(40000, 7)
    const c = db.streamWrite('/w/c', big, { compression: true, metadata: 'c' })
    assert.equal(c.metadata, 'c')
    assert.equal((await db.streamWriteAsync('/w/d', big, { compression: false, metadata: 'd' })).metadata, 'd')
    assert.equal(db.streamWrite('/w/e', 'x').metadata, null)
    assert.equal(db.streamWrite('/w/f', 'x', { metadata: null }).metadata, null)
    assert.equal(db.streamStat('/w/c').metadata, 'c')
    assert.deepEqual(db.streamRead('/w/c'), big)
    assert.equal((await db.streamStatAsync('/w/d')).metadata, 'd')
  })

  test('a writer: the option, setMetadata (last wins), createWriteStream, a Readable', async () => {
    const w = db.streamWriter('/wr/a', { metadata: 'first' })
    w.write('abc')
    w.setMetadata('second')
    assert.equal(w.commit().metadata, 'second')
    const w2 = await db.streamWriterAsync('/wr/b', { metadata: 'gone' })
    w2.setMetadata(null)
    await w2.writeAsync('x')
    assert.equal((await w2.commitAsync()).metadata, null)

    const ws = db.createWriteStream('/wr/c', { metadata: '{"from":"pipeline"}' })
    await pipeline(Readable.from([Buffer.from('a'), Buffer.from('b')]), ws)
    assert.equal(ws.info.metadata, '{"from":"pipeline"}')
    const info = await db.streamWriteAsync('/wr/d', Readable.from(['p', 'q']), { metadata: 'readable' })
    assert.equal(info.metadata, 'readable')
    assert.equal(db.streamStat('/wr/d').metadata, 'readable')
    assert.equal(db.streamRead('/wr/d').toString(), 'pq')

    // An aborted writer leaves nothing; a finished one refuses setMetadata with CLOSED.
    const w3 = db.streamWriter('/wr/e', { metadata: 'never' })
    w3.write('x')
    w3.abort()
    assert.equal(db.streamExists('/wr/e'), false)
    expectCodeSync(() => w3.setMetadata('late'), 'CLOSED')
  })

  test('versions keep their own metadata; streamSetMetadata changes the newest only', async () => {
    db.streamWrite('/v/a', 'one', { metadata: 'v1' })
    db.streamWrite('/v/a', 'two')
    assert.deepEqual(db.streamVersions('/v/a').map((i) => i.metadata), ['v1', null])
    const set = db.streamSetMetadata('/v/a', 'v2')
    assert.equal(set.version, 2)
    assert.equal(set.metadata, 'v2')
    assert.deepEqual((await db.streamVersionsAsync('/v/a')).map((i) => [i.version, i.metadata]), [
      [1, 'v1'],
      [2, 'v2'],
    ])
    assert.equal((await db.streamSetMetadataAsync('/v/a', null)).metadata, null)
    assert.equal(db.streamSetMetadata('/v/a', '').metadata, '')
    assert.equal(db.streamRead('/v/a').toString(), 'two')
    // A reader's info is its version's.
    const r = db.streamOpen('/v/a', { version: 1 })
    assert.equal(r.info.metadata, 'v1')
    r.close()
    assert.deepEqual(db.query("SELECT version, metadata FROM streams WHERE path = '/v/a' ORDER BY version").rows, [
      [1, 'v1'],
      [2, ''],
    ])
  })

  test('in a transaction: visible inside, gone after rollback, kept after commit', async () => {
    db.streamWrite('/t/a', 'x', { metadata: 'before' })
    const t = db.begin()
    t.streamSetMetadata('/t/a', 'inside')
    t.streamWrite('/t/b', 'y', { metadata: 'new' })
    const tw = t.streamWriter('/t/c')
    tw.setMetadata('writer')
    tw.write('z')
    tw.commit()
    assert.equal(t.streamStat('/t/a').metadata, 'inside')
    assert.equal(t.streamStat('/t/c').metadata, 'writer')
    t.rollback()
    assert.equal(db.streamStat('/t/a').metadata, 'before')
    assert.equal(db.streamExists('/t/b'), false)
    assert.equal(db.streamExists('/t/c'), false)
    await db.transactionAsync(async (txn) => {
      assert.equal((await txn.streamSetMetadataAsync('/t/a', 'committed')).metadata, 'committed')
    })
    assert.equal(db.streamStat('/t/a').metadata, 'committed')
  })

  test('bad metadata is refused with a stable code and changes nothing', async () => {
    db.streamWrite('/bad/a', 'keep', { metadata: 'kept' })
    const huge = 'x'.repeat(1024 * 1024 + 1)
    expectCodeSync(() => db.streamWrite('/bad/a', 'new', { metadata: huge }), 'TOO_LARGE')
    expectCodeSync(() => db.streamWrite('/bad/a', 'new', { metadata: 'n\u0000ul' }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.streamWrite('/bad/a', 'new', { metadata: 5 }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.streamWrite('/bad/a', 'new', { metadata: Buffer.from('m') }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.streamWrite('/bad/a', 'new', { compression: true, metadata: huge }), 'TOO_LARGE')
    expectCodeSync(() => db.streamWrite('/bad/a', 'new', { metadata: '\ud800' }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.streamWrite('/bad/a', 'new', { meta: 'typo' }), 'INVALID_ARGUMENT')
    await expectCode(() => db.streamWriteAsync('/bad/a', 'new', { metadata: huge }), 'TOO_LARGE')
    await expectCode(() => db.streamWriteAsync('/bad/a', 'new', { metadata: 1 }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.streamWriter('/bad/a', { metadata: huge }), 'TOO_LARGE')
    await expectCode(() => db.streamWriterAsync('/bad/a', { metadata: 'n\u0000' }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.streamSetMetadata('/bad/a', huge), 'TOO_LARGE')
    expectCodeSync(() => db.streamSetMetadata('/bad/a', 'n\u0000ul'), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.streamSetMetadata('/bad/a', 7), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.streamSetMetadata('/bad/missing', 'm'), 'NOT_FOUND')
    expectCodeSync(() => db.streamSetMetadata('', 'm'), 'INVALID_ARGUMENT')
    await expectCode(() => db.streamSetMetadataAsync('/bad/missing', 'm'), 'NOT_FOUND')
    await expectCode(() => db.streamSetMetadataAsync('/bad/a', {}), 'INVALID_ARGUMENT')
    // A writer that refuses metadata keeps what it had and writes on.
    const w = db.streamWriter('/bad/w', { metadata: 'good' })
    expectCodeSync(() => w.setMetadata(huge), 'TOO_LARGE')
    expectCodeSync(() => w.setMetadata(3), 'INVALID_ARGUMENT')
    w.write('data')
    assert.equal(w.commit().metadata, 'good')
    const s = db.streamStat('/bad/a')
    assert.equal(s.version, 1)
    assert.equal(s.metadata, 'kept')
    assert.equal(db.streamRead('/bad/a').toString(), 'keep')
    assert.equal(db.streamVersions('/bad/a').length, 1)
    assert.equal(db.search('/bad/').toArray().join(','), '/bad/a,/bad/w')
  })

  test('kept across a reopen, seen by another handle', () => {
    const file = path.join(dir, 'reopen.bdb')
    const a = buffdb.open(file)
    a.streamWrite('/r', 'x', { metadata: 'persisted' })
    const b = buffdb.open(file)
    assert.equal(b.streamStat('/r').metadata, 'persisted')
    b.streamSetMetadata('/r', 'changed')
    assert.equal(a.streamStat('/r').metadata, 'changed')
    a.close()
    b.close()
    const c = buffdb.open(file, { readOnly: true })
    assert.equal(c.streamStat('/r').metadata, 'changed')
    expectCodeSync(() => c.streamSetMetadata('/r', 'no'), 'READ_ONLY')
    c.close()
  })
})
