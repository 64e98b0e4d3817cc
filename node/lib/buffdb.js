'use strict'
// BuffDB for Node.js: the thin JS layer over the napi-rs addon (found by ./native.js).
//
// The native classes (Db, Txn, Reader, StreamWriter) carry every operation as a
// sync method and a Promise method (`...Async`, run on the libuv pool); Db and
// Txn carry the same operations. This file only adds what is JS-specific, once
// for both (class Ops): iterators and async iterators over the lazy
// engine iterators, Node `Readable`/`Writable` streams, and `db.transaction(fn)`.
// Types and docs: buffdb.d.ts.

const { Readable, Writable } = require('node:stream')
const { pipeline } = require('node:stream/promises')
const native = require('./native.js')

const { Db, Txn, Reader, StreamWriter } = native

/** Items pulled from the engine per native call. */
const BATCH = 1024

/**
 * An `Error` with `.code` set, like the ones the addon throws.
 * @param {string} code
 * @param {string} message
 */
function makeError(code, message) {
  const err = new Error(`${code}: ${message}`)
  err.code = code
  return err
}

function invalid(message) {
  return makeError('INVALID_ARGUMENT', message)
}

function isBytes(x) {
  return typeof x === 'string' || ArrayBuffer.isView(x)
}

// ------------------------------------------------------------------ iterators

/**
 * A lazy iterator over an engine iterator: iterate it with `for...of` (pulls
 * batches on the JS thread) or `for await...of` (pulls batches on the libuv
 * pool). Items are `[key, value]` for scan, keys for keys, paths for search,
 * records (keys, blob ids or paths) for find, `{ value, record }` for findRange.
 */
class DbIterator {
  #native
  #kind
  #owner
  #buf = EMPTY
  #pos = 0
  #done = false

  /**
   * @param {'pairs' | 'keys' | 'items'} kind
   * @param {Txn | null} owner the transaction it reads in, if any
   */
  constructor(nativeIter, kind, owner) {
    this.#native = nativeIter
    this.#kind = kind
    this.#owner = owner
  }

