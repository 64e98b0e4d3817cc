'use strict'
// Finds the native addon, in this order:
//  1. the platform package npm installed as an optional dependency of `buffdb`
//     (`buffdb-linux-x64-gnu`, ...: a prebuilt, stripped release addon);
//  2. an addon built from source in this folder (`npm run build`), through the
//     napi-rs generated loader ../index.js;
// and otherwise throws an error that names the platform and says how to build
// the addon from source. Nothing here downloads or compiles anything.

const path = require('node:path')

/** The napi-rs platform name: linux-x64-gnu, darwin-arm64, win32-x64-msvc, ... */
function platformName() {
  const { platform, arch } = process
  if (platform === 'linux') {
    const musl = isMusl()
    if (arch === 'arm') return `linux-arm-${musl ? 'musleabihf' : 'gnueabihf'}`
    return `linux-${arch}-${musl ? 'musl' : 'gnu'}`
  }
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

function isMusl() {
  try {
    // glibc reports its version here; musl does not.
    const report = process.report && process.report.getReport()
    return !(report && report.header && report.header.glibcVersionRuntime)
  } catch {
    return false
  }
}

/** True when `err` says `request` itself is not installed (not a broken install). */
function isMissing(err, request) {
  return err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes(`'${request}'`)
}

function load() {
  const platform = platformName()
  const pkgName = `buffdb-${platform}`
  const errors = []

  try {
    return require(pkgName)
  } catch (err) {
    if (!isMissing(err, pkgName)) errors.push(err)
  }

  try {
    return require('../index.js')
  } catch (err) {
    errors.push(err)
  }

  let prebuilt = []
  try {
    prebuilt = Object.keys(require('../package.json').optionalDependencies || {})
  } catch {
    // no package.json next to lib/: nothing to list
  }
  const root = path.resolve(__dirname, '..')
  let why
  let how
  if (prebuilt.includes(pkgName)) {
    why =
      `The prebuilt addon comes in the optional dependency ${pkgName}, which is not installed or does not load: ` +
      'reinstall without --omit=optional / --no-optional (with a stale lockfile, delete node_modules and ' +
      'package-lock.json first; npm bug https://github.com/npm/cli/issues/4828). Or build it from source'
  } else if (prebuilt.length) {
    why = `No prebuilt addon is published for ${platform} (only for ${prebuilt.map((n) => n.slice('buffdb-'.length)).join(', ')}). Build it from source`
  } else {
    // No optionalDependencies: a source checkout, where the addon is built in place.
    why = `No addon was built in ${root}. Build it from source`
    how = `cd ${root} && npm ci && npm run build`
  }
  how =
    how ||
    'git clone https://github.com/buffdb/buffdb && cd buffdb/node && npm ci && npm run build, ' +
      'then `npm install <that node folder>` in your project'
  const error = new Error(
    `buffdb: no native addon for ${platform} (Node ${process.version}, ${process.platform}/${process.arch}). ` +
      `${why} (needs Rust >= 1.88 and a C compiler): ${how} (the addon lands there as buffdb.${platform}.node).`,
  )
  error.code = 'ERR_BUFFDB_NO_ADDON'
  error.platform = platform
  error.cause = errors.length === 1 ? errors[0] : new AggregateError(errors, 'load attempts')
  error.searched = [pkgName, path.join(root, `buffdb.${platform}.node`)]
  throw error
}

module.exports = load()
