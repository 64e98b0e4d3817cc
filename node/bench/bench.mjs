// BuffDB Node benchmark: workloads K and S (DESIGN.md §5) for buffdb, lmdb-js
// (`lmdb`) and better-sqlite3 in the same run; one table with ratios to lmdb-js.
//
//   K: 100,000 keys of 16 bytes, 100-byte values, shuffled; all puts in one
//      batch; 100,000 random gets (right after the puts, and again after
//      reopening); a prefix scan of 10,000 keys.
//   S: one 256 MiB document written and read back (checksums on); the read is
//      also timed through a Node Readable, and against memcpy of the same bytes.
//
// Run: scripts/bench-node.sh (builds the release addon, installs the bench deps).
// Each workload runs in a fresh child process per engine and round.
// Env: BENCH_ROUNDS (default 3; the median is reported), BENCH_DIR (temp dir),
//      BENCH_S_MIB (default 256).

import { createRequire } from 'node:module'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Writable, Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'

const require = createRequire(import.meta.url)
const buffdb = require('../lib/buffdb.js')

function tryRequire(name) {
  try {
    return require(name)
  } catch (err) {
    return { missing: err.message.split('\n')[0] }
  }
}
const lmdb = tryRequire('lmdb')
let Sqlite = tryRequire('better-sqlite3')
let sqliteName = 'better-sqlite3'
if (Sqlite.missing) {
  // Fallback: node's built-in SQLite (Node >= 22.5), said so in the table.
  try {
    const { DatabaseSync } = require('node:sqlite')
    Sqlite = DatabaseSync
    sqliteName = 'node:sqlite'
  } catch {
    // neither
  }
}

const ROUNDS = Number(process.env.BENCH_ROUNDS || 3)
const N = 100_000
const VALUE_SIZE = 100
const SCAN_PREFIX_GROUPS = 10 // 100,000 keys / 10 prefixes = 10,000 keys per prefix scan
const S_SIZE = Number(process.env.BENCH_S_MIB || 256) * 1024 * 1024
const MiB = 1024 * 1024
const baseDir = process.argv[2] === '--child' ? null : fs.mkdtempSync(path.join(process.env.BENCH_DIR || os.tmpdir(), 'buffdb-node-bench-'))

// ------------------------------------------------------------------ data

function makeKeys() {
  // 16-byte keys: "p<group>" + 14 random hex chars; groups spread evenly.
  const keys = []
  const seen = new Set()
  for (let i = 0; i < N; i++) {
    let k
    do {
      k = `p${i % SCAN_PREFIX_GROUPS}${crypto.randomBytes(7).toString('hex')}`
    } while (seen.has(k))
    seen.add(k)
    keys.push(Buffer.from(k))
  }
  return keys
}

function shuffle(a) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[a[i], a[j]] = [a[j], a[i]]
  }
  return a
}

// Each workload runs in its own child process (per engine and round), so one
// workload's data (workload K keeps 300,000 small Buffers alive) does not slow
// another's garbage collection.
let keys, values, getOrder, expectedScan, doc
const scanPrefix = Buffer.from('p3')
const scanEnd = Buffer.from('p4')

function makeK() {
  keys = shuffle(makeKeys())
  values = keys.map(() => crypto.randomBytes(VALUE_SIZE))
  getOrder = shuffle(keys.slice())
  expectedScan = keys.filter((k) => k.subarray(0, 2).equals(scanPrefix)).length
}

function makeS() {
  doc = crypto.randomBytes(S_SIZE)
}

function now() {
  return process.hrtime.bigint()
}
function secs(t0) {
  return Number(process.hrtime.bigint() - t0) / 1e9
}
function median(xs) {
  const s = xs.slice().sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}
function check(cond, msg) {
  if (!cond) throw new Error(`bench check failed: ${msg}`)
}

// ------------------------------------------------------------- engines

const engines = {}

