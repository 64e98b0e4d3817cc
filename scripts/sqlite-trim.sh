# Sourced by the scripts that build shipped artifacts (build-c.sh, dist.sh): SQLite's
# bundled build without what no BuffDB user can reach. `query` is read-only over the
# views kv/blobs/streams and refuses virtual tables and load_extension, so full-text
# search (FTS3/FTS5), R-tree, dbstat, soundex, column metadata, extension loading,
# shared cache and deprecated APIs are dead code there: about 0.5 MB of the command
# line, less of the C library. `cargo test` keeps rusqlite's default build.
export LIBSQLITE3_FLAGS="-USQLITE_ENABLE_FTS3 -USQLITE_ENABLE_FTS3_PARENTHESIS -USQLITE_ENABLE_FTS5 -USQLITE_ENABLE_RTREE -USQLITE_ENABLE_DBSTAT_VTAB -USQLITE_SOUNDEX -USQLITE_ENABLE_COLUMN_METADATA -USQLITE_ENABLE_LOAD_EXTENSION -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_OMIT_DEPRECATED -DSQLITE_OMIT_SHARED_CACHE"
