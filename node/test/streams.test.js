'use strict'
// Node streams over path streams and blobs: stream.pipeline end to end, ranges,
// commit on finish, abort on destroy; and the event loop keeps ticking while a
// long async write or read runs.

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const { Readable, Writable, PassThrough } = require('node:stream')
const { pipeline } = require('node:stream/promises')
const { tmpDir, expectCode } = require('./helpers.js')
const buffdb = require('..')

const MiB = 1 << 20

/** A deterministic pseudo-random Readable of `size` bytes, in 64 KiB pieces. */
function source(size, seed = 1) {
  let left = size
  let x = seed >>> 0 || 1
  return new Readable({
    highWaterMark: 256 * 1024,
    read() {
      if (left === 0) {
        this.push(null)
        return
      }
      const n = Math.min(left, 64 * 1024)
      const buf = Buffer.allocUnsafe(n)
      for (let i = 0; i < n; i += 4) {
        x ^= x << 13
        x ^= x >>> 17
        x ^= x << 5
        buf.writeUInt32LE(x >>> 0, i)
      }
      left -= n
      this.push(buf)
    },
  })
}

async function sha256Of(readable) {
  const h = crypto.createHash('sha256')
  let n = 0
  for await (const c of readable) {
    h.update(c)
    n += c.length
  }
  return [h.digest('hex'), n]
}