engines.buffdb = {
  async k(dir) {
    const file = path.join(dir, 'k.bdb')
    let db = buffdb.open(file)
    const pairs = keys.map((k, i) => [k, values[i]])
    let t = now()
    db.putMany(pairs)
    const put = N / secs(t)
    const gets = () => {
      const t0 = now()
      let n = 0
      for (const k of getOrder) n += db.get(k).length
      const r = N / secs(t0)
      check(n === N * VALUE_SIZE, 'buffdb gets')
      return r
    }
    const get = gets()
    t = now()
    let c = 0
    for (const _ of db.scan(scanPrefix)) c++
    const scan = c / secs(t)
    check(c === expectedScan, `buffdb scan ${c}`)
    db.close()
    db = buffdb.open(file)
    const getReopen = gets()
    db.close()
    return { put, get, getReopen, scan }
  },
  async s(dir) {
    const db = buffdb.open(path.join(dir, 's.bdb'))
    // write through a Node Writable, fed in 1 MiB pieces
    let t = now()
    const pieces = []
    for (let o = 0; o < S_SIZE; o += MiB) pieces.push(doc.subarray(o, Math.min(S_SIZE, o + MiB)))
    await pipeline(Readable.from(pieces), db.createWriteStream('/bench/doc.bin'))
    const write = S_SIZE / secs(t)
    // settle: copy the document out of the WAL (the background checkpoint may be mid-way)
    db.checkpoint()
    const writeSettled = S_SIZE / secs(t)
    // read through a Node Readable
    t = now()
    let n = 0
    await pipeline(
      db.createReadStream('/bench/doc.bin'),
      new Writable({
        write(c, _e, cb) {
          n += c.length
          cb()
        },
      }),
    )
    const readStream = S_SIZE / secs(t)
    check(n === S_SIZE, 'buffdb stream size')
    // and again, now that the file's pages are mapped and cached
    t = now()
    n = 0
    for await (const c of db.createReadStream('/bench/doc.bin')) n += c.length
    const readStreamWarm = S_SIZE / secs(t)
    check(n === S_SIZE, 'buffdb stream size (warm)')
    // read with a reused buffer (readInto, sync) — the zero-allocation path
    const r = db.streamOpen('/bench/doc.bin')
    const buf = Buffer.allocUnsafe(MiB)
    t = now()
    let m = 0
    for (let got = r.readInto(buf); got > 0; got = r.readInto(buf)) m += got
    const readInto = S_SIZE / secs(t)
    r.close()
    check(m === S_SIZE, 'buffdb readInto size')
    // whole document
    t = now()
    const whole = await db.streamReadAsync('/bench/doc.bin')
    const readWhole = S_SIZE / secs(t)
    check(whole.length === S_SIZE && whole.subarray(S_SIZE - 64).equals(doc.subarray(S_SIZE - 64)), 'buffdb whole read')
    db.close()
    return { write, writeSettled, readStream, readStreamWarm, readInto, readWhole }
  },
}

if (!lmdb.missing) {
  engines['lmdb-js'] = {
    async k(dir) {
      const file = path.join(dir, 'k.mdb')
      const opts = { path: file, keyEncoding: 'binary', encoding: 'binary', mapSize: 2 * 1024 * MiB }
      let db = lmdb.open(opts)
      let t = now()
      db.transactionSync(() => {
        for (let i = 0; i < N; i++) db.putSync(keys[i], values[i])
      })
      const put = N / secs(t)
      const gets = () => {
        const t0 = now()
        let n = 0
        for (const k of getOrder) n += db.getBinary(k).length
        const r = N / secs(t0)
        check(n === N * VALUE_SIZE, 'lmdb gets')
        return r
      }
      const get = gets()
      t = now()
      let c = 0
      for (const _ of db.getRange({ start: scanPrefix, end: scanEnd })) c++
      const scan = c / secs(t)
      check(c === expectedScan, `lmdb scan ${c}`)
      await db.close()
      db = lmdb.open(opts)
      const getReopen = gets()
      await db.close()
      return { put, get, getReopen, scan }
    },
    async s(dir) {
      const db = lmdb.open({ path: path.join(dir, 's.mdb'), keyEncoding: 'binary', encoding: 'binary', mapSize: 2 * 1024 * MiB })
      let t = now()
      db.transactionSync(() => db.putSync('doc', doc))
      const write = S_SIZE / secs(t)
      t = now()
      const v = db.getBinary('doc')
      const len = v.length
      const readWhole = S_SIZE / secs(t)
      check(len === S_SIZE, 'lmdb size')
      await db.close()
      return { write, readWhole }
    },
  }
}

