/*
 * buffdb_physfs.h: BuffDB databases as PhysFS (3.0+) archives. Single-file library: in
 * ONE C or C++ file write
 *
 *     #define BUFFDB_PHYSFS_IMPLEMENTATION
 *     #include <buffdb_physfs.h>
 *
 * and include it plainly everywhere else. Link with -lbuffdb -lphysfs.
 *
 *     PHYSFS_init(argv[0]);
 *     buffdb_physfs_register();                       // the "buffdb" archive type
 *     PHYSFS_mount("assets.buffdb", "/", 1);          // like a .zip
 *     PHYSFS_File *f = PHYSFS_openRead("textures/a.png");   // stream "/textures/a.png"
 *
 * Reading. Stream "/textures/a.png" is PhysFS "textures/a.png" under the mount point.
 * Files: PHYSFS_openRead (read, seek, tell, length; duplicated handles read the same
 * version), PHYSFS_stat (size, modification time = when that version was written,
 * read-only flag), PHYSFS_exists. Directories are derived from the path prefixes
 * ("textures" exists while a stream starts with "/textures/"); PHYSFS_enumerate lists
 * each child once, walking the prefix search and skipping whole subdirectories. A
 * mount is read-only; databases, zips and directories mix in the search path as
 * PhysFS mounts always do. A mounted file is opened by its name (the archive must be a
 * real file: PHYSFS_mountIo/mountMemory of a database is refused); a file that is not a
 * .buffdb is claimed only when it is an SQLite file that BuffDB opens.
 *
 * Writing. PhysFS opens a write directory that is a file with O_TRUNC *before* asking
 * any archiver (physfs.c, openDirectory), so PHYSFS_setWriteDir("save.buffdb") would
 * empty the database: never do that. Call buffdb_physfs_set_write_dir("save.buffdb")
 * instead (it creates the database when missing). Then PHYSFS_openWrite writes a new
 * version through a stream writer, committed when PHYSFS_close succeeds (nothing is
 * visible before; a failed write makes the close fail and leaves the old version);
 * PHYSFS_openAppend does the same starting from the current bytes; PHYSFS_delete
 * deletes a stream, or an empty directory; PHYSFS_mkdir records an empty directory as a
 * zero-length stream "/dir/" (a directory with files needs none: deleting its last
 * file makes it vanish).
 *
 * Quick mode: buffdb_physfs_verify_checksums(0) before PHYSFS_mount opens databases
 * with BuffDB's verify_checksums = false: reads skip the CRC-32 of every 16 KiB block
 * and of the whole file (~10% of a warm 64 KiB range read, ~0.45 instructions a byte
 * of a whole file); the checksums of the records that locate a file are still
 * checked. For an engine that trusts its pack (shipped read-only, checked once with
 * `buffdb check`); damage then reads as wrong bytes instead of PHYSFS_ERR_CORRUPT.
 *
 * Errors: PHYSFS_getLastErrorCode() is the PhysFS code the BuffDB status maps to;
 * buffdb_last_error_message() (same thread) has BuffDB's message.
 * Threads: PhysFS serializes archive calls; each open file has its own BuffDB reader or
 * writer, so files on different threads read in parallel.
 *
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#ifndef BUFFDB_PHYSFS_H
#define BUFFDB_PHYSFS_H

#include <buffdb.h>
#include <physfs.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Registers the "buffdb" archiver with PhysFS (after PHYSFS_init). Non-zero on success
 * (also when it is registered already). */
int buffdb_physfs_register(void);

/* Makes the database file `db_path` (created when missing) PhysFS's write directory;
 * NULL clears the write directory. Non-zero on success, else see
 * PHYSFS_getLastErrorCode(). Call it from one thread at a time, like PHYSFS_setWriteDir. */
int buffdb_physfs_set_write_dir(const char *db_path);

/* Whether databases mounted (or made the write directory) after this call check the
 * CRC-32 of every block and file they read: non-zero (the default) or 0 (quick mode,
 * see above). Databases mounted before keep their setting. Returns the previous
 * setting. Call it from one thread at a time, like PHYSFS_mount. */
int buffdb_physfs_verify_checksums(int verify);

#ifdef __cplusplus
}
#endif

#endif /* BUFFDB_PHYSFS_H */

