'use strict'
// The shared JSON cases (tests/cases/*.json, see its README) through the Node
// API, as tests/shared_cases.rs runs them in Rust: on the database; with each run
// of database steps inside a transaction, committed (the same results); and inside
// a transaction, rolled back (nothing visible afterwards; the steps are then
// replayed on the database so the case goes on). Each of the three once with the
// sync methods and once with the Promise methods, on a plaintext database and on an
// encrypted one (every open of the case keyed).

const { test, describe } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const { tmpDir } = require('./helpers.js')
const buffdb = require('..')

const casesDir = process.env.BUFFDB_CASES_DIR || path.resolve(__dirname, '..', '..', 'tests', 'cases')
// pending/: the cases of operations not every binding has yet (see its README).
const pendingDir = path.join(casesDir, 'pending')
const jsonIn = (dir) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => path.join(dir, f)) : [])
const files = [...jsonIn(casesDir), ...jsonIn(pendingDir)]

const isSpec = (x) => x !== null && typeof x === 'object' && !Array.isArray(x) && ('hex' in x || ('repeat' in x && 'times' in x))

// A value that is not a bytes spec (a number, a boolean: the wrong-type steps) goes to
// the API as it is.
function bytes(x) {
  if (x === null || x === undefined) return x
  if (typeof x === 'string') return Buffer.from(x, 'utf8')
  if (isSpec(x)) return 'hex' in x ? Buffer.from(x.hex, 'hex') : Buffer.from(x.repeat.repeat(x.times), 'utf8')
  return x
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

// Text (paths, metadata) as a string; bytes that are not UTF-8 have no JS string, so
// they go in as a Buffer, which the API must refuse with INVALID_ARGUMENT.
function str(x) {
  const b = bytes(x)
  if (!Buffer.isBuffer(b)) return b
  try {
    return utf8.decode(b)
  } catch {
    return b
  }
}

// An integer: a JSON number, or {"int": "digits"} (past what a JSON number carries) as a BigInt.
const num = (x) => (x !== null && typeof x === 'object' && 'int' in x ? BigInt(x.int) : x)

const camel = (s) => s.replace(/_([a-z])/g, (_, c) => c.toUpperCase())

// The encrypted run's raw 32-byte key (raw: no key stretching on each open).
const caseKey = Buffer.from('shared cases, encrypted, 32 B...')

function optionsOf(o, key) {
  const out = {}
  for (const [k, v] of Object.entries(o || {})) out[camel(k)] = num(v)
  if (key) out.encryptionKey = key
  return out
}

function matches(actual, expected) {
  if (expected === null) return actual === null || actual === undefined
  if (Buffer.isBuffer(actual)) {
    if (typeof expected === 'string' || isSpec(expected)) return actual.equals(bytes(expected))
    return false
  }
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => matches(actual[i], e))
  }
  if (typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') return false
    // (model records keep their stored snake_case field names)
    return Object.entries(expected).every(([k, v]) => matches(camel(k) in actual ? actual[camel(k)] : actual[k], v))
  }
  if (typeof actual === 'bigint') return actual === BigInt(expected)
  return actual === expected
}

const show = (x) =>
  JSON.stringify(x, (_k, v) => (v && v.type === 'Buffer' && Array.isArray(v.data) ? `<${Buffer.from(v.data).toString('hex')}>` : typeof v === 'bigint' ? `${v}n` : v))

/** The ops on the case's handle and files: close, reopen, open, write_file, read_file. */
async function fileOp(c, s, mode) {
  // A database path of `open`: relative to the case's directory; "" stays "".
  const at = (p) => (str(p) === '' ? '' : path.join(c.dir, str(p)))
  switch (s.op) {
    case 'close': return mode === 'sync' ? c.db.close() : await c.db.closeAsync()
    case 'reopen':
      c.db.close()
      c.db = mode === 'sync' ? buffdb.open(c.file, optionsOf(s.options, c.key)) : await buffdb.openAsync(c.file, optionsOf(s.options, c.key))
      return undefined
    case 'open': {
      const other = mode === 'sync' ? buffdb.open(at(s.path), optionsOf(s.options, c.key)) : await buffdb.openAsync(at(s.path), optionsOf(s.options, c.key))
      other.close()
      return undefined
    }
    case 'write_file': fs.writeFileSync(at(s.path), bytes(s.data)); return undefined
    case 'read_file': return fs.existsSync(at(s.path)) ? fs.readFileSync(at(s.path)) : null
  }
  return undefined
}