describe('Node streams', () => {
  let dir
  let db
  before(() => {
    dir = tmpDir()
    db = buffdb.open(path.join(dir, 'streams.bdb'))
  })
  after(() => {
    db.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  test('100 MiB: file -> createWriteStream -> createReadStream -> file, compared', async () => {
    const size = 100 * MiB
    const inFile = path.join(dir, 'in.bin')
    const outFile = path.join(dir, 'out.bin')
    await pipeline(source(size, 42), fs.createWriteStream(inFile))
    const ws = db.createWriteStream('/big/100mib.bin')
    let committed = null
    ws.on('commit', (info) => {
      committed = info
    })
    await pipeline(fs.createReadStream(inFile, { highWaterMark: MiB }), ws)
    assert.equal(ws.info.size, size)
    assert.equal(committed.size, size)
    assert.equal(ws.bytesWritten, size)
    assert.equal(db.streamStat('/big/100mib.bin').size, size)
    const rs = db.createReadStream('/big/100mib.bin')
    await pipeline(rs, fs.createWriteStream(outFile))
    assert.equal(rs.bytesRead, size)
    const [a, na] = await sha256Of(fs.createReadStream(inFile))
    const [b, nb] = await sha256Of(fs.createReadStream(outFile))
    assert.equal(na, size)
    assert.equal(nb, size)
    assert.equal(a, b)
    // the checksum the engine stored is the CRC32 of the raw bytes: a reread agrees
    assert.equal(db.streamStat('/big/100mib.bin').crc32, ws.info.crc32)
    fs.rmSync(inFile)
    fs.rmSync(outFile)
  })

  test('createReadStream ranges: start/end inclusive, like fs', async () => {
    const data = Buffer.alloc(3 * MiB + 17)
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff
    db.streamWrite('/range', data)
    const read = async (opts) => {
      const parts = []
      for await (const c of db.createReadStream('/range', opts)) parts.push(c)
      return Buffer.concat(parts)
    }
    assert.ok((await read()).equals(data))
    assert.ok((await read({ start: 10 })).equals(data.subarray(10)))
    assert.ok((await read({ end: 9 })).equals(data.subarray(0, 10)))
    assert.ok((await read({ start: MiB - 3, end: 2 * MiB + 5 })).equals(data.subarray(MiB - 3, 2 * MiB + 6)))
    assert.ok((await read({ start: data.length - 1 })).equals(data.subarray(data.length - 1)))
    assert.equal((await read({ start: data.length + 100 })).length, 0)
    assert.ok((await read({ highWaterMark: 1000, start: 5, end: 5004 })).equals(data.subarray(5, 5005)))
    const first = await read({ version: 1, end: 3 })
    assert.ok(first.equals(data.subarray(0, 4)))
  })

  test('a Readable left early, its next chunk being read ahead, closes its reader', async () => {
    const data = crypto.randomBytes(2 * MiB)
    db.streamWrite('/early', data)
    const rs = db.createReadStream('/early', { highWaterMark: 64 * 1024 })
    const parts = []
    for await (const c of rs) {
      parts.push(c)
      if (parts.length === 3) break
    }
    assert.ok(Buffer.concat(parts).equals(data.subarray(0, 3 * 64 * 1024)))
    assert.equal(rs.destroyed, true)
    assert.throws(() => rs.reader.read(1), (e) => e.code === 'CLOSED')
    // Chunks come in order, each once, also while the consumer is slower than the reads.
    const slow = []
    for await (const c of db.createReadStream('/early', { highWaterMark: 100_000, start: 7 })) {
      slow.push(c)
      await new Promise((resolve) => setImmediate(resolve))
    }
    assert.ok(Buffer.concat(slow).equals(data.subarray(7)))
  })

  test('a version being read stays whole while a new one is written', async () => {
    const v1 = Buffer.alloc(2 * MiB, 1)
    db.streamWrite('/iso', v1)
    const rs = db.createReadStream('/iso', { highWaterMark: 64 * 1024 })
    const parts = []
    let rewrote = false
    for await (const c of rs) {
      parts.push(c)
      if (!rewrote) {
        rewrote = true
        await db.streamWriteAsync('/iso', Buffer.alloc(2 * MiB, 2))
      }
    }
    assert.ok(Buffer.concat(parts).equals(v1))
    assert.equal(db.streamRead('/iso')[0], 2)
  })

  test('Writable commits on finish; destroy(err) aborts', async () => {
    db.streamWrite('/w', 'original')
    const ws = db.createWriteStream('/w')
    ws.write('part one, ')
    ws.write(Buffer.from('part two'))
    const errored = new Promise((resolve) => ws.on('error', resolve))
    ws.destroy(new Error('stop'))
    assert.equal((await errored).message, 'stop')
    await new Promise((resolve) => (ws.closed ? resolve() : ws.on('close', resolve)))
    assert.equal(db.streamRead('/w').toString(), 'original')
    assert.deepEqual(db.streamVersions('/w').map((v) => v.version), [1])

    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(1000, 1))
        this.destroy(new Error('source failed'))
      },
    })
    await assert.rejects(pipeline(failing, db.createWriteStream('/w')), /source failed/)
    assert.equal(db.streamRead('/w').toString(), 'original')

    const ok = db.createWriteStream('/w', { compression: true })
    const finished = new Promise((resolve) => ok.on('finish', resolve))
    ok.end('replaced')
    await finished
    // committed before 'finish' was emitted
    assert.equal(db.streamRead('/w').toString(), 'replaced')
    assert.equal(ok.info.version, 2)
  })

  test('many small writes are batched (writev) and arrive in order', async () => {
    const ws = db.createWriteStream('/small', { highWaterMark: 16 })
    const expected = []
    for (let i = 0; i < 2000; i++) {
      const s = `${i},`
      expected.push(s)
      ws.write(s)
    }
    ws.end()
    await new Promise((resolve, reject) => {
      ws.on('finish', resolve)
      ws.on('error', reject)
    })
    assert.equal(db.streamRead('/small').toString(), expected.join(''))
  })

  test('blob read stream through a pipeline', async () => {
    const data = crypto.randomBytes(3 * MiB + 5)
    const id = db.blobPut(data, 'random')
    const sink = new PassThrough()
    const got = []
    sink.on('data', (c) => got.push(c))
    await pipeline(db.createBlobReadStream(id), sink)
    assert.ok(Buffer.concat(got).equals(data))
  })

  test('reading a missing stream errors the Readable with NOT_FOUND', async () => {
    await expectCode(async () => {
      for await (const _ of db.createReadStream('/no/such/stream')) {
        // nothing
      }
    }, 'NOT_FOUND')
  })

  test('the event loop keeps ticking during a long async write and read', async () => {
    const size = 64 * MiB
    const data = Buffer.alloc(size, 0xab)
    let ticks = 0
    const timer = setInterval(() => ticks++, 1)
    try {
      // one big Promise write (runs on the libuv pool)
      const t0 = process.hrtime.bigint()
      const write = db.streamWriteAsync('/loop/one-shot', data)
      const ticksAtStart = ticks
      const info = await write
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      assert.equal(info.size, size)
      assert.ok(ticks > ticksAtStart, `no timer fired during a ${ms.toFixed(0)} ms write`)

      const before = ticks
      const back = await db.streamReadAsync('/loop/one-shot')
      assert.equal(back.length, size)
      const between = ticks
      assert.ok(between >= before)

      // a long streamed write and read through Node streams
      const t1 = ticks
      await pipeline(source(size, 7), db.createWriteStream('/loop/streamed'))
      assert.ok(ticks > t1, 'timer fired during the streamed write')
      const t2 = ticks
      const [, n] = await sha256Of(db.createReadStream('/loop/streamed'))
      assert.equal(n, size)
      assert.ok(ticks > t2, 'timer fired during the streamed read')
    } finally {
      clearInterval(timer)
    }
  })

  test('a timer fires while a single long async call is in flight', async () => {
    const data = Buffer.alloc(128 * MiB, 0x11)
    let settled = false
    const pending = db.streamWriteAsync('/loop/long', data).then((info) => {
      settled = true
      return info
    })
    await new Promise((resolve) => setTimeout(resolve, 1))
    assert.equal(settled, false, 'the timer fired only after the write finished')
    assert.equal((await pending).size, data.length)

    settled = false
    const reading = db.streamReadAsync('/loop/long').then((buf) => {
      settled = true
      return buf
    })
    await new Promise((resolve) => setTimeout(resolve, 1))
    assert.equal(settled, false, 'the timer fired only after the read finished')
    assert.equal((await reading).length, data.length)
  })
})