#if defined(BUFFDB_PHYSFS_IMPLEMENTATION) && !defined(BUFFDB_PHYSFS_IMPLEMENTED)
#define BUFFDB_PHYSFS_IMPLEMENTED

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Directories a stat found, remembered while nothing is committed to the database
 * (buffdb_data_version): PhysFS stats every directory of a path before it opens a file
 * there, and that prefix search was a fifth of an open. Direct-mapped by name. */
#define BUFFDB_PHYSFS__DIRS 64
typedef struct buffdb_physfs__dir {
    char *name;       /* PhysFS's name of the directory, malloc'd; NULL: empty slot */
    uint64_t version; /* the data version it was found at */
} buffdb_physfs__dir;

/* One mounted database (or the write directory). PHYSFS_openRead stats every element
 * of the path (verifyPath) and then opens the file, all under PhysFS's state lock: the
 * stat of a file opens its reader and keeps it here, and the openRead of that name
 * right after takes it (one engine lookup per open instead of two). */
typedef struct buffdb_physfs__archive {
    buffdb_db *db;
    int writable;
    char *kept_name;            /* the stream path of `kept` */
    buffdb_reader *kept;
    buffdb_physfs__dir dirs[BUFFDB_PHYSFS__DIRS];
} buffdb_physfs__archive;

/* The slot of directory `name` (FNV-1a). */
static buffdb_physfs__dir *buffdb_physfs__dir_slot(buffdb_physfs__archive *a, const char *name) {
    uint32_t h = 2166136261u;
    for (; *name; name++) h = (h ^ (unsigned char)*name) * 16777619u;
    return &a->dirs[h % BUFFDB_PHYSFS__DIRS];
}

/* Drops the reader kept by the last stat, if any. */
static void buffdb_physfs__drop_kept(buffdb_physfs__archive *a) {
    buffdb_reader_free(a->kept);
    free(a->kept_name);
    a->kept = NULL;
    a->kept_name = NULL;
}

/* One open file: a reader, or a writer committed by flush (PHYSFS_close). */
typedef struct buffdb_physfs__file {
    buffdb_db *db;
    char *path;
    uint64_t version;      /* reading: the version read (duplicates read it too) */
    buffdb_reader *reader; /* reading */
    buffdb_writer *writer; /* writing */
    uint64_t written;
    int failed, finished;
} buffdb_physfs__file;

/* The write directory being opened: PhysFS hands our archiver this marker's name. */
static const char *buffdb_physfs__marker = NULL;
static const char *buffdb_physfs__write_db = NULL;
/* buffdb_physfs_verify_checksums: the setting of databases opened from now on. */
static int buffdb_physfs__verify = 1;

static PHYSFS_ErrorCode buffdb_physfs__code(buffdb_status st) {
    switch (st) {
    case BUFFDB_OK: return PHYSFS_ERR_OK;
    case BUFFDB_NOT_FOUND: return PHYSFS_ERR_NOT_FOUND;
    case BUFFDB_INVALID_ARGUMENT: return PHYSFS_ERR_BAD_FILENAME;
    case BUFFDB_CORRUPT: return PHYSFS_ERR_CORRUPT;
    case BUFFDB_NOT_A_DATABASE: return PHYSFS_ERR_UNSUPPORTED;
    case BUFFDB_READ_ONLY: return PHYSFS_ERR_READ_ONLY;
    case BUFFDB_BUSY: return PHYSFS_ERR_BUSY;
    case BUFFDB_IO: return PHYSFS_ERR_IO;
    case BUFFDB_FULL: return PHYSFS_ERR_NO_SPACE;
    default: return PHYSFS_ERR_OTHER_ERROR;
    }
}

/* Records a failed status with PhysFS; true when `st` is BUFFDB_OK. */
static int buffdb_physfs__ok(buffdb_status st) {
    if (st == BUFFDB_OK) return 1;
    PHYSFS_setErrorCode(buffdb_physfs__code(st));
    return 0;
}

/* "/" + name + suffix, malloc'd (NULL after setting OUT_OF_MEMORY). */
static char *buffdb_physfs__path(const char *name, const char *suffix) {
    size_t n = strlen(name), s = strlen(suffix);
    char *p = (char *)malloc(n + s + 2);
    if (!p) {
        PHYSFS_setErrorCode(PHYSFS_ERR_OUT_OF_MEMORY);
        return NULL;
    }
    p[0] = '/';
    memcpy(p + 1, name, n);
    memcpy(p + 1 + n, suffix, s + 1);
    return p;
}