if (!Sqlite.missing) {
  const isNodeSqlite = sqliteName === 'node:sqlite'
  const openSqlite = (file) => {
    const db = new Sqlite(file)
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;')
    return db
  }
  engines[sqliteName] = {
    async k(dir) {
      const file = path.join(dir, 'k.sqlite')
      let db = openSqlite(file)
      db.exec('CREATE TABLE kv (key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID')
      const ins = db.prepare('INSERT INTO kv (key, value) VALUES (?, ?)')
      let t = now()
      db.exec('BEGIN')
      for (let i = 0; i < N; i++) ins.run(keys[i], values[i])
      db.exec('COMMIT')
      const put = N / secs(t)
      const gets = () => {
        const sel = db.prepare('SELECT value FROM kv WHERE key = ?')
        const t0 = now()
        let n = 0
        for (const k of getOrder) n += sel.get(k).value.length
        const r = N / secs(t0)
        check(n === N * VALUE_SIZE, 'sqlite gets')
        return r
      }
      const get = gets()
      t = now()
      let c = 0
      const range = db.prepare('SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key')
      for (const _ of range.iterate(scanPrefix, scanEnd)) c++
      const scan = c / secs(t)
      check(c === expectedScan, `sqlite scan ${c}`)
      db.close()
      db = openSqlite(file)
      const getReopen = gets()
      db.close()
      return { put, get, getReopen, scan }
    },
    async s(dir) {
      const db = openSqlite(path.join(dir, 's.sqlite'))
      db.exec('CREATE TABLE docs (id INTEGER PRIMARY KEY, data BLOB)')
      let t = now()
      db.prepare('INSERT INTO docs (id, data) VALUES (1, ?)').run(doc)
      const write = S_SIZE / secs(t)
      t = now()
      const row = db.prepare('SELECT data FROM docs WHERE id = 1').get()
      const readWhole = S_SIZE / secs(t)
      check(row.data.length === S_SIZE, 'sqlite size')
      db.close()
      return { write, readWhole }
    },
  }
  if (isNodeSqlite) engines[sqliteName].note = 'node:sqlite (better-sqlite3 could not be built)'
}

function memcpy() {
  const dst = Buffer.allocUnsafe(S_SIZE)
  doc.copy(dst) // fault the pages in
  const t = now()
  doc.copy(dst)
  return S_SIZE / secs(t)
}

// ------------------------------------------------------------------ run

if (process.argv[2] === '--child') {
  const [, , , workload, name, dir] = process.argv
  const e = engines[name]
  let out
  if (workload === 'k') {
    makeK()
    out = await e.k(dir)
  } else {
    makeS()
    out = await e.s(dir)
    if (name === 'buffdb') out.memcpy = memcpy()
  }
  process.stdout.write(`\n${JSON.stringify(out)}\n`)
  process.exit(0)
}

const { spawnSync } = await import('node:child_process')
const self = new URL(import.meta.url).pathname

function child(workload, name, dir) {
  const r = spawnSync(process.execPath, [self, '--child', workload, name, dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 })
  if (r.status !== 0) throw new Error(`${name} ${workload} failed (status ${r.status})`)
  return JSON.parse(r.stdout.trim().split('\n').pop())
}

const results = {}
for (const name of Object.keys(engines)) results[name] = {}
const memcpys = []