  // Rows already pulled are the transaction's too: once it has ended they are
  // dropped and the next call fails with CLOSED (once, as the engine's does).
  #checkOwner() {
    if (this.#owner !== null && !this.#owner.active && !this.#done) {
      this.return()
      throw makeError('CLOSED', 'the transaction of this iterator has been committed or rolled back')
    }
  }

  // Pairs and keys arrive packed in one Buffer per batch (u32 LE length +
  // bytes each); keys and values are views into it. Other items arrive as an array.
  #take() {
    const buf = this.#buf
    if (this.#kind === 'items') return { done: false, value: buf[this.#pos++] }
    let p = this.#pos
    const kl = buf.readUInt32LE(p)
    p += 4
    const key = buf.subarray(p, p + kl)
    p += kl
    if (this.#kind === 'keys') {
      this.#pos = p
      return { done: false, value: key }
    }
    const vl = buf.readUInt32LE(p)
    p += 4
    const value = buf.subarray(p, p + vl)
    this.#pos = p + vl
    return { done: false, value: [key, value] }
  }

  #fill(batch) {
    this.#buf = batch
    this.#pos = 0
    if (batch.length === 0) this.#done = true
  }

  /** Next item (sync). */
  next() {
    this.#checkOwner()
    if (this.#pos >= this.#buf.length) {
      if (this.#done) return { done: true, value: undefined }
      this.#fill(this.#native._next(BATCH))
      if (this.#done) return { done: true, value: undefined }
    }
    return this.#take()
  }

  /** Stop early; releases the engine iterator. */
  return(value) {
    this.#done = true
    this.#buf = EMPTY
    this.#pos = 0
    this.#native._close()
    return { done: true, value }
  }

  [Symbol.iterator]() {
    return this
  }

  [Symbol.asyncIterator]() {
    const self = this
    return {
      async next() {
        self.#checkOwner()
        if (self.#pos >= self.#buf.length) {
          if (self.#done) return { done: true, value: undefined }
          self.#fill(await self.#native._nextAsync(BATCH))
          if (self.#done) return { done: true, value: undefined }
        }
        return self.#take()
      },
      async return(value) {
        return self.return(value)
      },
      [Symbol.asyncIterator]() {
        return this
      },
    }
  }

  /** Every remaining item, as an array (sync). */
  toArray() {
    return Array.from(this)
  }

  /** Every remaining item, as an array (batches pulled on the libuv pool). */
  async toArrayAsync() {
    const out = []
    for await (const item of this) out.push(item)
    return out
  }
}

const EMPTY = Buffer.alloc(0)

function toPairs(pairs) {
  if (Array.isArray(pairs)) return pairs
  if (pairs != null && typeof pairs[Symbol.iterator] === 'function') return Array.from(pairs)
  if (pairs != null && typeof pairs === 'object') return Object.entries(pairs)
  throw invalid('pairs must be an array of [key, value], a Map or an iterable of pairs')
}

// -------------------------------------------------------------------- streams

/** A model's files (an object or a Map of file name -> data) as `[name, data]` pairs. */
function fileEntries(files) {
  if (files == null) return undefined
  if (files instanceof Map) return [...files]
  if (typeof files !== 'object' || Array.isArray(files) || isBytes(files)) {
    throw invalid('files must be an object or a Map of file name -> data')
  }
  return Object.entries(files)
}

/** The extra record fields of `modelRegister` as JSON text (`undefined` for none). */
function recordFields(info) {
  if (info == null) return undefined
  if (typeof info !== 'object' || Array.isArray(info)) throw invalid('info must be an object of record fields')
  return JSON.stringify(info)
}

function rangeOptions(options, allowed) {
  if (options == null) return {}
  if (typeof options !== 'object') throw invalid('options must be an object')
  for (const k of Object.keys(options)) {
    if (!allowed.includes(k)) throw invalid(`unknown option ${JSON.stringify(k)} (known: ${allowed.join(', ')})`)
  }
  for (const k of ['start', 'end', 'highWaterMark', 'version']) {
    const v = options[k]
    if (v === undefined) continue
    if (typeof v !== 'number' || !(v >= 0) || (!Number.isInteger(v) && v !== Infinity)) {
      throw invalid(`options.${k} must be a non-negative integer`)
    }
  }
  if (options.highWaterMark === 0) throw invalid('options.highWaterMark must be positive')
  if (options.start !== undefined && options.end !== undefined && options.end < options.start) {
    throw invalid('options.end must be >= options.start')
  }
  return options
}

const DEFAULT_READ_SIZE = 1 << 20

/**
 * A `Readable` over a blob or a stream version. `start`/`end` are byte offsets,
 * `end` inclusive (as in `fs.createReadStream`). Each read fills a new Buffer on
 * the libuv pool, so the event loop keeps running; the next chunk is read while the
 * consumer handles the last one.
 */
class BuffDBReadStream extends Readable {
  #open
  #reader = null
  #pos
  #end
  #readSize
  /** The read of the next chunk, started when the last one arrived. */
  #ahead = null

  constructor(open, options) {
    const { start = 0, end = Infinity, highWaterMark = DEFAULT_READ_SIZE } = options
    super({ highWaterMark: highWaterMark * 2 })
    this.#open = open
    this.#pos = start
    this.#end = end
    this.#readSize = highWaterMark
    /** Bytes pushed so far. */
    this.bytesRead = 0
  }

  /** The reader (after 'open'/'ready'). */
  get reader() {
    return this.#reader
  }

  _construct(callback) {
    this.#open().then(
      (reader) => {
        this.#reader = reader
        try {
          if (this.#pos > 0) reader.seek(this.#pos)
        } catch (err) {
          callback(err)
          return
        }
        this.emit('open', reader)
        callback()
      },
      (err) => callback(err),
    )
  }

  _read() {
    const next = this.#ahead ?? this.#fetch()
    this.#ahead = null
    if (next === null) {
      this.push(null)
      return
    }
    next.chunk.then(
      (buf) => {
        if (this.destroyed) return
        if (buf.length === 0) {
          this.push(null)
          return
        }
        this.#pos -= next.size - buf.length
        this.bytesRead += buf.length
        // The next read starts before this chunk is handed on, so the pool fills it
        // while the consumer handles this one (one chunk ahead at most).
        this.#ahead = this.#fetch()
        this.push(buf)
      },
      (err) => this.destroy(err),
    )
  }

  /** Starts the read of the next chunk (`null` at the end). */
  #fetch() {
    const left = this.#end === Infinity ? Infinity : this.#end - this.#pos + 1
    const size = Math.min(this.#readSize, left, Math.max(0, this.#reader.size - this.#pos))
    if (size <= 0) return null
    this.#pos += size
    // The pool fills a Buffer of V8's own (no copy, no zeroing): V8 frees it when the
    // consumer lets it go, and its memory is reused for the chunks that follow.
    const buf = Buffer.allocUnsafe(size)
    const chunk = this.#reader
      .readIntoAsync(buf)
      .then((got) => (got === size ? buf : Buffer.from(buf.subarray(0, got))))
    // A read ahead may fail after the stream was destroyed, with nobody to take it.
    chunk.catch(() => {})
    return { chunk, size }
  }

  _destroy(err, callback) {
    if (this.#reader) {
      try {
        this.#reader.close()
      } catch {
        // already closed
      }
    }
    callback(err)
  }
}

/**
 * A `Writable` that writes one new stream version: writes go to the libuv pool,
 * the version is committed before 'finish' is emitted (`.info` then holds its
 * StreamInfo, also emitted as 'commit'), and `destroy()` before that aborts it.
 */
class BuffDBWriteStream extends Writable {
  #open
  #writer = null

  constructor(open, options) {
    super({ highWaterMark: options.highWaterMark ?? DEFAULT_READ_SIZE, decodeStrings: true })
    this.#open = open
    /** Bytes written so far. */
    this.bytesWritten = 0
    /** The committed version's info, once 'finish' has been emitted. */
    this.info = null
  }

  _construct(callback) {
    this.#open().then(
      (writer) => {
        this.#writer = writer
        callback()
      },
      (err) => callback(err),
    )
  }

  _write(chunk, _encoding, callback) {
    this.#writer.writeAsync(chunk).then(() => {
      this.bytesWritten += chunk.length
      callback()
    }, callback)
  }

  _writev(chunks, callback) {
    const bufs = chunks.map((c) => c.chunk)
    this.#writer._writevAsync(bufs).then(() => {
      for (const b of bufs) this.bytesWritten += b.length
      callback()
    }, callback)
  }

  _final(callback) {
    this.#writer.commitAsync().then((info) => {
      this.info = info
      this.emit('commit', info)
      callback()
    }, callback)
  }

  _destroy(err, callback) {
    const w = this.#writer
    if (w && w.active) {
      w.abortAsync().then(
        () => callback(err),
        () => callback(err),
      )
    } else {
      callback(err)
    }
  }
}