/* The directory prefix of `name`: "/" for the root, "/name/" otherwise. */
static char *buffdb_physfs__dir_prefix(const char *name) { return buffdb_physfs__path(name, *name ? "/" : ""); }

/* Whether a stream path starts with `prefix`: 1 yes, 0 no, -1 error. With `only_marker`,
 * *only_marker is set to whether the single such path is the "/dir/" marker itself. */
static int buffdb_physfs__any_under(buffdb_db *db, const char *prefix, int *only_marker) {
    buffdb_search_cursor *c = NULL;
    const char *p = NULL;
    int found = 0;
    if (!buffdb_physfs__ok(buffdb_search(db, prefix, NULL, 2, &c))) return -1;
    if (!buffdb_physfs__ok(buffdb_search_next(c, &p, NULL))) found = -1;
    else if (p) {
        found = 1;
        if (only_marker) {
            *only_marker = strcmp(p, prefix) == 0;
            if (*only_marker) {
                if (!buffdb_physfs__ok(buffdb_search_next(c, &p, NULL))) found = -1;
                else if (p) *only_marker = 0;
            }
        }
    }
    buffdb_search_cursor_free(c);
    return found;
}

/* ---- file i/o ------------------------------------------------------------------- */

static PHYSFS_sint64 buffdb_physfs__read(PHYSFS_Io *io, void *buf, PHYSFS_uint64 len) {
    buffdb_physfs__file *f = (buffdb_physfs__file *)io->opaque;
    size_t n = 0;
    if (!f->reader) {
        PHYSFS_setErrorCode(PHYSFS_ERR_OPEN_FOR_WRITING);
        return -1;
    }
    if (len > (PHYSFS_uint64)SIZE_MAX) len = (PHYSFS_uint64)SIZE_MAX;
    if (!buffdb_physfs__ok(buffdb_reader_read(f->reader, (uint8_t *)buf, (size_t)len, &n))) return -1;
    return (PHYSFS_sint64)n;
}

static PHYSFS_sint64 buffdb_physfs__write(PHYSFS_Io *io, const void *buf, PHYSFS_uint64 len) {
    buffdb_physfs__file *f = (buffdb_physfs__file *)io->opaque;
    if (!f->writer || f->finished) {
        PHYSFS_setErrorCode(f->writer ? PHYSFS_ERR_OTHER_ERROR : PHYSFS_ERR_OPEN_FOR_READING);
        return -1;
    }
    if (len > (PHYSFS_uint64)SIZE_MAX || !buffdb_physfs__ok(buffdb_writer_write(f->writer, (const uint8_t *)buf, (size_t)len))) {
        f->failed = 1; /* the close will fail and nothing will be committed */
        return -1;
    }
    f->written += len;
    return (PHYSFS_sint64)len;
}

static int buffdb_physfs__seek(PHYSFS_Io *io, PHYSFS_uint64 offset) {
    buffdb_physfs__file *f = (buffdb_physfs__file *)io->opaque;
    uint64_t size = 0;
    if (f->writer) { /* a writer only appends */
        if (offset == f->written) return 1;
        PHYSFS_setErrorCode(PHYSFS_ERR_UNSUPPORTED);
        return 0;
    }
    if (!buffdb_physfs__ok(buffdb_reader_size(f->reader, &size))) return 0;
    if (offset > size) {
        PHYSFS_setErrorCode(PHYSFS_ERR_PAST_EOF);
        return 0;
    }
    return buffdb_physfs__ok(buffdb_reader_seek(f->reader, offset, NULL));
}

static PHYSFS_sint64 buffdb_physfs__tell(PHYSFS_Io *io) {
    buffdb_physfs__file *f = (buffdb_physfs__file *)io->opaque;
    uint64_t pos = 0;
    if (f->writer) return (PHYSFS_sint64)f->written;
    return buffdb_physfs__ok(buffdb_reader_tell(f->reader, &pos)) ? (PHYSFS_sint64)pos : -1;
}

