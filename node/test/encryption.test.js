'use strict'
// Encrypted databases from Node: `open(path, { encryptionKey })` with a string
// passphrase or a 32-byte raw key (Buffer / Uint8Array); a wrong, missing or needless
// key is a clear error and leaves the file as it was. (The shared cases run encrypted
// in cases.test.js.)

const { test, describe } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { tmpDir, expectCode, expectCodeSync } = require('./helpers.js')
const buffdb = require('..')

const raw = Buffer.from(Array.from({ length: 32 }, (_, i) => i))
const skip = !buffdb.encryptionAvailable() && 'this build has no encryption (cargo feature)'

/** The bytes of the database file and its WAL (null when missing). */
const files = (file) => [file, `${file}-wal`].map((f) => (fs.existsSync(f) ? fs.readFileSync(f) : null))

function make(file, options) {
  const db = buffdb.open(file, options)
  db.put('greeting', 'hello, encrypted world')
  db.streamWrite('/doc', Buffer.from('stream text '.repeat(1000)))
  db.close()
  return files(file)
}

describe('encryption', { skip }, () => {
  for (const [name, key] of [
    ['string passphrase', 'correct horse'],
    ['Buffer raw key', raw],
    ['Uint8Array raw key', new Uint8Array(raw)],
  ]) {
    test(`a ${name} opens what it made, and the file holds no plaintext`, async () => {
      const file = path.join(tmpDir(), 'k.bdb')
      const [main] = make(file, { encryptionKey: key })
      assert.ok(!main.includes('hello, encrypted world'))
      assert.ok(!main.subarray(0, 15).equals(Buffer.from('SQLite format 3')))
      const db = await buffdb.openAsync(file, { encryptionKey: key })
      assert.equal(db.get('greeting').toString(), 'hello, encrypted world')
      assert.equal(db.streamRead('/doc').toString(), 'stream text '.repeat(1000))
      assert.ok(db.check().ok)
      db.close()
    })
  }

  for (const [name, wrong] of [
    ['no key', undefined],
    ['a wrong passphrase', 'wrong horse'],
    ['a raw key for a passphrase file', raw],
  ]) {
    test(`${name}: NOT_A_DATABASE naming the key, the file unchanged`, async () => {
      const file = path.join(tmpDir(), 'k.bdb')
      const before = make(file, { encryptionKey: 'correct horse' })
      for (const readOnly of [false, true]) {
        const e = expectCodeSync(() => buffdb.open(file, { encryptionKey: wrong, readOnly }), 'NOT_A_DATABASE')
        assert.match(e.message, /key/)
        await expectCode(() => buffdb.openAsync(file, { encryptionKey: wrong, readOnly }), 'NOT_A_DATABASE')
      }
      assert.deepEqual(files(file), before)
      const db = buffdb.open(file, { encryptionKey: 'correct horse' })
      assert.equal(db.get('greeting').toString(), 'hello, encrypted world')
      db.close()
    })
  }

  test('a key for a plaintext file: INVALID_ARGUMENT, the file unchanged', () => {
    const file = path.join(tmpDir(), 'plain.bdb')
    const before = make(file)
    for (const key of ['correct horse', raw]) {
      const e = expectCodeSync(() => buffdb.open(file, { encryptionKey: key }), 'INVALID_ARGUMENT')
      assert.match(e.message, /not encrypted/)
    }
    assert.deepEqual(files(file), before)
    const db = buffdb.open(file, { encryptionKey: null })
    assert.equal(db.get('greeting').toString(), 'hello, encrypted world')
    db.close()
  })

  test('bad keys: INVALID_ARGUMENT, and no file is made', async () => {
    const dir = tmpDir()
    const file = path.join(dir, 'new.bdb')
    for (const bad of ['', Buffer.alloc(0), raw.subarray(0, 31), Buffer.concat([raw, Buffer.from('x')]), 'a\0b', 'lone \ud800', 32, true, {}, ['k']]) {
      expectCodeSync(() => buffdb.open(file, { encryptionKey: bad }), 'INVALID_ARGUMENT')
      await expectCode(() => buffdb.openAsync(file, { encryptionKey: bad }), 'INVALID_ARGUMENT')
    }
    assert.ok(!fs.existsSync(file))
  })

  test('transactions and read-only handles on an encrypted database', () => {
    const file = path.join(tmpDir(), 'k.bdb')
    const db = buffdb.open(file, { encryptionKey: raw })
    const t = db.begin()
    t.put('a', '1')
    const id = t.blobPut(Buffer.from('blob bytes'))
    t.commit()
    db.close()
    const ro = buffdb.open(file, { encryptionKey: raw, readOnly: true })
    assert.equal(ro.get('a').toString(), '1')
    assert.equal(ro.blobGet(id).toString(), 'blob bytes')
    ro.close()
  })

  test('rekey and rekeyAsync change the key; a wrong key or an open handle changes nothing', async () => {
    const file = path.join(tmpDir(), 'k.bdb')
    const before = make(file, { encryptionKey: 'correct horse' })
    expectCodeSync(() => buffdb.rekey(file, 'wrong horse', raw), 'NOT_A_DATABASE')
    await expectCode(() => buffdb.rekeyAsync(file, raw, 'x'), 'NOT_A_DATABASE')
    expectCodeSync(() => buffdb.rekey(file, 'correct horse', raw.subarray(0, 31)), 'INVALID_ARGUMENT')
    expectCodeSync(() => buffdb.rekey(file, 'correct horse', 32), 'INVALID_ARGUMENT')
    assert.deepEqual(files(file), before)
    const report = buffdb.rekey(file, 'correct horse', raw)
    assert.ok(report.ok)
    expectCodeSync(() => buffdb.open(file, { encryptionKey: 'correct horse' }), 'NOT_A_DATABASE')
    const db = buffdb.open(file, { encryptionKey: raw })
    assert.equal(db.get('greeting').toString(), 'hello, encrypted world')
    await expectCode(() => buffdb.rekeyAsync(file, raw, 'correct horse'), 'BUSY')
    db.close()
    assert.ok((await buffdb.rekeyAsync(file, new Uint8Array(raw), 'correct horse')).ok)
    const again = buffdb.open(file, { encryptionKey: 'correct horse' })
    assert.equal(again.streamRead('/doc').toString(), 'stream text '.repeat(1000))
    again.close()
  })
})

test('without encryption in the build, a key is refused, never ignored', { skip: buffdb.encryptionAvailable() && 'this build has encryption' }, () => {
  const file = path.join(tmpDir(), 'k.bdb')
  const e = expectCodeSync(() => buffdb.open(file, { encryptionKey: 'pw' }), 'INVALID_ARGUMENT')
  assert.match(e.message, /encryption/)
  assert.ok(!fs.existsSync(file))
  expectCodeSync(() => buffdb.rekey(file, 'pw', 'other'), 'INVALID_ARGUMENT')
  assert.ok(!fs.existsSync(file))
})
