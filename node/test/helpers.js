'use strict'
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

/** A fresh temporary directory. */
function tmpDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'buffdb-node-'))
}

/** Asserts that `fn` throws (or rejects with) an Error whose `.code` is `code`. */
async function expectCode(fn, code) {
  let err = null
  try {
    await fn()
  } catch (e) {
    err = e
  }
  if (!err) throw new Error(`expected ${code}, got success`)
  if (!(err instanceof Error)) throw new Error(`expected an Error, got ${err}`)
  if (err.code !== code) throw new Error(`expected ${code}, got ${err.code}: ${err.message}`)
  return err
}

function expectCodeSync(fn, code) {
  let err = null
  try {
    fn()
  } catch (e) {
    err = e
  }
  if (!err) throw new Error(`expected ${code}, got success`)
  if (!(err instanceof Error)) throw new Error(`expected an Error, got ${err}`)
  if (err.code !== code) throw new Error(`expected ${code}, got ${err.code}: ${err.message}`)
  return err
}

module.exports = { tmpDir, expectCode, expectCodeSync }
