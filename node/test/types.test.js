'use strict'
// The shipped TypeScript types: a usage file per entry point type-checks
// strictly (tsc --noEmit), so every public name is declared.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

let tsc = null
try {
  tsc = require.resolve('typescript/bin/tsc')
} catch {
  // typescript is a devDependency
}

test('index.d.ts / buffdb.d.ts / buffdb.d.mts type-check', { skip: tsc ? false : 'typescript not installed' }, () => {
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(__dirname, 'types', 'tsconfig.json')], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stdout + r.stderr)
})
