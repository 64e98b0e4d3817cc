/*
 * buffdb_sdl.h: SDL2 SDL_RWops over BuffDB path streams. Single-file library: in ONE C
 * or C++ file write
 *
 *     #define BUFFDB_SDL_IMPLEMENTATION
 *     #include <buffdb_sdl.h>
 *
 * and include it plainly everywhere else. Link with -lbuffdb and SDL2.
 *
 *     SDL_Surface *s = IMG_Load_RW(buffdb_sdl_rwops(db, "/textures/a.png"), 1);
 *     Mix_Chunk *c = Mix_LoadWAV_RW(buffdb_sdl_rwops(db, "/sounds/hit.wav"), 1);
 *     SDL_SaveBMP_RW(shot, buffdb_sdl_rwops_write(db, "/saves/1/shot.bmp"), 1);
 *
 * buffdb_sdl_rwops: read-only, seekable (all three whences; past the end reads 0
 * bytes), SDL_RWsize is the stream's size; it reads one version of the stream (a newer
 * one written meanwhile is not mixed in).
 * buffdb_sdl_rwops_write: a stream writer; SDL_RWclose commits it (the new version
 * becomes visible at once) and returns 0, or returns -1 and commits nothing when a
 * write or the commit failed. The first BUFFDB_SDL_WRITE_BUFFER bytes (64 MiB unless
 * defined before the implementation) are kept in memory and may be seeked over and
 * rewritten, as SDL_SaveBMP_RW and WAV writers do; a larger file is streamed to the
 * database from then on, and seeks only to its end.
 * Both return NULL on failure with SDL_GetError() holding BuffDB's message; the database
 * must stay open while they are. One SDL_RWops is used by one thread at a time; the
 * database handle may be shared by many threads (each with its own SDL_RWops).
 *
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#ifndef BUFFDB_SDL_H
#define BUFFDB_SDL_H

#include <SDL.h>
#include <buffdb.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A read-only SDL_RWops over the newest version of the stream at `path`. */
SDL_RWops *buffdb_sdl_rwops(const buffdb_db *db, const char *path);