const fileOps = new Set(['close', 'reopen', 'open', 'write_file', 'read_file'])

/** `$name` (and lists of them: the blob ids an index finds) as the value saved under that name. */
function subst(x, vars) {
  if (typeof x === 'string' && x.startsWith('$') && x.slice(1) in vars) return vars[x.slice(1)]
  if (Array.isArray(x)) return x.map((e) => subst(e, vars))
  return x
}

/** Runs one step on `txn`, or on the database when `txn` is null; `mode` is 'sync' or 'async'. */
async function run(c, txn, step, vars, mode) {
  const db = c.db
  const sub = (x) => subst(x, vars)
  const s = {}
  for (const [k, v] of Object.entries(step)) s[k] = k === 'steps' || k === 'after' ? v : sub(v)
  if (fileOps.has(s.op)) return fileOp(c, s, mode)
  const target = txn || db
  const call = async (name, ...args) => {
    if (mode === 'sync') return target[name](...args)
    return await target[`${name}Async`](...args)
  }
  const iter = async (it) => (mode === 'sync' ? it.toArray() : await it.toArrayAsync())
  const range = () => {
    const o = {}
    if (s.start_after !== undefined) o.startAfter = s.op === 'search' ? str(s.start_after) : bytes(s.start_after)
    if (s.limit !== undefined) o.limit = num(s.limit)
    return o
  }
  switch (s.op) {
    case 'put': return call('put', bytes(s.key), bytes(s.value))
    case 'get': return call('get', bytes(s.key))
    case 'delete': return call('delete', bytes(s.key))
    case 'contains': return call('has', bytes(s.key))
    case 'count': return call('count', bytes(s.prefix))
    case 'put_many': return call('putMany', s.pairs.map(([k, v]) => [bytes(k), bytes(v)]))
    case 'get_many': return call('getMany', s.keys.map(bytes))
    case 'eq': return call('eq', s.keys.map(bytes))
    case 'not_eq': return call('notEq', s.keys.map(bytes))
    case 'scan': return iter(target.scan(bytes(s.prefix), range()))
    case 'keys': return iter(target.keys(bytes(s.prefix), range()))
    case 'blob_put': return call('blobPut', bytes(s.data), str(s.metadata))
    case 'blob_get': return call('blobGet', num(s.id))
    case 'blob_metadata': return call('blobMetadata', num(s.id))
    case 'blob_update': {
      const u = {}
      if ('data' in s) u.data = bytes(s.data)
      if ('metadata' in s) u.metadata = str(s.metadata)
      return call('blobUpdate', num(s.id), u)
    }
    case 'blob_delete': return call('blobDelete', num(s.id))
    case 'blob_eq': return call('blobEq', s.ids.map(num))
    case 'blob_not_eq': return call('blobNotEq', s.ids.map(num))
    case 'stream_write':
      if ('metadata' in s) return call('streamWrite', str(s.path), bytes(s.data), { metadata: str(s.metadata) })
      return call('streamWrite', str(s.path), bytes(s.data))
    case 'stream_set_metadata': return call('streamSetMetadata', str(s.path), str(s.metadata))
    case 'stream_versions_metadata': return (await call('streamVersions', str(s.path))).map((i) => i.metadata)
    case 'stream_read': return call('streamRead', str(s.path))
    case 'stream_read_range': return call('streamReadRange', str(s.path), num(s.offset), num(s.len))
    case 'stream_read_version': {
      const v = { version: num(s.version) }
      const r = mode === 'sync' ? target.streamOpen(str(s.path), v) : await target.streamOpenAsync(str(s.path), v)
      try {
        return mode === 'sync' ? r.read(r.size) : await r.readAsync(r.size)
      } finally {
        r.close()
      }
    }
    case 'stream_stat': return call('streamStat', str(s.path))
    case 'stream_versions': return (await call('streamVersions', str(s.path))).map((i) => i.version)
    case 'stream_delete': return call('streamDelete', str(s.path))
    case 'search': return iter(target.search(str(s.prefix), range()))
    case 'create_index': {
      const o = {}
      if ('unique' in s) o.unique = s.unique
      if ('key_prefix' in s) o.keyPrefix = bytes(s.key_prefix)
      return call('createIndex', str(s.name), str(s.source), str(s.json_path), o)
    }
    case 'drop_index': return call('dropIndex', str(s.name))
    case 'list_indexes': return call('listIndexes')
    case 'find': return iter(target.find(str(s.name), s.value))
    case 'find_range': {
      // A null bound in a case is no bound; start_after names its record as key, blob or path.
      const o = {}
      if (s.low != null) o.low = s.low
      if (s.high != null) o.high = s.high
      if (s.reverse !== undefined) o.reverse = s.reverse
      if (s.limit !== undefined) o.limit = num(s.limit)
      if (s.start_after !== undefined) {
        const a = s.start_after
        const record = 'key' in a ? bytes(a.key) : 'blob' in a ? num(sub(a.blob)) : str(a.path)
        o.startAfter = { value: a.value, record }
      }
      return (await iter(target.findRange(str(s.name), o))).map((e) => e.record)
    }
    case 'search_count': return call('searchCount', str(s.prefix))
    case 'model_register': {
      const files = Object.fromEntries(Object.entries(s.files || {}).map(([n, d]) => [n, bytes(d)]))
      return call('modelRegister', s.name, s.version, files, s.info)
    }
    case 'model_get': return call('modelGet', s.name, s.version)
    case 'model_resolve': return call('modelResolve', s.name, s.version)
    case 'model_names': return call('modelNames')
    case 'model_versions': return (await call('modelVersions', s.name)).map((r) => r.version)
    case 'model_delete': return call('modelDelete', s.name, s.version)
    case 'model_aliases': return Object.entries(await call('modelAliases', s.name)).sort()
    case 'model_set_alias': return call('modelSetAlias', s.name, s.alias, s.version)
    case 'model_read': {
      const r = mode === 'sync' ? target.modelOpen(s.name, s.version, s.file) : await target.modelOpenAsync(s.name, s.version, s.file)
      try {
        if (s.offset !== undefined) r.seek(num(s.offset))
        const n = Math.max(0, Math.min(s.len === undefined ? r.size : num(s.len), r.size - r.tell()))
        return mode === 'sync' ? r.read(n) : await r.readAsync(n)
      } finally {
        r.close()
      }
    }
    case 'query': return (await call('query', s.sql, s.params)).rows
    case 'txn': {
      const t = mode === 'sync' ? db.begin() : await db.beginAsync()
      try {
        for (const inner of s.steps) await step_(c, t, inner, vars, mode)
      } catch (err) {
        t.rollback()
        throw err
      }
      if (s.commit) {
        if (mode === 'sync') t.commit()
        else await t.commitAsync()
      } else if (mode === 'sync') t.rollback()
      else await t.rollbackAsync()
      for (const inner of s.after || []) await step_(c, t, inner, vars, mode) // on the finished transaction
      return undefined
    }
    default:
      throw new Error(`unknown op ${s.op}`)
  }
}

