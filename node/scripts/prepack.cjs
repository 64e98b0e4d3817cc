'use strict'
// npm `prepack`/`postpack`: put the sources the addon is built from into crate/
// so that a packed tarball builds on a machine with Rust and nothing else:
//   crate/Cargo.toml, Cargo.lock, src/ (+ build.rs)  the engine (workspace root,
//                                                   members reduced to the binding)
//   crate/node/                                     this binding crate
// `--clean` removes crate/ again.

const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const repo = path.resolve(root, '..')
const out = path.join(root, 'crate')

fs.rmSync(out, { recursive: true, force: true })
if (process.argv.includes('--clean')) process.exit(0)

fs.mkdirSync(path.join(out, 'node'), { recursive: true })

let manifest = fs.readFileSync(path.join(repo, 'Cargo.toml'), 'utf8')
manifest = manifest.replace(/^members\s*=\s*\[[^\]]*\]/m, 'members = [".", "node"]')
manifest = manifest.replace(/^default-members\s*=\s*\[[^\]]*\]/m, 'default-members = ["."]')
fs.writeFileSync(path.join(out, 'Cargo.toml'), manifest)
for (const f of ['Cargo.lock', 'build.rs', 'README.md', 'LICENSE', 'LICENSE-MIT', 'LICENSE-APACHE']) {
  if (fs.existsSync(path.join(repo, f))) fs.copyFileSync(path.join(repo, f), path.join(out, f))
}
fs.cpSync(path.join(repo, 'src'), path.join(out, 'src'), { recursive: true })
for (const f of ['Cargo.toml', 'build.rs']) fs.copyFileSync(path.join(root, f), path.join(out, 'node', f))
fs.cpSync(path.join(root, 'src'), path.join(out, 'node', 'src'), { recursive: true })
console.log('buffdb: crate/ holds the engine and binding sources for the tarball')
