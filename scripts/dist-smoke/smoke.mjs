import { createRequire } from 'node:module'
import buffdb, { open, version } from 'buffdb'

const require = createRequire(import.meta.url)
if (typeof open !== 'function' || typeof version !== 'function') throw new Error('named ESM exports missing')
if (buffdb.open !== open) throw new Error('ESM default and named exports differ')
require('./smoke-lib.cjs')({ ...buffdb, open, version }, 'import')
