// Type-checked (not run) by types.test.js: the CommonJS typings cover the API.
import buffdb = require('buffdb')
import { Readable } from 'node:stream'

const db: buffdb.Db = buffdb.open(':memory:', { chunkSize: 4096, durability: 'full' })
const v: Buffer | undefined = db.get('k')
db.put('k', new Uint8Array([1]))
db.put(Buffer.from('k'), 'v')
const existed: boolean = db.delete('k')
const has: boolean = db.has('k')
const many: Array<Buffer | undefined> = db.getMany(['a', 'b'])
db.putMany([['a', '1'], ['b', Buffer.from('2')]])
db.putMany(new Map([['c', '3']]))
db.putMany({ d: '4' })
const n: number = db.count('a')
for (const [key, value] of db.scan('a', { startAfter: 'a', limit: 10 })) {
  const k: Buffer = key
  const val: Buffer = value
}
const keys: Buffer[] = db.keys().toArray()
const paths: string[] = [...db.search('/models/', { limit: 5 })]
const id: number = db.blobPut('data', 'meta')
const blob: Buffer | undefined = db.blobGet(id)
const meta: string | null = db.blobMetadata(id)
db.blobUpdate(id, { metadata: null })
const info: buffdb.StreamInfo = db.streamWrite('/a', 'x', { compression: true })
const r: buffdb.Reader = db.streamOpen('/a', { version: info.version })
const chunk: Buffer | null = r.nextChunk()
const got: number = r.readInto(Buffer.alloc(10))
r.close()
const w: buffdb.StreamWriter = db.streamWriter('/b')
w.write('x')
w.setMetadata('{"kind":"doc"}')
w.setMetadata(null)
const committed: buffdb.StreamInfo = w.commit()
const withMeta: string | null = db.streamWrite('/m', 'x', { metadata: '{"kind":"doc"}' }).metadata
const relabelled: buffdb.StreamInfo = db.streamSetMetadata('/m', null)
const metas: Array<string | null> = db.streamVersions('/m').map((i) => i.metadata)
const rs: Readable = db.createReadStream('/a', { start: 0, end: 9 })
const ws = db.createWriteStream('/c')
ws.on('finish', () => console.log(ws.info?.size))
const result: number = db.transaction((txn) => {
  txn.put('a', 'b')
  // Every operation is on a transaction too, with the same types.
  const pairs: Array<[Buffer, Buffer]> = txn.scan('a', { limit: 2 }).toArray()
  const tr: buffdb.Reader = txn.streamOpen('/a')
  const tw: buffdb.StreamWriter = txn.streamWriter('/t', { compression: false })
  const trs: Readable = txn.createBlobReadStream(id)
  const tq: buffdb.QueryResult = txn.query('SELECT count(*) FROM kv')
  return 1
})
// Code written once for a database or a transaction.
function putTwice(target: buffdb.Ops, key: string): number {
  target.put(key, '1')
  target.put(key, '2')
  return target.count(key)
}
putTwice(db, 'a')
db.transaction((txn) => putTwice(txn, 'b'))
const idx: buffdb.IndexInfo = db.createIndex('by_age', 'kv', '$.age', { unique: false, keyPrefix: 'user:' })
const idxs: buffdb.IndexInfo[] = db.listIndexes()
const dropped: boolean = db.dropIndex('by_age')
for (const rec of db.find('by_age', 30)) {
  const r2: buffdb.IndexRecord = rec
}
let lastEntry: buffdb.IndexEntry | undefined
for (const e of db.findRange('by_age', { low: 18, high: null, reverse: true, limit: 10, startAfter: lastEntry })) lastEntry = e
const src: buffdb.IndexSource = idx.source
const problems: string[] = db.check().indexProblems
db.transaction((txn) => txn.find('by_age', 'x').toArray())
const q: buffdb.QueryResult = db.query('SELECT ?', [1, 'a', null, 2n, true, Buffer.from('x')])
const code: number = buffdb.ErrorCodes.NOT_FOUND
try {
  db.get('')
} catch (e) {
  const err = e as buffdb.BuffDBError
  const c: buffdb.ErrorCode = err.code
}
async function main(): Promise<void> {
  const db2 = await buffdb.openAsync('x.bdb')
  const v2: Buffer | undefined = await db2.getAsync('k')
  for await (const [k] of db2.scan()) console.log(k)
  const info2: buffdb.StreamInfo = await db2.streamWriteAsync('/x', Readable.from(['a']), { metadata: 'm' })
  const info3: buffdb.StreamInfo = await db2.streamSetMetadataAsync('/x', 'n')
  const t: buffdb.Txn = await db2.beginAsync()
  await t.commitAsync()
  const s: string = await db2.transactionAsync(async (txn) => {
    await txn.putAsync('a', 'b')
    return 'ok'
  })
  const made: buffdb.IndexInfo = await db2.createIndexAsync('n', 'blob', '$.n')
  for await (const e of db2.findRange('n')) console.log(e.value, e.record)
  const listed: buffdb.IndexInfo[] = await db2.listIndexesAsync()
  const gone: boolean = await db2.dropIndexAsync('n')
  await db2.closeAsync()
  const rep: buffdb.Replication = await buffdb.replicateAsync('/tmp/a.db', 'file:///tmp/replica')
  const pos: buffdb.ReplicationPosition = rep.position()
  const behind: number = pos.lag + pos.replicatedTxid - pos.txid + pos.restarts
  const lpid: number | null = rep.pid
  rep.stop()
  buffdb.restore('file:///tmp/replica', '/tmp/b.db', { txid: pos.txid, force: true })
  await buffdb.restoreAsync('file:///tmp/replica', '/tmp/c.db', { timestamp: '2026-12-06T03:00:00Z' })
  const f: buffdb.Follower = buffdb.follow('file:///tmp/replica', '/tmp/d.db', { intervalMs: 100, force: true })
  const at: number | null = f.position() ?? buffdb.replicaPosition('/tmp/d.db')
  f.stop()
  const f2: buffdb.Follower = await buffdb.followAsync('file:///tmp/replica', '/tmp/e.db')
  f2.stop()
  void behind, lpid, at
}
void main