static PHYSFS_sint64 buffdb_physfs__length(PHYSFS_Io *io) {
    buffdb_physfs__file *f = (buffdb_physfs__file *)io->opaque;
    uint64_t size = 0;
    if (f->writer) return (PHYSFS_sint64)f->written;
    return buffdb_physfs__ok(buffdb_reader_size(f->reader, &size)) ? (PHYSFS_sint64)size : -1;
}

/* Commits a writer (PhysFS calls flush from PHYSFS_close only). */
static int buffdb_physfs__flush(PHYSFS_Io *io) {
    buffdb_physfs__file *f = (buffdb_physfs__file *)io->opaque;
    if (!f->writer || f->finished) return 1; /* a failed close may be retried: then it closes */
    f->finished = 1;
    if (f->failed) {
        buffdb_writer_abort(f->writer);
        PHYSFS_setErrorCode(PHYSFS_ERR_IO);
        return 0;
    }
    return buffdb_physfs__ok(buffdb_writer_commit(f->writer, NULL));
}

static void buffdb_physfs__destroy(PHYSFS_Io *io) {
    buffdb_physfs__file *f = (buffdb_physfs__file *)io->opaque;
    buffdb_reader_free(f->reader);
    buffdb_writer_free(f->writer); /* aborts when not committed */
    free(f->path);
    free(f);
    free(io);
}

static PHYSFS_Io *buffdb_physfs__duplicate(PHYSFS_Io *io);

/* Wraps a file state in a PHYSFS_Io (frees the state on failure). */
static PHYSFS_Io *buffdb_physfs__io(buffdb_physfs__file *f) {
    PHYSFS_Io *io = (PHYSFS_Io *)calloc(1, sizeof(PHYSFS_Io));
    if (!io) {
        buffdb_reader_free(f->reader);
        buffdb_writer_free(f->writer);
        free(f->path);
        free(f);
        PHYSFS_setErrorCode(PHYSFS_ERR_OUT_OF_MEMORY);
        return NULL;
    }
    io->version = 0;
    io->opaque = f;
    io->read = buffdb_physfs__read;
    io->write = buffdb_physfs__write;
    io->seek = buffdb_physfs__seek;
    io->tell = buffdb_physfs__tell;
    io->length = buffdb_physfs__length;
    io->duplicate = buffdb_physfs__duplicate;
    io->flush = f->writer ? buffdb_physfs__flush : NULL;
    io->destroy = buffdb_physfs__destroy;
    return io;
}

/* A reader over `path` (version 0 = the newest; `r` when already open). Takes `path`
 * and `r`. */
static PHYSFS_Io *buffdb_physfs__open_reader(buffdb_db *db, char *path, uint64_t version, buffdb_reader *r) {
    buffdb_physfs__file *f;
    buffdb_stream_info info;
    buffdb_status st = BUFFDB_OK;
    if (!r) st = version ? buffdb_stream_open_version(db, path, version, &r) : buffdb_stream_open(db, path, &r);
    if (st == BUFFDB_OK) st = buffdb_reader_info(r, &info);
    if (!buffdb_physfs__ok(st)) {
        buffdb_reader_free(r);
        free(path);
        return NULL;
    }
    f = (buffdb_physfs__file *)calloc(1, sizeof *f);
    if (!f) {
        buffdb_reader_free(r);
        free(path);
        PHYSFS_setErrorCode(PHYSFS_ERR_OUT_OF_MEMORY);
        return NULL;
    }
    f->db = db;
    f->path = path;
    f->version = info.version;
    f->reader = r;
    return buffdb_physfs__io(f);
}

static PHYSFS_Io *buffdb_physfs__duplicate(PHYSFS_Io *io) {
    buffdb_physfs__file *f = (buffdb_physfs__file *)io->opaque;
    char *path;
    if (f->writer) {
        PHYSFS_setErrorCode(PHYSFS_ERR_UNSUPPORTED);
        return NULL;
    }
    path = (char *)malloc(strlen(f->path) + 1);
    if (!path) {
        PHYSFS_setErrorCode(PHYSFS_ERR_OUT_OF_MEMORY);
        return NULL;
    }
    strcpy(path, f->path);
    return buffdb_physfs__open_reader(f->db, path, f->version, NULL);
}

/* ---- the archiver ----------------------------------------------------------------- */

