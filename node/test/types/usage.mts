// Type-checked (not run) by types.test.js: the ESM typings.
import buffdb, { open, type Db, type Ops, type StreamInfo, ErrorCodes } from 'buffdb'

const db: Db = open(':memory:')
const info: StreamInfo = db.streamWrite('/x', 'y')
const same: Db = buffdb.open(':memory:')
const ops: Ops = same.begin()
void ops
const n: number = ErrorCodes.CLOSED
const replicationTypes: [typeof buffdb.replicate, typeof buffdb.restore, typeof buffdb.follow] = [buffdb.replicate, buffdb.restore, buffdb.follow]
void replicationTypes
db.close()
same.close()
void info
void n
