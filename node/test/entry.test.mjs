// Both entry points: ESM `import` and CommonJS `require` of the package name
// (self-reference through package.json "exports") load the same addon.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import buffdbDefault, { open, openAsync, Db, ErrorCodes, version } from 'buffdb'

const require = createRequire(import.meta.url)

test('ESM named and default exports', async () => {
  assert.equal(typeof open, 'function')
  assert.equal(typeof openAsync, 'function')
  assert.equal(buffdbDefault.open, open)
  assert.equal(ErrorCodes.NOT_FOUND, 1)
  assert.match(version(), /^\d+\.\d+/)
  const db = open(':memory:')
  assert.ok(db instanceof Db)
  db.put('k', 'v')
  assert.equal(db.get('k').toString(), 'v')
  db.close()
  const ns = await import('buffdb')
  assert.equal(ns.open, open)
})

test('CommonJS require gives the same module and classes', () => {
  const cjs = require('buffdb')
  assert.equal(cjs.open, open)
  assert.equal(cjs.Db, Db)
  assert.equal(require('buffdb/package.json').name, 'buffdb')
  const db = cjs.open(':memory:')
  assert.ok(db instanceof Db)
  db.close()
})
