// ESM entry point: the CommonJS module itself (one addon instance), its named
// exports found by Node in buffdb.js's `module.exports = { ... }`.
export * from './buffdb.js'
export { default } from './buffdb.js'
