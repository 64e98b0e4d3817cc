'use strict'
const buffdb = require('buffdb')
const resolved = require.resolve('buffdb')
if (!resolved.includes(`${require('node:path').sep}node_modules${require('node:path').sep}`)) throw new Error(`buffdb resolved outside node_modules: ${resolved}`)
require('./smoke-lib.cjs')(buffdb, 'require')
