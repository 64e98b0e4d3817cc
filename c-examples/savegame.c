/* Save games with transactions: an autosave writes the world state (KV records) and a
 * screenshot (a stream) in one transaction, so a crash in the middle of a save leaves the
 * previous save or the new one, never a mix. A loader thread streams assets from the
 * same database handle while the main thread saves and reads saves.
 *
 *   savegame DB autosave [ROUNDS]   save ROUNDS times (default: until killed)
 *   savegame DB check               load the save and verify every part is from one round
 *   savegame DB threads             a loader thread streams assets while the main thread saves
 *
 * Thread rules (docs/c.md): one buffdb_db is shared by every thread; each thread has its
 * own transactions, readers and writers; buffdb_last_error_message() is per thread. */
#define _POSIX_C_SOURCE 200809L
#include <buffdb.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNKS 64            /* world chunks, one KV record each */
#define CHUNK_SIZE 4096
#define SHOT_SIZE (2u << 20) /* the screenshot stream */
#define PIECE (64u << 10)

static int fail(const char *what, buffdb_status st) {
    fprintf(stderr, "savegame: %s: %s (%s)\n", what, buffdb_status_str(st), buffdb_last_error_message());
    return 1;
}
#define TRY(what, call)                                                                                               \
    do {                                                                                                              \
        buffdb_status st_ = (call);                                                                                   \
        if (st_ != BUFFDB_OK) return fail(what, st_);                                                                 \
    } while (0)

/* Every byte of a save depends on its round, so a mix of two rounds is detectable. */
static unsigned char byte_of(unsigned long long round, size_t i) { return (unsigned char)((i * 31u + round * 7u) ^ (i >> 9)); }

/* One autosave: the world state and the screenshot, committed together. */
static int autosave(const buffdb_db *db, unsigned long long round) {
    static unsigned char buf[PIECE > CHUNK_SIZE ? PIECE : CHUNK_SIZE];
    buffdb_txn *txn = NULL;
    buffdb_writer *w = NULL;
    char key[64], value[64];
    size_t i, off;
    int rc = 0;
    TRY("begin", buffdb_begin(db, &txn));
    for (i = 0; i < CHUNKS && rc == 0; i++) {
        size_t j;
        snprintf(key, sizeof key, "world:chunk:%03zu", i);
        memcpy(buf, &round, sizeof round);
        for (j = sizeof round; j < CHUNK_SIZE; j++) buf[j] = byte_of(round, i * CHUNK_SIZE + j);
        if (buffdb_txn_put(txn, (const uint8_t *)key, strlen(key), buf, CHUNK_SIZE) != BUFFDB_OK) rc = fail("put chunk", BUFFDB_INTERNAL);
    }
    /* the screenshot goes through a stream writer inside the same transaction */
    if (rc == 0 && buffdb_txn_stream_writer(txn, "/saves/auto/screenshot.raw", &w) != BUFFDB_OK) rc = fail("stream writer", BUFFDB_INTERNAL);
    for (off = 0; rc == 0 && off < SHOT_SIZE; off += PIECE) {
        for (i = 0; i < PIECE; i++) buf[i] = byte_of(round, off + i);
        if (off == 0) memcpy(buf, &round, sizeof round);
        if (buffdb_writer_write(w, buf, PIECE) != BUFFDB_OK) rc = fail("write screenshot", BUFFDB_INTERNAL);
    }
    if (rc == 0 && buffdb_writer_commit(w, NULL) != BUFFDB_OK) rc = fail("commit screenshot", BUFFDB_INTERNAL);
    buffdb_writer_free(w);
    snprintf(value, sizeof value, "%llu", round);
    if (rc == 0 && buffdb_txn_put(txn, (const uint8_t *)"save:round", 10, (const uint8_t *)value, strlen(value)) != BUFFDB_OK)
        rc = fail("put round", BUFFDB_INTERNAL);
    if (rc == 0 && buffdb_txn_commit(txn) != BUFFDB_OK) rc = fail("commit", BUFFDB_INTERNAL);
    buffdb_txn_free(txn); /* rolls back when not committed */
    return rc;
}