static int buffdb_physfs__has_ext(const char *name) {
    static const char ext[] = ".buffdb";
    size_t n = strlen(name), e = sizeof ext - 1, i;
    if (n < e) return 0;
    for (i = 0; i < e; i++) {
        char c = name[n - e + i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != ext[i]) return 0;
    }
    return 1;
}

static void *buffdb_physfs__open_archive(PHYSFS_Io *io, const char *name, int for_write, int *claimed) {
    buffdb_physfs__archive *a;
    buffdb_options *opts = NULL;
    buffdb_db *db = NULL;
    const char *file = name;
    buffdb_status st;
    if (for_write) {
        /* Only through buffdb_physfs_set_write_dir: PhysFS has just truncated `name`. */
        if (!buffdb_physfs__marker || strcmp(name, buffdb_physfs__marker) != 0) {
            if (buffdb_physfs__has_ext(name)) {
                *claimed = 1;
                PHYSFS_setErrorCode(PHYSFS_ERR_UNSUPPORTED);
            }
            return NULL;
        }
        file = buffdb_physfs__write_db;
    } else {
        static const char magic[16] = "SQLite format 3";
        char head[16];
        if (io == NULL) return NULL;
        /* A .buffdb is ours (even with its data still in the WAL); anything else only
         * when it is an SQLite file BuffDB opens. */
        if (!buffdb_physfs__has_ext(name)) {
            if (io->read(io, head, 16) != 16 || memcmp(head, magic, 16) != 0) return NULL;
        } else {
            *claimed = 1;
        }
    }
    if (!buffdb_physfs__ok(buffdb_options_new(&opts))) return NULL;
    buffdb_options_set_read_only(opts, !for_write);
    buffdb_options_set_create(opts, for_write != 0);
    if (!buffdb_physfs__verify) buffdb_options_set_verify_checksums(opts, false);
    st = buffdb_open(file, opts, &db);
    buffdb_options_free(opts);
    if (st != BUFFDB_OK) {
        if (*claimed || st != BUFFDB_NOT_A_DATABASE) {
            *claimed = 1;
            buffdb_physfs__ok(st);
        }
        return NULL;
    }
    *claimed = 1;
    a = (buffdb_physfs__archive *)calloc(1, sizeof *a);
    if (!a) {
        buffdb_close(db);
        PHYSFS_setErrorCode(PHYSFS_ERR_OUT_OF_MEMORY);
        return NULL;
    }
    a->db = db;
    a->writable = for_write != 0;
    /* The archive owns `io` now; BuffDB reads the file itself. */
    if (io) io->destroy(io);
    return a;
}

static PHYSFS_EnumerateCallbackResult buffdb_physfs__enumerate(void *opaque, const char *dirname, PHYSFS_EnumerateCallback cb,
                                                                const char *origdir, void *data) {
    /* Past every valid UTF-8 continuation of "child/": resumes after a subdirectory. */
    static const char skip[] = "/\xf4\x8f\xbf\xbf";
    buffdb_physfs__archive *a = (buffdb_physfs__archive *)opaque;
    PHYSFS_EnumerateCallbackResult result = PHYSFS_ENUM_OK;
    char *prefix = buffdb_physfs__dir_prefix(dirname), *after = NULL, *child = NULL;
    size_t plen, last_len = 0;
    int done = 0;
    if (!prefix) return PHYSFS_ENUM_ERROR;
    plen = strlen(prefix);
    while (!done) {
        buffdb_search_cursor *c = NULL;
        if (!buffdb_physfs__ok(buffdb_search(a->db, prefix, after, BUFFDB_NO_LIMIT, &c))) {
            result = PHYSFS_ENUM_ERROR;
            break;
        }
        for (;;) {
            const char *p = NULL, *rest, *slash;
            size_t len = 0, n;
            if (!buffdb_physfs__ok(buffdb_search_next(c, &p, &len))) {
                result = PHYSFS_ENUM_ERROR;
                done = 1;
                break;
            }
            if (!p) {
                done = 1;
                break;
            }
            rest = p + plen;
            slash = strchr(rest, '/');
            n = slash ? (size_t)(slash - rest) : len - plen;
            if (n == 0) continue; /* this directory's own "/dir/" marker */
            if (child && n == last_len && memcmp(child, rest, n) == 0) continue; /* listed already */
            free(child);
            child = (char *)malloc(n + sizeof skip);
            if (!child) {
                PHYSFS_setErrorCode(PHYSFS_ERR_OUT_OF_MEMORY);
                result = PHYSFS_ENUM_ERROR;
                done = 1;
                break;
            }
            memcpy(child, rest, n);
            child[n] = '\0';
            last_len = n;
            result = cb(data, origdir, child);
            if (result == PHYSFS_ENUM_ERROR) PHYSFS_setErrorCode(PHYSFS_ERR_APP_CALLBACK);
            if (result != PHYSFS_ENUM_OK) {
                done = 1;
                break;
            }
            if (slash) { /* a subdirectory: search again after everything under it */
                char *next = (char *)malloc(plen + n + sizeof skip);
                if (!next) {
                    PHYSFS_setErrorCode(PHYSFS_ERR_OUT_OF_MEMORY);
                    result = PHYSFS_ENUM_ERROR;
                    done = 1;
                    break;
                }
                memcpy(next, prefix, plen);
                memcpy(next + plen, child, n);
                memcpy(next + plen + n, skip, sizeof skip);
                free(after);
                after = next;
                break;
            }
        }
        buffdb_search_cursor_free(c);
    }
    free(child);
    free(after);
    free(prefix);
    return result;
}

