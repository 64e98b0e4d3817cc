'use strict'
// CommonJS entry point, and ESM import from a CommonJS file.
const { test } = require('node:test')
const assert = require('node:assert/strict')

test('require("buffdb") and import("buffdb")', async () => {
  const cjs = require('buffdb')
  const esm = await import('buffdb')
  assert.equal(esm.open, cjs.open)
  assert.equal(esm.default, cjs)
  const db = cjs.open(':memory:')
  db.put('a', 'b')
  assert.equal(db.get('a').toString(), 'b')
  db.close()
})
