// BuffDB's gRPC server driven by Node @grpc/grpc-js with @grpc/proto-loader over
// server/proto (run by scripts/test-server.sh). BUFFDB_ADDR: the server.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';

const require = createRequire(process.env.BUFFDB_NODE_MODULES + '/');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const protoDir = process.env.BUFFDB_PROTO_DIR;
const def = loader.loadSync(['kv.proto', 'blob.proto', 'buffdb/v1/buffdb.proto'].map((f) => path.join(protoDir, f)), {
  keepCase: true, longs: Number, defaults: true, oneofs: true, includeDirs: [protoDir],
});
const pkg = grpc.loadPackageDefinition(def);
const addr = process.env.BUFFDB_ADDR;
const creds = grpc.credentials.createInsecure();
const opts = { 'grpc.max_receive_message_length': 80 << 20, 'grpc.max_send_message_length': 80 << 20 };
const kv = new pkg.buffdb.kv.Kv(addr, creds, opts);
const blob = new pkg.buffdb.blob.Blob(addr, creds, opts);
const streams = new pkg.buffdb.v1.Streams(addr, creds, opts);
const P = 'node-' + randomUUID().slice(0, 8) + ':';

// A bidirectional call: write every request, end, collect answers and the error.
function bidi(client, method, reqs) {
  return new Promise((resolve) => {
    const call = client[method]();
    const out = [];
    call.on('data', (m) => out.push(m));
    call.on('error', (error) => resolve({ out, error }));
    call.on('end', () => resolve({ out, error: null }));
    for (const r of reqs) call.write(r);
    call.end();
  });
}
const unary = (client, method, req) =>
  new Promise((resolve, reject) => client[method](req, (e, r) => (e ? reject(e) : resolve(r))));
const clientStream = (client, method, reqs) =>
  new Promise((resolve, reject) => {
    const call = client[method]((e, r) => (e ? reject(e) : resolve(r)));
    for (const r of reqs) call.write(r);
    call.end();
  });

let passed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log('ok   ', name);
  } catch (e) {
    console.log('FAIL ', name);
    throw e;
  }
}

await check('Kv Set/Get/Delete one for one, in order', async () => {
  const keys = Array.from({ length: 500 }, (_, i) => `${P}k${String(i).padStart(4, '0')}`);
  const set = await bidi(kv, 'Set', keys.map((k) => ({ key: k, value: 'v' + k })));
  assert.equal(set.error, null);
  assert.deepEqual(set.out.map((r) => r.key), keys);
  const got = await bidi(kv, 'Get', [...keys].reverse().map((k) => ({ key: k })));
  assert.deepEqual(got.out.map((r) => r.value), [...keys].reverse().map((k) => 'v' + k));
  const del = await bidi(kv, 'Delete', [{ key: keys[0] }]);
  assert.deepEqual(del.out.map((r) => r.key), [keys[0]]);
});

await check('Kv missing key is NOT_FOUND', async () => {
  const r = await bidi(kv, 'Get', [{ key: P + 'missing' }]);
  assert.equal(r.error.code, grpc.status.NOT_FOUND);
  const d = await bidi(kv, 'Delete', [{ key: P + 'missing' }]);
  assert.equal(d.error.code, grpc.status.NOT_FOUND);
});

await check('Kv Eq/NotEq', async () => {
  await bidi(kv, 'Set', [{ key: P + 'a', value: 'x' }, { key: P + 'b', value: 'x' }, { key: P + 'c', value: 'y' }]);
  assert.equal((await clientStream(kv, 'Eq', [{ key: P + 'a' }, { key: P + 'b' }])).value, true);
  assert.equal((await clientStream(kv, 'Eq', [{ key: P + 'a' }, { key: P + 'c' }])).value, false);
  assert.equal((await clientStream(kv, 'NotEq', [{ key: P + 'a' }, { key: P + 'c' }])).value, true);
});

await check('Kv transactions commit, roll back, refuse writes when read-only', async () => {
  const t = (await unary(kv, 'BeginTransaction', {})).transaction_id;
  await bidi(kv, 'Set', [{ key: P + 't', value: 'in', transaction_id: t }]);
  assert.equal((await bidi(kv, 'Get', [{ key: P + 't' }])).error.code, grpc.status.NOT_FOUND);
  assert.equal((await unary(kv, 'CommitTransaction', { transaction_id: t })).success, true);
  assert.equal((await bidi(kv, 'Get', [{ key: P + 't' }])).out[0].value, 'in');

  const r = (await unary(kv, 'BeginTransaction', {})).transaction_id;
  await bidi(kv, 'Set', [{ key: P + 'r', value: 'x', transaction_id: r }]);
  assert.equal((await unary(kv, 'RollbackTransaction', { transaction_id: r })).success, true);
  assert.equal((await bidi(kv, 'Get', [{ key: P + 'r' }])).error.code, grpc.status.NOT_FOUND);

  const ro = (await unary(kv, 'BeginTransaction', { read_only: true })).transaction_id;
  const w = await bidi(kv, 'Set', [{ key: P + 'ro', value: 'x', transaction_id: ro }]);
  assert.equal(w.error.code, grpc.status.PERMISSION_DENIED);
  await unary(kv, 'RollbackTransaction', { transaction_id: ro });
});

await check('Blob Store/Get/Update/Delete, NOT_FOUND, over 4 MiB', async () => {
  const big = randomBytes(6 << 20);
  const stored = await bidi(blob, 'Store', [{ bytes: Buffer.from('small'), metadata: 'm' }, { bytes: big }]);
  const [a, b] = stored.out.map((r) => r.id);
  assert.ok(b > a);
  const g = await bidi(blob, 'Get', [{ id: a }, { id: b }]);
  assert.equal(g.out[0].bytes.toString(), 'small');
  assert.equal(g.out[0].metadata, 'm');
  assert.ok(Buffer.compare(g.out[1].bytes, big) === 0);
  await bidi(blob, 'Update', [{ id: a, should_update_metadata: true, metadata: 'm2' }]);
  assert.equal((await bidi(blob, 'Get', [{ id: a }])).out[0].metadata, 'm2');
  assert.equal((await bidi(blob, 'Delete', [{ id: a }])).out[0].id, a);
  assert.equal((await bidi(blob, 'Get', [{ id: a }])).error.code, grpc.status.NOT_FOUND);
  assert.equal((await clientStream(blob, 'EqData', [{ id: b }, { id: b }])).value, true);
});

await check('buffdb.v1 stream written and read in pieces', async () => {
  const data = randomBytes(16 << 20);
  const info = await new Promise((resolve, reject) => {
    const call = streams.Write((e, r) => (e ? reject(e) : resolve(r)));
    for (let i = 0; i < data.length; i += 1 << 20) call.write({ path: i === 0 ? '/node/' + P : '', data: data.subarray(i, i + (1 << 20)) });
    call.end();
  });
  assert.equal(Number(info.size), data.length);
  const parts = [];
  await new Promise((resolve, reject) => {
    const call = streams.Read({ path: '/node/' + P });
    call.on('data', (m) => parts.push(m.data));
    call.on('error', reject);
    call.on('end', resolve);
  });
  assert.ok(Buffer.compare(Buffer.concat(parts), data) === 0);
});

console.log(`node grpc-js client: all ${passed} checks passed`);
kv.close(); blob.close(); streams.close();