// ---------------------------------------------------------------- operations

// `get` copies small values through one scratch Buffer: a number crosses the
// native boundary instead of a new Buffer (allocating one natively costs more
// than the lookup), then the bytes are copied into a pooled `Buffer.allocUnsafe`.
const SCRATCH_SIZE = 64 * 1024
const scratch = Buffer.allocUnsafeSlow(SCRATCH_SIZE)
native._setScratch(scratch)

/**
 * The JS half of every operation, shared by `Db` and `Txn` (each native class
 * carries the same native operations): on a `Txn` they run inside the
 * transaction, and what they open (iterators, readers, writers, streams) works
 * inside it and fails with `CLOSED` once it ends.
 */
class Ops {
  get(key) {
    const n = this._getScratch(key)
    if (n >= 0) {
      const out = Buffer.allocUnsafe(n)
      scratch.copy(out, 0, 0, n)
      return out
    }
    return n === -1 ? undefined : this._get(key)
  }

  scan(prefix, options) {
    return new DbIterator(this._scan(prefix, options), 'pairs', this[OWNER])
  }

  keys(prefix, options) {
    return new DbIterator(this._keys(prefix, options), 'keys', this[OWNER])
  }

  search(prefix, options) {
    return new DbIterator(this._search(prefix, options), 'items', this[OWNER])
  }

