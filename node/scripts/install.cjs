'use strict'
// npm `install` script: build the native addon from source with @napi-rs/cli
// and the local Rust toolchain, unless a working addon is already here.
// Nothing is downloaded except crates (by cargo) — never a prebuilt binary.
//
//   BUFFDB_BUILD_FROM_SOURCE=1   rebuild even if an addon loads
//   BUFFDB_SKIP_BUILD=1          do nothing (e.g. the addon is built separately)
//   BUFFDB_BUILD_PROFILE=debug   debug build (default: release)
//   CARGO_TARGET_DIR             where cargo builds (default: the crate's target/)

const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const root = path.resolve(__dirname, '..')
const truthy = (v) => /^(1|true|yes)$/i.test(v || '')

if (truthy(process.env.BUFFDB_SKIP_BUILD)) process.exit(0)

function addonLoads() {
  try {
    require(path.join(root, 'index.js'))
    return true
  } catch {
    return false
  }
}

const force = truthy(process.env.BUFFDB_BUILD_FROM_SOURCE) || truthy(process.env.npm_config_build_from_source)
if (!force && addonLoads()) {
  process.exit(0)
}

// A packed tarball carries the engine and the binding crate under crate/
// (see prepack.cjs); in the git tree the crate is this folder.
const packed = fs.existsSync(path.join(root, 'crate', 'node', 'Cargo.toml'))
const manifest = packed ? path.join(root, 'crate', 'node', 'Cargo.toml') : path.join(root, 'Cargo.toml')

const cargo = spawnSync('cargo', ['--version'], { encoding: 'utf8' })
if (cargo.error || cargo.status !== 0) {
  console.error(
    'buffdb: building the native addon needs Rust (cargo) >= 1.88 on PATH (https://rustup.rs); ' +
      'no prebuilt binary is downloaded.',
  )
  process.exit(1)
}

const cliPkg = require.resolve('@napi-rs/cli/package.json', { paths: [root] })
const cli = path.join(path.dirname(cliPkg), require(cliPkg).bin.napi)

const args = [cli, 'build', '--platform', '--manifest-path', manifest, '--package-json-path', path.join(root, 'package.json'), '--output-dir', root, '--no-js', '--dts', path.join('build', 'index.d.ts')]
if ((process.env.BUFFDB_BUILD_PROFILE || 'release') !== 'debug') args.push('--release')
let ownTarget = null
if (!process.env.CARGO_TARGET_DIR && packed) {
  ownTarget = path.join(root, 'crate', 'target')
  args.push('--target-dir', ownTarget)
}

console.log(`buffdb: building the native addon from source (${path.relative(root, manifest)})...`)
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' })
fs.rmSync(path.join(root, 'build'), { recursive: true, force: true })
if (r.status !== 0) {
  console.error('buffdb: native build failed')
  process.exit(r.status || 1)
}
// An installed package does not need the ~GB of build artifacts.
if (ownTarget) fs.rmSync(ownTarget, { recursive: true, force: true })
if (!addonLoads()) {
  console.error('buffdb: the addon was built but does not load')
  process.exit(1)
}
