'use strict'
// Packs the npm release tarballs the way `napi prepublish` lays them out:
//   buffdb-VERSION.tgz                 the main package (JS, ESM+CJS, types; no
//                                      binary) with an optionalDependency on every
//                                      platform package under npm/
//   buffdb-<platform>-VERSION.tgz      one per addon found in BUILD_DIR
//                                      (buffdb.<platform>.node, from `napi build --platform`)
//
//   node scripts/pack-dist.cjs BUILD_DIR OUT_DIR
//
// The optionalDependencies are written only into the packed package.json (as
// `napi prepublish` does at publish time), so a checkout never pulls a published
// binary in front of the addon it builds itself.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const [buildDir, outDir] = process.argv.slice(2).map((p) => p && path.resolve(p))
if (!buildDir || !outDir) {
  console.error('usage: node scripts/pack-dist.cjs BUILD_DIR OUT_DIR')
  process.exit(2)
}

const root = path.resolve(__dirname, '..')
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
const npmDir = path.join(root, 'npm')
const stageRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'buffdb-pack-'))

// npm/<platform>/package.json, as `napi create-npm-dirs` made them from napi.targets.
const platforms = fs
  .readdirSync(npmDir)
  .filter((d) => fs.existsSync(path.join(npmDir, d, 'package.json')))
  .map((d) => ({ dir: d, manifest: JSON.parse(fs.readFileSync(path.join(npmDir, d, 'package.json'), 'utf8')) }))
if (platforms.length !== pkg.napi.targets.length) {
  throw new Error(`npm/ has ${platforms.length} platform packages for ${pkg.napi.targets.length} napi.targets: run \`npm run create-npm-dirs\``)
}
for (const { dir, manifest } of platforms) {
  if (manifest.version !== pkg.version) throw new Error(`npm/${dir}/package.json has version ${manifest.version}, not ${pkg.version}`)
}

function pack(dir) {
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', outDir], { cwd: dir, encoding: 'utf8' })
  const [info] = JSON.parse(out)
  console.log(`packed ${info.filename} (${info.size} bytes, ${info.entryCount} files)`)
  return info
}

fs.mkdirSync(outDir, { recursive: true })

// Platform packages: each addon built into buildDir goes into its own package.
let packedPlatforms = 0
for (const { dir, manifest } of platforms) {
  const node = `${pkg.napi.binaryName}.${dir}.node`
  if (!fs.existsSync(path.join(buildDir, node))) continue
  const stage = path.join(stageRoot, dir)
  fs.mkdirSync(stage)
  for (const f of fs.readdirSync(path.join(npmDir, dir))) fs.copyFileSync(path.join(npmDir, dir, f), path.join(stage, f))
  fs.copyFileSync(path.join(buildDir, node), path.join(stage, node))
  const info = pack(stage)
  if (!info.files.some((f) => f.path === node)) throw new Error(`${manifest.name}: ${node} is not in the tarball`)
  packedPlatforms++
}
if (packedPlatforms === 0) throw new Error(`no ${pkg.napi.binaryName}.<platform>.node in ${buildDir}`)

// The main package: the files list of package.json, plus optionalDependencies.
const main = path.join(stageRoot, 'main')
fs.mkdirSync(main)
for (const f of pkg.files) fs.cpSync(path.join(root, f), path.join(main, f), { recursive: true })
const packed = { ...pkg, optionalDependencies: Object.fromEntries(platforms.map(({ manifest }) => [manifest.name, pkg.version])) }
fs.writeFileSync(path.join(main, 'package.json'), JSON.stringify(packed, null, 2) + '\n')
const info = pack(main)
const binaries = info.files.filter((f) => f.path.endsWith('.node'))
if (binaries.length) throw new Error(`the main package must hold no binary, found ${binaries.map((f) => f.path)}`)

fs.rmSync(stageRoot, { recursive: true, force: true })