async function step_(c, txn, step, vars, mode) {
  if (step.op === 'comment') return
  const where = `${mode} ${show(step).slice(0, 200)}`
  if (step.error) {
    let thrown = null
    try {
      await run(c, txn, step, vars, mode)
    } catch (err) {
      thrown = err
    }
    assert.ok(thrown, `${where}: expected error ${step.error}, got success`)
    assert.ok(thrown instanceof Error, `${where}: not an Error`)
    assert.equal(thrown.code, step.error, `${where}: ${thrown.message}`)
    return
  }
  const result = await run(c, txn, step, vars, mode)
  if ('expect' in step) {
    assert.ok(matches(result, subst(step.expect, vars)), `${where}: got ${show(result)}`)
  }
  if (step.save) vars[step.save] = result
}

/** Ops on the handle or its files, and `txn` (a transaction of its own): never inside one. */
const handleOps = new Set(['comment', ...fileOps, 'txn'])

const digest = (b) => crypto.createHash('sha256').update(b).digest('hex')

/** Everything the database holds, as the API shows it (or the error that stops it). */
function fingerprint(db) {
  try {
    const kv = db.scan('').toArray().map(([k, v]) => [k.toString('hex'), digest(v)])
    const blobs = db.blobIds().map((id) => [id, db.blobMetadata(id), digest(db.blobGet(id))])
    const streams = []
    for (const p of db.search('')) {
      for (const { version } of db.streamVersions(p)) {
        const r = db.streamOpen(p, { version })
        streams.push([p, version, r.info.metadata, digest(r.read(r.size))])
        r.close()
      }
    }
    const indexes = db.listIndexes().map((i) => ({ ...i, keyPrefix: i.keyPrefix && i.keyPrefix.toString('hex') }))
    const entries = db.query('SELECT name, value, quote(record) FROM index_entries ORDER BY 1, 2, 3').rows
    return JSON.stringify({ kv, blobs, streams, indexes, entries }, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))
  } catch (err) {
    return `error ${err.code}`
  }
}

