// ESM entry point: the same module as the CommonJS one (one addon instance).
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const buffdb = require('./buffdb.js')

export const {
  open,
  openAsync,
  version,
  ErrorCodes,
  Db,
  Txn,
  Reader,
  StreamWriter,
  DbIterator,
  BuffDBReadStream,
  BuffDBWriteStream,
} = buffdb

export default buffdb