/* Loads the save and checks that every part is from the same round; prints the round. */
static int check(const buffdb_db *db, unsigned long long *round_out) {
    static unsigned char buf[PIECE > CHUNK_SIZE ? PIECE : CHUNK_SIZE];
    char value[32] = {0};
    size_t n = 0, i, off;
    unsigned long long round, r;
    buffdb_reader *reader = NULL;
    buffdb_txn *snap = NULL;
    buffdb_status st;
    /* read the whole save in one transaction: one consistent view even if a save runs */
    TRY("begin", buffdb_begin(db, &snap));
    st = buffdb_txn_get(snap, (const uint8_t *)"save:round", 10, (uint8_t *)value, sizeof value - 1, &n);
    if (st == BUFFDB_NOT_FOUND) {
        buffdb_txn_free(snap);
        *round_out = 0;
        return 0; /* no save yet: a fresh game */
    }
    TRY("get round", st);
    round = strtoull(value, NULL, 10);
    for (i = 0; i < CHUNKS; i++) {
        char key[64];
        size_t j;
        snprintf(key, sizeof key, "world:chunk:%03zu", i);
        if (buffdb_txn_get(snap, (const uint8_t *)key, strlen(key), buf, CHUNK_SIZE, &n) != BUFFDB_OK || n != CHUNK_SIZE) {
            fprintf(stderr, "savegame: MIX: chunk %zu missing in round %llu\n", i, round);
            return 2;
        }
        memcpy(&r, buf, sizeof r);
        for (j = sizeof r; j < CHUNK_SIZE && r == round; j++)
            if (buf[j] != byte_of(round, i * CHUNK_SIZE + j)) r = ~round;
        if (r != round) {
            fprintf(stderr, "savegame: MIX: chunk %zu is not from round %llu\n", i, round);
            return 2;
        }
    }
    TRY("open screenshot", buffdb_txn_stream_open(snap, "/saves/auto/screenshot.raw", &reader));
    for (off = 0;; off += n) {
        TRY("read screenshot", buffdb_reader_read(reader, buf, PIECE, &n));
        if (n == 0) break;
        if (off == 0) memcpy(&r, buf, sizeof r);
        for (i = off == 0 ? sizeof r : 0; i < n && r == round; i++)
            if (buf[i] != byte_of(round, off + i)) r = ~round;
        if (r != round) {
            fprintf(stderr, "savegame: MIX: screenshot is not from round %llu\n", round);
            return 2;
        }
    }
    buffdb_reader_free(reader);
    buffdb_txn_free(snap);
    if (off != SHOT_SIZE) {
        fprintf(stderr, "savegame: MIX: screenshot has %zu bytes\n", off);
        return 2;
    }
    *round_out = round;
    return 0;
}

/* ---- a loader thread streaming assets while the main thread saves -------------------- */

#define ASSETS 24
struct loader { const buffdb_db *db; int rc; unsigned long long bytes; };

static void *loader_main(void *arg) {
    struct loader *l = (struct loader *)arg;
    static unsigned char buf[PIECE];
    int pass;
    for (pass = 0; pass < 5 && l->rc == 0; pass++) {
        buffdb_search_cursor *c = NULL;
        const char *path;
        if (buffdb_search(l->db, "/assets/", NULL, BUFFDB_NO_LIMIT, &c) != BUFFDB_OK) l->rc = fail("loader search", BUFFDB_INTERNAL);
        while (l->rc == 0 && buffdb_search_next(c, &path, NULL) == BUFFDB_OK && path) {
            buffdb_reader *r = NULL; /* this thread's own reader */
            size_t n, off = 0, i, id = (size_t)atoi(path + 8);
            if (buffdb_stream_open(l->db, path, &r) != BUFFDB_OK) {
                l->rc = fail("loader open", BUFFDB_INTERNAL);
                break;
            }
            while (buffdb_reader_read(r, buf, sizeof buf, &n) == BUFFDB_OK && n > 0) {
                for (i = 0; i < n; i++)
                    if (buf[i] != (unsigned char)(id * 13 + off + i)) l->rc = 2;
                off += n;
            }
            l->bytes += off;
            buffdb_reader_free(r);
        }
        buffdb_search_cursor_free(c);
    }
    return NULL;
}

static int threads(const buffdb_db *db) {
    static unsigned char asset[300000];
    pthread_t t;
    struct loader l = {db, 0, 0};
    unsigned long long round = 0, seen;
    int i, rc = 0;
    size_t j;
    for (i = 0; i < ASSETS; i++) {
        char path[64];
        snprintf(path, sizeof path, "/assets/%02d.bin", i);
        for (j = 0; j < sizeof asset; j++) asset[j] = (unsigned char)(i * 13 + j);
        TRY("write asset", buffdb_stream_write(db, path, asset, sizeof asset - (size_t)i * 1000, NULL));
    }
    check(db, &round);
    if (pthread_create(&t, NULL, loader_main, &l) != 0) return fail("pthread_create", BUFFDB_INTERNAL);
    for (i = 0; i < 5 && rc == 0; i++) { /* meanwhile: save, then load the save back */
        rc = autosave(db, ++round);
        if (rc == 0) rc = check(db, &seen);
        if (rc == 0 && seen != round) rc = 2;
    }
    pthread_join(t, NULL);
    printf("threads: loader streamed %llu bytes, %d saves made and read back meanwhile: %s\n", l.bytes, i,
           rc == 0 && l.rc == 0 ? "ok" : "FAILED");
    return rc ? rc : l.rc;
}

int main(int argc, char **argv) {
    buffdb_db *db = NULL;
    unsigned long long round = 0, rounds;
    int rc = 0;
    if (argc < 3) {
        fprintf(stderr, "usage: savegame DB autosave [ROUNDS] | check | threads\n");
        return 64;
    }
    TRY("open", buffdb_open(argv[1], NULL, &db));
    if (strcmp(argv[2], "autosave") == 0) {
        rounds = argc > 3 ? strtoull(argv[3], NULL, 10) : ~0ull;
        rc = check(db, &round); /* continue from the last save */
        while (rc == 0 && rounds-- > 0) rc = autosave(db, ++round);
        if (rc == 0) printf("autosave: saved round %llu\n", round);
    } else if (strcmp(argv[2], "check") == 0) {
        rc = check(db, &round);
        if (rc == 0) printf("check: save of round %llu is whole\n", round);
    } else if (strcmp(argv[2], "threads") == 0) {
        rc = threads(db);
    } else {
        fprintf(stderr, "savegame: unknown command %s\n", argv[2]);
        rc = 64;
    }
    if (buffdb_close(db) != BUFFDB_OK && rc == 0) rc = fail("close", BUFFDB_INTERNAL);
    return rc;
}
