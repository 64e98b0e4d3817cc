'use strict'
// Secondary indexes (issue 21) through the Node API: create over existing records,
// find and findRange (sync iterators, async iterators, paging with startAfter),
// kept exact by every write path on KV, blobs and streams, unique conflicts that
// change nothing, transactions (rolled back with them), persistence, and bad input
// refused with a stable code.

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { tmpDir, expectCode, expectCodeSync } = require('./helpers.js')
const buffdb = require('..')

const json = (x) => JSON.stringify(x)
const keys = (it) => it.toArray().map((k) => k.toString())

describe('indexes', () => {
  let dir
  before(() => {
    dir = tmpDir()
  })

  const fresh = (name, options) => buffdb.open(path.join(dir, `${name}.bdb`), options)

  test('kv: built over existing records, find, findRange both ways, list, drop', async () => {
    const db = fresh('kv')
    db.put('user:1', json({ email: 'a@x', age: 30 }))
    db.put('user:2', json({ email: 'b@x', age: 25 }))
    db.put('user:3', json({ email: 'c@x', age: 30.0 }))
    db.put('user:4', 'not json')
    db.put('user:5', json({ email: 'e@x' }))
    db.put('user:6', json({ email: 'f@x', age: [1, 2] }))
    db.put('user:7', json({ email: 'g@x', age: '30' }))
    const info = db.createIndex('by_age', 'kv', '$.age')
    assert.equal(info.name, 'by_age')
    assert.equal(info.source, 'kv')
    assert.equal(info.jsonPath, '$.age')
    assert.equal(info.unique, false)
    assert.equal(info.keyPrefix, null)
    assert.equal(info.entries, 4) // not JSON, no age, an array: not in it
    assert.equal(info.ready, true)

    assert.deepEqual(keys(db.find('by_age', 30)), ['user:1', 'user:3'])
    assert.deepEqual(keys(db.find('by_age', 30.0)), ['user:1', 'user:3'])
    assert.deepEqual(keys(db.find('by_age', '30')), ['user:7']) // a string is not a number
    assert.deepEqual(keys(db.find('by_age', 31)), [])
    const found = []
    for await (const k of db.find('by_age', 25)) found.push(k.toString())
    assert.deepEqual(found, ['user:2'])

    const range = db.findRange('by_age').toArray()
    assert.deepEqual(
      range.map((e) => [e.value, e.record.toString()]),
      [
        [25, 'user:2'],
        [30, 'user:1'],
        [30, 'user:3'],
        ['30', 'user:7'],
      ],
    )
    assert.ok(Buffer.isBuffer(range[0].record))
    const rev = await db.findRange('by_age', { low: 26, high: 40, reverse: true }).toArrayAsync()
    assert.deepEqual(rev.map((e) => e.record.toString()), ['user:3', 'user:1'])
    assert.deepEqual(db.findRange('by_age', { low: 30, high: 30 }).toArray().map((e) => e.record.toString()), ['user:1', 'user:3'])
    assert.deepEqual(db.findRange('by_age', { high: 29 }).toArray().map((e) => e.value), [25])
    assert.deepEqual(db.findRange('by_age', { low: 26 }).toArray().map((e) => e.value), [30, 30, '30'])
    assert.deepEqual(db.findRange('by_age', { low: 26, limit: 1 }).toArray().map((e) => e.record.toString()), ['user:1'])

    db.createIndex('by_email', 'kv', '$.email', { unique: true })
    const list = db.listIndexes()
    assert.deepEqual(list.map((i) => [i.name, i.entries, i.unique]), [
      ['by_age', 4, false],
      ['by_email', 6, true],
    ])
    assert.deepEqual((await db.listIndexesAsync()).map((i) => i.name), ['by_age', 'by_email'])
    assert.equal(db.dropIndex('by_age'), true)
    assert.equal(db.dropIndex('by_age'), false)
    assert.equal(await db.dropIndexAsync('by_email'), true)
    assert.deepEqual(db.listIndexes(), [])
    expectCodeSync(() => db.find('by_age', 30), 'NOT_FOUND')
    assert.equal(db.check().ok, true)
    db.close()
  })

  test('paging with startAfter walks every entry once, both ways', async () => {
    const db = fresh('paging')
    const pairs = []
    for (let i = 0; i < 250; i++) pairs.push([`k${String(i).padStart(3, '0')}`, json({ n: i % 7, s: `v${i % 11}` })])
    db.putMany(pairs)
    await db.createIndexAsync('n', 'kv', '$.n')
    for (const reverse of [false, true]) {
      const all = db.findRange('n', { reverse }).toArray()
      assert.equal(all.length, 250)
      const paged = []
      let last
      for (;;) {
        const page = db.findRange('n', { reverse, limit: 40, startAfter: last }).toArray()
        if (page.length === 0) break
        paged.push(...page)
        last = page[page.length - 1]
      }
      assert.deepEqual(paged.map((e) => [e.value, e.record.toString()]), all.map((e) => [e.value, e.record.toString()]))
      // The values are in order, then the records.
      const order = all.map((e) => e.value)
      const sorted = [...order].sort((a, b) => (reverse ? b - a : a - b))
      assert.deepEqual(order, sorted)
    }
    // startAfter with a string key (as text) resolves for a KV index.
    const first = db.findRange('n').toArray()[0]
    const after = db.findRange('n', { startAfter: { value: first.value, record: first.record.toString() }, limit: 1 }).toArray()
    assert.deepEqual(after.map((e) => e.record.toString()), [db.findRange('n').toArray()[1].record.toString()])
    db.close()
  })

  test('every write path keeps it exact: put, putMany, delete, update', async () => {
    const db = fresh('writes')
    db.createIndex('city', 'kv', '$.address.city', { keyPrefix: 'p:' })
    db.put('p:1', json({ address: { city: 'Oslo' } }))
    await db.putAsync('p:2', json({ address: { city: 'Rome' } }))
    db.putMany([
      ['p:3', json({ address: { city: 'Oslo' } })],
      ['q:1', json({ address: { city: 'Oslo' } })], // outside the prefix
    ])
    assert.deepEqual(keys(db.find('city', 'Oslo')), ['p:1', 'p:3'])
    db.put('p:1', json({ address: { city: 'Rome' } })) // update moves it
    assert.deepEqual(keys(db.find('city', 'Oslo')), ['p:3'])
    assert.deepEqual(keys(db.find('city', 'Rome')), ['p:1', 'p:2'])
    db.put('p:2', 'no longer JSON') // leaves the index
    assert.deepEqual(keys(db.find('city', 'Rome')), ['p:1'])
    db.delete('p:1')
    await db.deleteAsync('p:3')
    assert.deepEqual(db.findRange('city').toArray(), [])
    // null is a value (the lowest); an absent bound is no bound.
    db.put('p:9', json({ address: { city: null } }))
    db.put('p:8', json({ address: { city: 'Oslo' } }))
    assert.deepEqual(db.findRange('city', { high: null }).toArray().map((e) => [e.value, e.record.toString()]), [[null, 'p:9']])
    assert.deepEqual(keys(db.find('city', null)), ['p:9'])
    assert.deepEqual(db.findRange('city', { low: null }).toArray().length, 2)
    assert.equal(db.listIndexes()[0].keyPrefix.toString(), 'p:')
    assert.equal(db.check().indexProblems.length, 0)
    db.close()
  })

  test('unique: a duplicate is CONFLICT and changes nothing', async () => {
    const db = fresh('unique')
    db.createIndex('email', 'kv', '$.email', { unique: true })
    db.put('u:1', json({ email: 'a@x' }))
    expectCodeSync(() => db.put('u:2', json({ email: 'a@x' })), 'CONFLICT')
    await expectCode(() => db.putAsync('u:2', json({ email: 'a@x' })), 'CONFLICT')
    expectCodeSync(() => db.putMany([['u:3', json({ email: 'c@x' })], ['u:4', json({ email: 'a@x' })]]), 'CONFLICT')
    assert.equal(db.has('u:2'), false)
    assert.equal(db.has('u:3'), false) // the whole batch is refused
    db.put('u:1', json({ email: 'a@x', more: 1 })) // the same record keeps its value
    assert.deepEqual(keys(db.find('email', 'a@x')), ['u:1'])
    // Building a unique index over duplicates fails and leaves no index.
    db.put('v:1', json({ tag: 't' }))
    db.put('v:2', json({ tag: 't' }))
    expectCodeSync(() => db.createIndex('tag', 'kv', '$.tag', { unique: true }), 'CONFLICT')
    assert.deepEqual(db.listIndexes().map((i) => i.name), ['email'])
    db.close()
  })

  test('blobs (metadata) and streams (newest version metadata)', async () => {
    const db = fresh('sources')
    const a = db.blobPut('A', json({ model: 'resnet', version: '1.0' }))
    const b = db.blobPut('B', json({ model: 'bert', version: '2.0' }))
    db.blobPut('C', 'plain text')
    db.createIndex('model', 'blob', '$.model')
    assert.deepEqual(db.find('model', 'resnet').toArray(), [a])
    db.blobUpdate(b, { metadata: json({ model: 'resnet' }) })
    assert.deepEqual(db.find('model', 'resnet').toArray(), [a, b])
    db.blobDelete(a)
    assert.deepEqual(await db.find('model', 'resnet').toArrayAsync(), [b])
    assert.equal(typeof db.findRange('model').toArray()[0].record, 'number')

    db.streamWrite('/docs/a', 'x', { metadata: json({ kind: 'doc' }) })
    db.streamWrite('/docs/b', 'y', { metadata: json({ kind: 'img' }) })
    db.createIndex('kind', 'stream', '$.kind', { keyPrefix: '/docs/' })
    assert.deepEqual(db.find('kind', 'doc').toArray(), ['/docs/a'])
    db.streamWrite('/docs/a', 'x2') // the newest version has none
    assert.deepEqual(db.find('kind', 'doc').toArray(), [])
    db.streamSetMetadata('/docs/a', json({ kind: 'img' }))
    assert.deepEqual(db.find('kind', 'img').toArray(), ['/docs/a', '/docs/b'])
    const w = db.streamWriter('/docs/c', { metadata: json({ kind: 'img' }) })
    w.write('z')
    w.commit()
    db.streamDelete('/docs/b')
    assert.deepEqual(db.findRange('kind', { low: 'img', high: 'img' }).toArray().map((e) => e.record), ['/docs/a', '/docs/c'])
    const page = db.findRange('kind', { startAfter: { value: 'img', record: '/docs/a' } }).toArray()
    assert.deepEqual(page.map((e) => e.record), ['/docs/c'])
    assert.equal(db.check().ok, true)
    db.close()
  })

  test('in a transaction: sees its writes, rolled back with it, iterators end CLOSED', async () => {
    const db = fresh('txn')
    db.put('a', json({ v: 1 }))
    const t = db.begin()
    t.createIndex('v', 'kv', '$.v')
    t.put('b', json({ v: 1 }))
    assert.deepEqual(keys(t.find('v', 1)), ['a', 'b'])
    const it = t.findRange('v')
    t.rollback()
    expectCodeSync(() => it.next(), 'CLOSED')
    assert.deepEqual(db.listIndexes(), [])
    assert.equal(db.has('b'), false)

    await db.transactionAsync(async (txn) => {
      await txn.createIndexAsync('v', 'kv', '$.v', { unique: true })
      await txn.putAsync('c', json({ v: 2 }))
      assert.deepEqual((await txn.listIndexesAsync()).map((i) => i.entries), [2])
      await expectCode(() => txn.putAsync('d', json({ v: 2 })), 'CONFLICT')
    })
    assert.deepEqual(keys(db.find('v', 2)), ['c'])
    assert.equal(db.has('d'), false)
    db.transaction((txn) => {
      txn.delete('c')
      assert.equal(txn.dropIndex('v'), true)
    })
    assert.deepEqual(db.listIndexes(), [])
    db.close()
  })

  test('persisted: another handle and a reopen see it; a read-only handle finds', () => {
    const file = path.join(dir, 'persist.bdb')
    const a = buffdb.open(file)
    a.put('k1', json({ n: 5 }))
    a.createIndex('n', 'kv', '$.n')
    const b = buffdb.open(file)
    b.put('k2', json({ n: 5 }))
    assert.deepEqual(keys(a.find('n', 5)), ['k1', 'k2'])
    a.close()
    b.close()
    const r = buffdb.open(file, { readOnly: true })
    assert.deepEqual(keys(r.find('n', 5)), ['k1', 'k2'])
    expectCodeSync(() => r.createIndex('m', 'kv', '$.m'), 'READ_ONLY')
    expectCodeSync(() => r.dropIndex('n'), 'READ_ONLY')
    assert.equal(r.listIndexes()[0].entries, 2)
    r.close()
  })

  test('bad input: a stable code, nothing changed', async () => {
    const db = fresh('bad')
    db.put('k', json({ a: 1 }))
    db.createIndex('a', 'kv', '$.a')
    const before = json(db.listIndexes())
    expectCodeSync(() => db.createIndex('x', 'table', '$.a'), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.createIndex('x', 'kv', 'a.b'), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.createIndex('x', 'kv', '$.[x'), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.createIndex('a', 'kv', '$.b'), 'CONFLICT')
    expectCodeSync(() => db.createIndex('not-an-identifier', 'kv', '$.a'), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.createIndex('1a', 'kv', '$.a'), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.createIndex('', 'kv', '$.a'), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.createIndex(5, 'kv', '$.a'), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.createIndex('x', 'kv', null), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.createIndex('x', 'kv', '$.a', { unique: 'yes' }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.createIndex('x', 'kv', '$.a', { uniq: true }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.createIndex('x', 'blob', '$.a', { keyPrefix: 'p' }), 'INVALID_ARGUMENT')
    await expectCode(() => db.createIndexAsync('x', 'table', '$.a'), 'INVALID_ARGUMENT')
    await expectCode(() => db.createIndexAsync('a', 'kv', '$.a'), 'CONFLICT')
    await expectCode(() => db.createIndexAsync('x', 'kv', '$.a', 7), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.dropIndex('bad name'), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.dropIndex(undefined), 'INVALID_ARGUMENT')
    await expectCode(() => db.dropIndexAsync(3), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.find('missing', 1), 'NOT_FOUND')
    expectCodeSync(() => db.find('a', { x: 1 }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.find('a', [1]), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.find('a', NaN), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.find('a', undefined), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.find('a', Symbol('s')), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.find(1, 1), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.findRange('missing'), 'NOT_FOUND')
    expectCodeSync(() => db.findRange('a', { low: {} }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.findRange('a', 5), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.findRange('a', { low: 1, high: Infinity }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.findRange('a', { low: 1, high: 2, reverse: 1 }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.findRange('a', { low: 1, high: 2, limit: -1 }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.findRange('a', { low: 1, high: 2, order: 'desc' }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.findRange('a', { low: 1, high: 2, startAfter: 'k' }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.findRange('a', { low: 1, high: 2, startAfter: { value: 1 } }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.findRange('a', { low: 1, high: 2, startAfter: { record: 'k' } }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.findRange('a', { low: 1, high: 2, startAfter: { value: 1, record: 7 } }), 'INVALID_ARGUMENT')
    expectCodeSync(() => db.findRange('a', { low: 1, high: 2, startAfter: { value: [1], record: 'k' } }), 'INVALID_ARGUMENT')
    assert.equal(json(db.listIndexes()), before)
    assert.deepEqual(keys(db.find('a', 1)), ['k'])
    db.close()
    expectCodeSync(() => db.listIndexes(), 'CLOSED')
    expectCodeSync(() => db.find('a', 1), 'CLOSED')
    await expectCode(() => db.createIndexAsync('b', 'kv', '$.b'), 'CLOSED')
  })

  after(() => {})
})