/** A run of database steps, on the database or in a transaction as `way` says. */
async function segment(c, steps, way, vars, mode) {
  const onDb = async () => {
    for (const step of steps) await step_(c, null, step, vars, mode)
  }
  if (way === 'db') return onDb()
  let txn
  try {
    txn = mode === 'sync' ? c.db.begin() : await c.db.beginAsync()
  } catch {
    // A handle that cannot begin (read-only, closed) has no transactions: the steps
    // test the database itself.
    return onDb()
  }
  const before = fingerprint(c.db)
  try {
    for (const step of steps) await step_(c, txn, step, vars, mode)
  } finally {
    if (txn.active) {
      if (way === 'commit') {
        if (mode === 'sync') txn.commit()
        else await txn.commitAsync()
      } else if (mode === 'sync') txn.rollback()
      else await txn.rollbackAsync()
    }
  }
  if (way === 'rollback') {
    assert.equal(fingerprint(c.db), before, `rolled back steps left changes (${steps.length} steps)`)
    // The case goes on from the state the steps make.
    await onDb()
  }
}

async function runCase(spec, way, mode, key) {
  const dir = tmpDir()
  const file = path.join(dir, 'case.bdb')
  const c = { dir, file, key, db: buffdb.open(file, optionsOf(spec.options, key)) }
  try {
    const vars = {}
    const steps = spec.steps
    for (let i = 0; i < steps.length; ) {
      if (handleOps.has(steps[i].op)) {
        await step_(c, null, steps[i], vars, mode)
        i++
        continue
      }
      let end = i
      while (end < steps.length && !handleOps.has(steps[end].op)) end++
      await segment(c, steps.slice(i, end), way, vars, mode)
      i = end
    }
    c.db.close()
    if (key) assert.ok(!fs.readFileSync(file).subarray(0, 15).equals(Buffer.from('SQLite format 3')), 'the encrypted run left a plaintext file')
  } finally {
    c.db.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

for (const file of files) {
  const spec = JSON.parse(fs.readFileSync(file, 'utf8'))
  describe(`case ${path.relative(casesDir, file)}: ${spec.name}`, () => {
    for (const way of ['db', 'commit', 'rollback']) {
      for (const mode of ['sync', 'async']) {
        test(`${way}, ${mode}`, () => runCase(spec, way, mode))
        const skip = !buffdb.encryptionAvailable() && 'this build has no encryption (cargo feature)'
        test(`${way}, ${mode}, encrypted`, { skip }, () => runCase(spec, way, mode, caseKey))
      }
    }
  })
}