for (let round = 0; round < ROUNDS; round++) {
  for (const name of Object.keys(engines)) {
    const dir = fs.mkdtempSync(path.join(baseDir, `${name}-`))
    const k = child('k', name, dir)
    const s = child('s', name, dir)
    if (s.memcpy) memcpys.push(s.memcpy)
    delete s.memcpy
    for (const [m, v] of Object.entries({ ...k, ...s })) (results[name][m] ||= []).push(v)
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
fs.rmSync(baseDir, { recursive: true, force: true })

const med = {}
for (const [name, r] of Object.entries(results)) {
  med[name] = {}
  for (const [m, xs] of Object.entries(r)) med[name][m] = median(xs)
}
const memcpyRate = median(memcpys)

const rows = [
  ['K put (one batch of 100,000), ops/s', 'put', 'ops'],
  ['K get, random, after the puts, ops/s', 'get', 'ops'],
  ['K get, random, after reopen, ops/s', 'getReopen', 'ops'],
  ['K prefix scan (10,000 keys), keys/s', 'scan', 'ops'],
  ['S write 256 MiB (Writable / put), GB/s', 'write', 'gb'],
  ['S write + checkpoint (buffdb), GB/s', 'writeSettled', 'gb'],
  ['S read through Readable, first read after the write, GB/s', 'readStream', 'gb'],
  ['S read through Readable, second read, GB/s', 'readStreamWarm', 'gb'],
  ['S read, readInto reused 1 MiB buffer, GB/s', 'readInto', 'gb'],
  ['S read whole document, GB/s', 'readWhole', 'gb'],
]

const fmt = (v, kind) => {
  if (v === undefined) return '—'
  if (kind === 'gb') return (v / 1e9).toFixed(2)
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M`
  return `${(v / 1e3).toFixed(0)} k`
}

const names = Object.keys(engines)
const header = ['workload', ...names, 'buffdb / lmdb-js']
const lines = []
lines.push(`| ${header.join(' | ')} |`)
lines.push(`|${header.map(() => '---').join('|')}|`)
for (const [label, key, kind] of rows) {
  const cells = names.map((n) => fmt(med[n][key], kind))
  const b = med.buffdb?.[key]
  const l = med['lmdb-js']?.[key]
  const ratio = b !== undefined && l !== undefined ? `${(b / l).toFixed(2)}×` : '—'
  lines.push(`| ${label} | ${cells.join(' | ')} | ${ratio} |`)
}
lines.push(`| memcpy of the same 256 MiB, GB/s | ${names.map((n) => (n === 'buffdb' ? (memcpyRate / 1e9).toFixed(2) : '')).join(' | ')} | |`)

function pkgVersion(name) {
  try {
    let dir = path.dirname(require.resolve(name))
    while (!fs.existsSync(path.join(dir, 'package.json')) || JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name !== name) {
      const up = path.dirname(dir)
      if (up === dir) return '?'
      dir = up
    }
    return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version
  } catch {
    return '?'
  }
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
console.log(`BuffDB Node benchmark — node ${process.version}, ${os.platform()} ${os.arch()}, ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`)
console.log(`buffdb ${buffdb.version()}; lmdb ${lmdb.missing ? `missing (${lmdb.missing})` : pkgVersion('lmdb')}; ${sqliteName} ${Sqlite.missing ? `missing (${Sqlite.missing})` : sqliteName === 'better-sqlite3' ? pkgVersion('better-sqlite3') : process.versions.sqlite ?? ''}`)
console.log(`median of ${ROUNDS} rounds; buffdb: defaults (durability normal, checksums on, 1 MiB chunks); lmdb-js: defaults, binary encoding, putSync in one transactionSync; ${sqliteName}: WAL, synchronous NORMAL, one transaction of prepared inserts`)
console.log(`buffdb stream read through Readable = ${((med.buffdb.readStream / memcpyRate) || 0).toFixed(2)}× memcpy (target ≥ 0.5×, ≥ 1.5 GB/s)`)
console.log()
console.log(lines.join('\n'))