static PHYSFS_Io *buffdb_physfs__open_read(void *opaque, const char *name) {
    buffdb_physfs__archive *a = (buffdb_physfs__archive *)opaque;
    char *path;
    if (a->kept && strcmp(a->kept_name + 1, name) == 0) { /* just stat'ed: its reader */
        buffdb_reader *r = a->kept;
        path = a->kept_name;
        a->kept = NULL;
        a->kept_name = NULL;
        return buffdb_physfs__open_reader(a->db, path, 0, r);
    }
    buffdb_physfs__drop_kept(a);
    path = buffdb_physfs__path(name, "");
    return path ? buffdb_physfs__open_reader(a->db, path, 0, NULL) : NULL;
}

/* A writer for `name`; with `append`, it starts with the current bytes. */
static PHYSFS_Io *buffdb_physfs__open_writer(void *opaque, const char *name, int append) {
    buffdb_physfs__archive *a = (buffdb_physfs__archive *)opaque;
    buffdb_physfs__file *f;
    buffdb_writer *w = NULL;
    char *path;
    if (!a->writable) {
        PHYSFS_setErrorCode(PHYSFS_ERR_READ_ONLY);
        return NULL;
    }
    if (!(path = buffdb_physfs__path(name, ""))) return NULL;
    f = (buffdb_physfs__file *)calloc(1, sizeof *f);
    if (!f || !buffdb_physfs__ok(buffdb_stream_writer(a->db, path, &w))) {
        if (!f) PHYSFS_setErrorCode(PHYSFS_ERR_OUT_OF_MEMORY);
        free(f);
        free(path);
        return NULL;
    }
    f->db = a->db;
    f->path = path;
    f->writer = w;
    if (append) { /* copy the current version into the new one, chunk by chunk */
        buffdb_reader *r = NULL;
        buffdb_status st = buffdb_stream_open(a->db, path, &r);
        if (st == BUFFDB_NOT_FOUND) st = BUFFDB_OK;
        while (st == BUFFDB_OK && r) {
            const uint8_t *chunk = NULL;
            size_t n = 0;
            st = buffdb_reader_next_chunk(r, &chunk, &n);
            if (st != BUFFDB_OK || !chunk) break;
            st = buffdb_writer_write(w, chunk, n);
            f->written += n;
        }
        buffdb_reader_free(r);
        if (!buffdb_physfs__ok(st)) {
            buffdb_writer_free(w);
            free(path);
            free(f);
            return NULL;
        }
    }
    return buffdb_physfs__io(f);
}

static PHYSFS_Io *buffdb_physfs__open_write(void *opaque, const char *name) { return buffdb_physfs__open_writer(opaque, name, 0); }
static PHYSFS_Io *buffdb_physfs__open_append(void *opaque, const char *name) { return buffdb_physfs__open_writer(opaque, name, 1); }