/* A write-only SDL_RWops writing a new version of `path`, committed by SDL_RWclose. */
SDL_RWops *buffdb_sdl_rwops_write(const buffdb_db *db, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* BUFFDB_SDL_H */

#if defined(BUFFDB_SDL_IMPLEMENTATION) && !defined(BUFFDB_SDL_IMPLEMENTED)
#define BUFFDB_SDL_IMPLEMENTED

#ifdef __cplusplus
extern "C" {
#endif

/* State of a writing SDL_RWops. */
/* Bytes a writing SDL_RWops keeps in memory, seekable (SDL_SaveBMP_RW and WAV writers
 * go back to fill in sizes); past this it streams them and only appends. */
#ifndef BUFFDB_SDL_WRITE_BUFFER
#define BUFFDB_SDL_WRITE_BUFFER (64 << 20)
#endif

/* State of a writing SDL_RWops: bytes in `buf` until they pass BUFFDB_SDL_WRITE_BUFFER. */
typedef struct buffdb_sdl__writer {
    buffdb_writer *writer;
    Uint8 *buf; /* NULL once streaming */
    Uint64 size, cap, pos;
    int failed;
} buffdb_sdl__writer;

/* Records a failed status as SDL's error; true when `st` is BUFFDB_OK. */
static int buffdb_sdl__ok(buffdb_status st) {
    if (st == BUFFDB_OK) return 1;
    SDL_SetError("buffdb: %s", buffdb_last_error_message());
    return 0;
}

static buffdb_reader *buffdb_sdl__reader(SDL_RWops *rw) { return (buffdb_reader *)rw->hidden.unknown.data1; }
static buffdb_sdl__writer *buffdb_sdl__state(SDL_RWops *rw) { return (buffdb_sdl__writer *)rw->hidden.unknown.data1; }

static Sint64 SDLCALL buffdb_sdl__size(SDL_RWops *rw) {
    uint64_t size = 0;
    return buffdb_sdl__ok(buffdb_reader_size(buffdb_sdl__reader(rw), &size)) ? (Sint64)size : -1;
}

static Sint64 SDLCALL buffdb_sdl__seek(SDL_RWops *rw, Sint64 offset, int whence) {
    buffdb_reader *r = buffdb_sdl__reader(rw);
    uint64_t base = 0, pos = 0;
    buffdb_status st = BUFFDB_OK;
    if (whence == RW_SEEK_CUR) st = buffdb_reader_tell(r, &base);
    else if (whence == RW_SEEK_END) st = buffdb_reader_size(r, &base);
    else if (whence != RW_SEEK_SET) return SDL_SetError("buffdb: unknown whence %d", whence);
    if (!buffdb_sdl__ok(st)) return -1;
    if (offset < 0 && (uint64_t)(-(offset + 1)) + 1 > base) return SDL_SetError("buffdb: seek before the start");
    return buffdb_sdl__ok(buffdb_reader_seek(r, base + (uint64_t)offset, &pos)) ? (Sint64)pos : -1;
}

static size_t SDLCALL buffdb_sdl__read(SDL_RWops *rw, void *ptr, size_t size, size_t maxnum) {
    buffdb_reader *r = buffdb_sdl__reader(rw);
    uint64_t start = 0;
    size_t n = 0, whole;
    if (size == 0 || maxnum == 0) return 0;
    if (maxnum > SIZE_MAX / size) maxnum = SIZE_MAX / size;
    if (!buffdb_sdl__ok(buffdb_reader_tell(r, &start)) ||
        !buffdb_sdl__ok(buffdb_reader_read(r, (uint8_t *)ptr, size * maxnum, &n)))
        return 0;
    whole = n / size;
    /* SDL counts whole objects: leave the position after the last whole one */
    if (whole * size != n && !buffdb_sdl__ok(buffdb_reader_seek(r, start + whole * size, NULL))) return 0;
    return whole;
}

static size_t SDLCALL buffdb_sdl__no_write(SDL_RWops *rw, const void *ptr, size_t size, size_t num) {
    (void)rw, (void)ptr, (void)size, (void)num;
    SDL_SetError("buffdb: this SDL_RWops is read-only");
    return 0;
}

static int SDLCALL buffdb_sdl__close_reader(SDL_RWops *rw) {
    buffdb_reader_free(buffdb_sdl__reader(rw));
    SDL_FreeRW(rw);
    return 0;
}

SDL_RWops *buffdb_sdl_rwops(const buffdb_db *db, const char *path) {
    buffdb_reader *r = NULL;
    SDL_RWops *rw;
    if (!buffdb_sdl__ok(buffdb_stream_open(db, path, &r))) return NULL;
    if (!(rw = SDL_AllocRW())) {
        buffdb_reader_free(r);
        return NULL;
    }
    rw->size = buffdb_sdl__size;
    rw->seek = buffdb_sdl__seek;
    rw->read = buffdb_sdl__read;
    rw->write = buffdb_sdl__no_write;
    rw->close = buffdb_sdl__close_reader;
    rw->type = SDL_RWOPS_UNKNOWN;
    rw->hidden.unknown.data1 = r;
    return rw;
}

/* ---- writing ----------------------------------------------------------------------- */

static Sint64 SDLCALL buffdb_sdl__written(SDL_RWops *rw) { return (Sint64)buffdb_sdl__state(rw)->size; }

static Sint64 SDLCALL buffdb_sdl__seek_written(SDL_RWops *rw, Sint64 offset, int whence) {
    buffdb_sdl__writer *w = buffdb_sdl__state(rw);
    Sint64 base = whence == RW_SEEK_SET ? 0 : whence == RW_SEEK_CUR ? (Sint64)w->pos : (Sint64)w->size;
    Sint64 target = base + offset;
    if (whence != RW_SEEK_SET && whence != RW_SEEK_CUR && whence != RW_SEEK_END) return SDL_SetError("buffdb: unknown whence %d", whence);
    if (target < 0) return SDL_SetError("buffdb: seek before the start");
    if (!w->buf && (Uint64)target != w->size)
        return SDL_SetError("buffdb: past %d MiB a stream writer only appends", BUFFDB_SDL_WRITE_BUFFER >> 20);
    w->pos = (Uint64)target;
    return target;
}

static size_t SDLCALL buffdb_sdl__no_read(SDL_RWops *rw, void *ptr, size_t size, size_t maxnum) {
    (void)rw, (void)ptr, (void)size, (void)maxnum;
    SDL_SetError("buffdb: this SDL_RWops is write-only");
    return 0;
}

/* Hands the buffered bytes to the stream writer and streams from then on. */
static int buffdb_sdl__spill(buffdb_sdl__writer *w) {
    int ok = buffdb_sdl__ok(buffdb_writer_write(w->writer, w->buf, (size_t)w->size));
    SDL_free(w->buf);
    w->buf = NULL;
    w->pos = w->size;
    return ok;
}

static size_t SDLCALL buffdb_sdl__write(SDL_RWops *rw, const void *ptr, size_t size, size_t num) {
    buffdb_sdl__writer *w = buffdb_sdl__state(rw);
    size_t n;
    if (size == 0 || num == 0 || w->failed) return 0;
    if (num > SIZE_MAX / size) {
        w->failed = 1;
        SDL_SetError("buffdb: write too large");
        return 0;
    }
    n = size * num;
    if (w->buf) { /* still in memory: any position, the file grows as needed */
        Uint64 end = w->pos + n;
        if (end > w->cap) {
            size_t cap = w->cap * 2 > end ? (size_t)w->cap * 2 : (size_t)end;
            Uint8 *bigger = (Uint8 *)SDL_realloc(w->buf, cap);
            if (!bigger) {
                w->failed = 1;
                SDL_OutOfMemory();
                return 0;
            }
            w->buf = bigger;
            w->cap = cap;
        }
        if (w->pos > w->size) SDL_memset(w->buf + w->size, 0, (size_t)(w->pos - w->size));
        SDL_memcpy(w->buf + w->pos, ptr, n);
        w->pos = end;
        if (end > w->size) w->size = end;
        if (w->size > BUFFDB_SDL_WRITE_BUFFER && !buffdb_sdl__spill(w)) w->failed = 1;
        return w->failed ? 0 : num;
    }
    if (w->pos != w->size || !buffdb_sdl__ok(buffdb_writer_write(w->writer, (const uint8_t *)ptr, n))) {
        if (w->pos != w->size) SDL_SetError("buffdb: past %d MiB a stream writer only appends", BUFFDB_SDL_WRITE_BUFFER >> 20);
        w->failed = 1; /* the close aborts: nothing half-written becomes visible */
        return 0;
    }
    w->pos = w->size += n;
    return num;
}

static int SDLCALL buffdb_sdl__close_writer(SDL_RWops *rw) {
    buffdb_sdl__writer *w = buffdb_sdl__state(rw);
    int rc = 0;
    if (!w->failed && w->buf && !buffdb_sdl__spill(w)) w->failed = 1;
    if (w->failed) {
        buffdb_writer_abort(w->writer);
        SDL_SetError("buffdb: a write failed, nothing was committed (%s)", buffdb_last_error_message());
        rc = -1;
    } else if (!buffdb_sdl__ok(buffdb_writer_commit(w->writer, NULL))) {
        rc = -1;
    }
    buffdb_writer_free(w->writer);
    SDL_free(w->buf);
    SDL_free(w);
    SDL_FreeRW(rw);
    return rc;
}

SDL_RWops *buffdb_sdl_rwops_write(const buffdb_db *db, const char *path) {
    buffdb_sdl__writer *w;
    SDL_RWops *rw;
    buffdb_writer *writer = NULL;
    if (!buffdb_sdl__ok(buffdb_stream_writer(db, path, &writer))) return NULL;
    w = (buffdb_sdl__writer *)SDL_calloc(1, sizeof *w);
    if (w) w->buf = (Uint8 *)SDL_malloc((size_t)(w->cap = 64 << 10));
    rw = w && w->buf ? SDL_AllocRW() : NULL;
    if (!rw) {
        if (w) SDL_free(w->buf);
        SDL_free(w);
        buffdb_writer_free(writer);
        SDL_OutOfMemory();
        return NULL;
    }
    w->writer = writer;
    rw->size = buffdb_sdl__written;
    rw->seek = buffdb_sdl__seek_written;
    rw->read = buffdb_sdl__no_read;
    rw->write = buffdb_sdl__write;
    rw->close = buffdb_sdl__close_writer;
    rw->type = SDL_RWOPS_UNKNOWN;
    rw->hidden.unknown.data1 = w;
    return rw;
}

#ifdef __cplusplus
}
#endif

#endif /* BUFFDB_SDL_IMPLEMENTATION */