  find(name, value) {
    return new DbIterator(this._find(name, value), 'items', this[OWNER])
  }

  findRange(name, options) {
    return new DbIterator(this._findRange(name, options), 'items', this[OWNER])
  }

  putMany(pairs) {
    return this._putMany(toPairs(pairs))
  }

  putManyAsync(pairs) {
    try {
      return this._putManyAsync(toPairs(pairs))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  async streamWriteAsync(path, data, options) {
    if (data != null && !isBytes(data) && (typeof data.pipe === 'function' || typeof data[Symbol.asyncIterator] === 'function' || typeof data[Symbol.iterator] === 'function')) {
      const ws = this.createWriteStream(path, options)
      await pipeline(data, ws)
      return ws.info
    }
    return this._streamWriteAsync(path, data, options)
  }

  createReadStream(path, options) {
    const opts = rangeOptions(options, ['start', 'end', 'version', 'highWaterMark'])
    const version = opts.version
    return new BuffDBReadStream(() => this.streamOpenAsync(path, version === undefined ? undefined : { version }), opts)
  }

  // ---- model registry (records are the stored JSON: the earlier BuffDB's field names)

  modelRegister(name, version, files, info) {
    return JSON.parse(this._modelRegister(name, version, fileEntries(files), recordFields(info)))
  }

  async modelRegisterAsync(name, version, files, info) {
    return JSON.parse(await this._modelRegisterAsync(name, version, fileEntries(files), recordFields(info)))
  }

  modelGet(name, version = 'latest') {
    return JSON.parse(this._modelGet(name, version))
  }

  async modelGetAsync(name, version = 'latest') {
    return JSON.parse(await this._modelGetAsync(name, version))
  }

  modelLatest(name) {
    return this.modelGet(name, 'latest')
  }

  modelLatestAsync(name) {
    return this.modelGetAsync(name, 'latest')
  }

  modelVersions(name) {
    return JSON.parse(this._modelVersions(name))
  }

  async modelVersionsAsync(name) {
    return JSON.parse(await this._modelVersionsAsync(name))
  }

  modelAliases(name) {
    return JSON.parse(this._modelAliases(name))
  }

  async modelAliasesAsync(name) {
    return JSON.parse(await this._modelAliasesAsync(name))
  }

  modelSetAlias(name, alias, version) {
    return this._modelSetAlias(name, alias, version ?? undefined)
  }

  modelSetAliasAsync(name, alias, version) {
    return this._modelSetAliasAsync(name, alias, version ?? undefined)
  }

  createModelReadStream(name, version, file, options) {
    const opts = rangeOptions(options, ['start', 'end', 'highWaterMark'])
    return new BuffDBReadStream(() => this.modelOpenAsync(name, version, file), opts)
  }

  createBlobReadStream(id, options) {
    const opts = rangeOptions(options, ['start', 'end', 'highWaterMark'])
    return new BuffDBReadStream(() => this.blobOpenAsync(id), opts)
  }

  createWriteStream(path, options) {
    if (options != null && typeof options !== 'object') throw invalid('options must be an object')
    const { highWaterMark, ...rest } = options ?? {}
    if (highWaterMark !== undefined && (!Number.isInteger(highWaterMark) || highWaterMark <= 0)) {
      throw invalid('options.highWaterMark must be a positive integer')
    }
    return new BuffDBWriteStream(() => this.streamWriterAsync(path, rest), { highWaterMark })
  }
}

/** The transaction an iterator reads in (null for a database, whose iterators the engine ends). */
const OWNER = Symbol('owner')

/** What only a database has: transactions. */
class DbOnly {
  get [OWNER]() {
    return null
  }

  transaction(fn) {
    if (typeof fn !== 'function') throw invalid('transaction(fn): fn must be a function')
    const txn = this.begin()
    let result
    try {
      result = fn(txn)
    } catch (err) {
      if (txn.active) txn.rollback()
      throw err
    }
    if (result != null && typeof result.then === 'function') {
      return Promise.resolve(result).then(
        (value) => {
          if (txn.active) txn.commit()
          return value
        },
        (err) => {
          if (txn.active) txn.rollback()
          throw err
        },
      )
    }
    if (txn.active) txn.commit()
    return result
  }

  async transactionAsync(fn) {
    if (typeof fn !== 'function') throw invalid('transactionAsync(fn): fn must be a function')
    const txn = await this.beginAsync()
    let result
    try {
      result = await fn(txn)
    } catch (err) {
      if (txn.active) await txn.rollbackAsync()
      throw err
    }
    if (txn.active) await txn.commitAsync()
    return result
  }
}

class TxnOnly {
  get [OWNER]() {
    return this
  }
}

// ------------------------------------------------------------------- Reader

class ReaderMethods {
  async nextChunkAsync() {
    const chunk = await this._nextChunkAsync()
    return chunk.length === 0 ? null : chunk
  }

  *[Symbol.iterator]() {
    for (let c = this.nextChunk(); c !== null; c = this.nextChunk()) yield c
  }

  async *[Symbol.asyncIterator]() {
    for (let c = await this.nextChunkAsync(); c !== null; c = await this.nextChunkAsync()) yield c
  }
}

/** Puts the methods of the JS class `from` on the native class `to`. */
function mixin(to, from) {
  for (const name of Reflect.ownKeys(from.prototype)) {
    if (name === 'constructor') continue
    Object.defineProperty(to.prototype, name, { ...Object.getOwnPropertyDescriptor(from.prototype, name), configurable: true })
  }
}

mixin(Db, Ops)
mixin(Db, DbOnly)
mixin(Txn, Ops)
mixin(Txn, TxnOnly)
mixin(Reader, ReaderMethods)

// `using db = open(...)` (explicit resource management) where the runtime has it.
if (typeof Symbol.dispose === 'symbol') {
  Object.defineProperty(Db.prototype, Symbol.dispose, { value() { this.close() }, configurable: true })
  Object.defineProperty(Reader.prototype, Symbol.dispose, { value() { this.close() }, configurable: true })
  Object.defineProperty(StreamWriter.prototype, Symbol.dispose, {
    value() {
      if (this.active) this.abort()
    },
    configurable: true,
  })
  Object.defineProperty(Txn.prototype, Symbol.dispose, {
    value() {
      if (this.active) this.rollback()
    },
    configurable: true,
  })
}

// ---------------------------------------------------------------------- module

/**
 * Open (or create) a database file; `':memory:'` for a private in-memory one.
 * @returns {Db}
 */
function open(path, options) {
  return native.open(path, options)
}

/** `open()` on the libuv pool. */
function openAsync(path, options) {
  return native.openAsync(path, options)
}

const ErrorCodes = Object.freeze(native.errorCodes())
const { version, encryptionAvailable } = native

// Replication, restore and read replicas through Litestream (docs/replication.md):
// the addon's functions as they are.
const {
  replicate,
  replicateAsync,
  restore,
  restoreAsync,
  follow,
  followAsync,
  replicaPosition,
  Replication,
  Follower,
  rekey,
  rekeyAsync,
} = native

// Plain names only: Node's ESM loader reads this list to re-export it (buffdb.mjs).
module.exports = {
  open,
  openAsync,
  version,
  encryptionAvailable,
  ErrorCodes,
  Db,
  Txn,
  Reader,
  StreamWriter,
  DbIterator,
  BuffDBReadStream,
  BuffDBWriteStream,
  replicate,
  replicateAsync,
  restore,
  restoreAsync,
  follow,
  followAsync,
  replicaPosition,
  Replication,
  Follower,
  rekey,
  rekeyAsync,
}