static int buffdb_physfs__remove(void *opaque, const char *name) {
    buffdb_physfs__archive *a = (buffdb_physfs__archive *)opaque;
    char *path, *prefix;
    bool existed = false;
    int only_marker = 0, any, ok;
    if (!a->writable) {
        PHYSFS_setErrorCode(PHYSFS_ERR_READ_ONLY);
        return 0;
    }
    if (!(path = buffdb_physfs__path(name, ""))) return 0;
    ok = buffdb_physfs__ok(buffdb_stream_delete(a->db, path, &existed));
    free(path);
    if (!ok || existed) return ok;
    /* not a file: an empty directory? */
    if (!(prefix = buffdb_physfs__dir_prefix(name))) return 0;
    any = buffdb_physfs__any_under(a->db, prefix, &only_marker);
    if (any == 1 && only_marker) ok = buffdb_physfs__ok(buffdb_stream_delete(a->db, prefix, NULL));
    else {
        ok = 0;
        if (any == 1) PHYSFS_setErrorCode(PHYSFS_ERR_DIR_NOT_EMPTY);
        else if (any == 0) PHYSFS_setErrorCode(PHYSFS_ERR_NOT_FOUND);
    }
    free(prefix);
    return ok;
}

static int buffdb_physfs__mkdir(void *opaque, const char *name) {
    buffdb_physfs__archive *a = (buffdb_physfs__archive *)opaque;
    char *marker;
    int ok;
    if (!a->writable) {
        PHYSFS_setErrorCode(PHYSFS_ERR_READ_ONLY);
        return 0;
    }
    if (!(marker = buffdb_physfs__dir_prefix(name))) return 0;
    ok = buffdb_physfs__ok(buffdb_stream_write(a->db, marker, NULL, 0, NULL));
    free(marker);
    return ok;
}

/* What the first stream path starting with `path` says about `path`: 2 a directory
 * (it is "path/..."), 0 nothing is there, 1 a file may be (it is `path` itself, or a
 * sibling such as "path.png" sorts first), -1 error. One search. */
static int buffdb_physfs__first_under(buffdb_db *db, const char *path) {
    buffdb_search_cursor *c = NULL;
    const char *p = NULL;
    size_t n = strlen(path), len = 0;
    int kind;
    if (!buffdb_physfs__ok(buffdb_search(db, path, NULL, 1, &c))) return -1;
    if (!buffdb_physfs__ok(buffdb_search_next(c, &p, &len))) kind = -1;
    else if (!p) kind = 0;
    else kind = len > n && p[n] == '/' ? 2 : 1;
    buffdb_search_cursor_free(c);
    return kind;
}

static int buffdb_physfs__stat(void *opaque, const char *name, PHYSFS_Stat *st) {
    buffdb_physfs__archive *a = (buffdb_physfs__archive *)opaque;
    buffdb_stream_info info;
    buffdb_reader *r = NULL;
    buffdb_status s;
    const char *last;
    char *path;
    int any;
    st->readonly = !a->writable;
    st->filesize = -1;
    st->modtime = st->createtime = st->accesstime = -1;
    st->filetype = PHYSFS_FILETYPE_DIRECTORY;
    buffdb_physfs__drop_kept(a);
    if (*name == '\0') return 1; /* the root */
    if (!(path = buffdb_physfs__path(name, ""))) return 0;
    /* PhysFS stats every directory of a path before it opens a file there: a last
     * element without a dot is looked up as a directory first, in one search (a file
     * lookup that misses and then a directory search cost twice that). */
    last = strrchr(path, '/') + 1;
    if (!strchr(last, '.')) {
        /* Found before, and nothing committed since (the version is read before the
         * search, so a commit during it leaves the entry out of date, never wrong). */
        buffdb_physfs__dir *d = buffdb_physfs__dir_slot(a, name);
        uint64_t version = 0;
        int known = buffdb_data_version(a->db, &version) == BUFFDB_OK, kind;
        if (known && d->name && d->version == version && strcmp(d->name, name) == 0) {
            free(path);
            return 1;
        }
        kind = buffdb_physfs__first_under(a->db, path);
        if (kind == 2 && known) {
            size_t n = strlen(name) + 1;
            char *copy = (char *)malloc(n);
            if (copy) {
                memcpy(copy, name, n);
                free(d->name);
                d->name = copy;
                d->version = version;
            }
        }
        if (kind != 1) {
            free(path);
            if (kind == 0) PHYSFS_setErrorCode(PHYSFS_ERR_NOT_FOUND);
            return kind == 2;
        }
    }
    /* A mount reads: open the file's reader, which the openRead after this takes. A
     * write directory only stats (a kept reader would pin a version it replaces), and
     * so does a mount when symlinks are permitted (then PhysFS opens without a stat
     * first, and a reader kept from an older stat could be of an older version). */
    if (a->writable || PHYSFS_symbolicLinksPermitted()) s = buffdb_stream_stat(a->db, path, &info);
    else if ((s = buffdb_stream_open(a->db, path, &r)) == BUFFDB_OK && (s = buffdb_reader_info(r, &info)) != BUFFDB_OK) {
        buffdb_reader_free(r);
        r = NULL;
    }
    if (r) {
        a->kept = r;
        a->kept_name = path;
    } else {
        free(path);
    }
    if (s == BUFFDB_OK) {
        st->filetype = PHYSFS_FILETYPE_REGULAR;
        st->filesize = (PHYSFS_sint64)info.size;
        st->modtime = st->createtime = (PHYSFS_sint64)(info.created_ms / 1000);
        return 1;
    }
    if (s != BUFFDB_NOT_FOUND) return buffdb_physfs__ok(s);
    if (!(path = buffdb_physfs__dir_prefix(name))) return 0;
    any = buffdb_physfs__any_under(a->db, path, NULL);
    free(path);
    if (any == 0) PHYSFS_setErrorCode(PHYSFS_ERR_NOT_FOUND);
    return any == 1;
}

