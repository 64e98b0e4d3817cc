'use strict'
// A full disk is recovered by deletes: a 24 MiB tmpfs filled by 16 KiB puts and a
// 512 KiB stream every 8th until FULL, then half deleted and written again; nothing
// acknowledged is lost and check is clean. Needs root to mount a tmpfs (skipped otherwise).

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { tmpDir } = require('./helpers.js')
const buffdb = require('..')

function value(i, n) {
  const b = Buffer.alloc(n)
  for (let j = 0; j < n; j += 4) b.writeUInt32LE(i, j)
  return b
}

function mountTmpfs(dir) {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', dir], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

test('a full disk is recovered by deletes, then written again', (t) => {
  const dir = tmpDir()
  if (!mountTmpfs(dir)) {
    t.skip('cannot mount a tmpfs here (needs root)')
    fs.rmSync(dir, { recursive: true, force: true })
    return
  }
  try {
    const file = path.join(dir, 'full.bdb')
    let db = buffdb.open(file)
    const puts = []
    const streams = []
    let err = null
    for (let i = 0; i < 100000 && !err; i++) {
      try {
        if (i % 8 === 7) {
          db.streamWrite(`/s/${i}`, value(i, 512 << 10))
          streams.push(i)
        } else {
          db.put(`k${i}`, value(i, 16 << 10))
          puts.push(i)
        }
      } catch (e) {
        err = e
      }
    }
    assert.equal(err && err.code, 'FULL', String(err))
    assert.ok(puts.length > 16 && streams.length > 2)
    for (const i of streams.slice(0, streams.length >> 1)) assert.equal(db.streamDelete(`/s/${i}`), true)
    db.transaction((txn) => {
      for (const i of puts.filter((_, j) => j % 2 === 0)) assert.equal(txn.delete(`k${i}`), true)
    })
    for (let j = 0; j < Math.floor(puts.length / 6); j++) db.put(`again${j}`, value(j, 16 << 10))
    db.streamWrite('/again', value(7, 512 << 10))
    for (const i of puts.filter((_, j) => j % 2 === 1)) assert.deepEqual(db.get(`k${i}`), value(i, 16 << 10))
    for (const i of streams.slice(streams.length >> 1)) assert.deepEqual(db.streamRead(`/s/${i}`), value(i, 512 << 10))
    assert.equal(db.check().ok, true)
    db.close()
    db = buffdb.open(file)
    assert.deepEqual(db.streamRead('/again'), value(7, 512 << 10))
    assert.equal(db.get(`k${puts[0]}`), undefined)
    assert.equal(db.check().ok, true)
    db.close()
  } finally {
    execFileSync('umount', ['-l', dir])
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
