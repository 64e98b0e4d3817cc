// Types of the ESM entry point (./buffdb.mjs): the same API as the CommonJS one.
import * as buffdb from './buffdb.js'

export * from './buffdb.js'
export default buffdb