static void buffdb_physfs__close_archive(void *opaque) {
    buffdb_physfs__archive *a = (buffdb_physfs__archive *)opaque;
    int i;
    buffdb_physfs__drop_kept(a);
    for (i = 0; i < BUFFDB_PHYSFS__DIRS; i++) free(a->dirs[i].name);
    buffdb_close(a->db);
    free(a);
}

int buffdb_physfs_register(void) {
    static PHYSFS_Archiver archiver;
    archiver.version = 0;
    archiver.info.extension = "buffdb";
    archiver.info.description = "BuffDB database (path streams as files)";
    archiver.info.author = "BuffDB";
    archiver.info.url = "https://github.com/buffdb/buffdb";
    archiver.info.supportsSymlinks = 0;
    archiver.openArchive = buffdb_physfs__open_archive;
    archiver.enumerate = buffdb_physfs__enumerate;
    archiver.openRead = buffdb_physfs__open_read;
    archiver.openWrite = buffdb_physfs__open_write;
    archiver.openAppend = buffdb_physfs__open_append;
    archiver.remove = buffdb_physfs__remove;
    archiver.mkdir = buffdb_physfs__mkdir;
    archiver.stat = buffdb_physfs__stat;
    archiver.closeArchive = buffdb_physfs__close_archive;
    if (PHYSFS_registerArchiver(&archiver)) return 1;
    return PHYSFS_getLastErrorCode() == PHYSFS_ERR_DUPLICATE;
}

int buffdb_physfs_verify_checksums(int verify) {
    int was = buffdb_physfs__verify;
    buffdb_physfs__verify = verify != 0;
    return was;
}

int buffdb_physfs_set_write_dir(const char *db_path) {
    static const char suffix[] = ".physfs-write.buffdb";
    char *marker;
    FILE *m;
    int ok;
    if (!db_path) return PHYSFS_setWriteDir(NULL);
    /* PhysFS truncates the write directory's file before asking archivers: give it an
     * empty marker file to truncate, and open the database when our archiver sees it. */
    marker = (char *)malloc(strlen(db_path) + sizeof suffix);
    if (!marker) {
        PHYSFS_setErrorCode(PHYSFS_ERR_OUT_OF_MEMORY);
        return 0;
    }
    strcpy(marker, db_path);
    strcat(marker, suffix);
    if (!(m = fopen(marker, "wb"))) {
        free(marker);
        PHYSFS_setErrorCode(PHYSFS_ERR_IO);
        return 0;
    }
    fclose(m);
    buffdb_physfs__marker = marker;
    buffdb_physfs__write_db = db_path;
    ok = PHYSFS_setWriteDir(marker);
    buffdb_physfs__marker = buffdb_physfs__write_db = NULL;
    remove(marker);
    free(marker);
    return ok;
}

#ifdef __cplusplus
}
#endif

#endif /* BUFFDB_PHYSFS_IMPLEMENTATION */
