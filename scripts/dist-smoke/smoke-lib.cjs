'use strict'
// Smoke test of an installed buffdb npm package (scripts/test-dist.sh), run once
// from require('buffdb') (smoke.cjs) and once from import (smoke.mjs): open,
// put/get, an 8 MiB stream written in pieces and read back, prefix search, a
// transaction that commits and one that rolls back. Throws on any failure.
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const STREAM = 8 << 20

module.exports = function smoke(buffdb, label) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buffdb-dist-smoke-'))
  try {
    const file = path.join(dir, 'smoke.bdb')
    let db = buffdb.open(file)
    db.put('user:1', 'ada')
    assert.equal(db.get('user:1').toString(), 'ada')
    assert.equal(db.get('user:9'), undefined)

    const data = crypto.randomBytes(STREAM)
    const w = db.streamWriter('/models/resnet/weights.bin')
    for (let off = 0; off < STREAM; off += 3 << 18) w.write(data.subarray(off, off + (3 << 18)))
    const info = w.commit()
    assert.equal(info.size, STREAM)
    assert.equal(info.version, 1)
    db.streamWrite('/models/resnet/config.json', '{}')
    db.streamWrite('/textures/a.png', 'png')
    db.close()

    // reopen: the data is in the file
    db = buffdb.open(file)
    const back = Buffer.alloc(STREAM)
    const r = db.streamOpen('/models/resnet/weights.bin')
    let n = 0
    while (n < STREAM) {
      const got = r.readInto(back.subarray(n))
      assert.ok(got > 0, 'short read')
      n += got
    }
    r.close()
    assert.ok(back.equals(data), 'stream differs')

    assert.deepEqual([...db.search('/models/')], ['/models/resnet/config.json', '/models/resnet/weights.bin'])
    assert.equal(db.searchCount('/textures/'), 1)

    db.transaction((txn) => {
      txn.put('balance:a', '50')
      txn.put('balance:b', '150')
    })
    assert.equal(db.get('balance:a').toString(), '50')
    assert.throws(() =>
      db.transaction((txn) => {
        txn.put('balance:a', '0')
        throw new Error('roll back')
      }),
    /roll back/)
    assert.equal(db.get('balance:a').toString(), '50', 'a throwing transaction was not rolled back')
    db.close()
    console.log(`node smoke (${label}): ok, buffdb ${buffdb.version()}`)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
