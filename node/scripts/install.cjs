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

function findCli() {
  try {
    const pkg = require.resolve('@napi-rs/cli/package.json', { paths: [root] })
    return path.join(path.dirname(pkg), require(pkg).bin.napi)
  } catch {
    return null
  }
}

let cli = findCli()
if (!cli) {
  // `npm install <folder>` links the folder without installing its own
  // dependencies: fetch the build tool (@napi-rs/cli, from the npm registry)
  // into this folder first.
  console.log('buffdb: installing the build tool (@napi-rs/cli) into', root)
  const env = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k) || /^npm_config_(registry|cache|userconfig|globalconfig|cafile|proxy|https_proxy|strict_ssl|nodedir)$/i.test(k)) env[k] = v
  }
  const npmCli = process.env.npm_execpath
  const cmd = npmCli && /\.c?js$/.test(npmCli) ? [process.execPath, [npmCli]] : [process.platform === 'win32' ? 'npm.cmd' : 'npm', []]
  // (`npm install`, not `npm ci`: a registry mirror may lack some optional
  // platform packages of the CLI's dependencies, which `npm ci` refuses.)
  const npmArgs = ['install', '--omit=dev', '--ignore-scripts', '--no-save', '--no-package-lock', '--no-audit', '--no-fund']
  const r = spawnSync(cmd[0], [...cmd[1], ...npmArgs], { cwd: root, stdio: 'inherit', env, shell: process.platform === 'win32' })
  cli = r.status === 0 ? findCli() : null
  if (!cli) {
    console.error('buffdb: could not install @napi-rs/cli (run `npm install` in ' + root + ')')
    process.exit(1)
  }
}

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
