/* C API tests: the shared JSON cases (cases.c) plus every bad-input case and a tour of
 * the calls the cases do not reach. Usage: test_capi CASES.txt TMPDIR
 * Prints one line per test and a final "N passed, M failed". */
#include "buffdb.h"
#include "harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

void harness_pass(const char *name) {
    passed++;
    printf("ok   %s\n", name);
}

void harness_fail(const char *name, const char *why) {
    failed++;
    printf("FAIL %s: %s\n", name, why);
}

static const char *g_dir;
static char g_why[2048];

#define EXPECT(cond)                                                                       \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            snprintf(g_why, sizeof g_why, "line %d: %s (last error: %s)", __LINE__, #cond, \
                     buffdb_last_error_message());                                         \
            goto fail;                                                                     \
        }                                                                                  \
    } while (0)
#define EXPECT_ST(call, want)                                                                        \
    do {                                                                                             \
        buffdb_status st_ = (call);                                                                  \
        if (st_ != (want)) {                                                                         \
            snprintf(g_why, sizeof g_why, "line %d: %s gave %s, want %s (%s)", __LINE__, #call,      \
                     buffdb_status_str((int)st_), buffdb_status_str((int)(want)),                    \
                     buffdb_last_error_message());                                                   \
            goto fail;                                                                               \
        }                                                                                            \
        if (st_ != BUFFDB_OK && strncmp(buffdb_last_error_message(), buffdb_status_str((int)st_),   \
                                        strlen(buffdb_status_str((int)st_))) != 0) {                \
            snprintf(g_why, sizeof g_why, "line %d: message %s does not name %s", __LINE__,          \
                     buffdb_last_error_message(), buffdb_status_str((int)st_));                     \
            goto fail;                                                                               \
        }                                                                                            \
        if (st_ == BUFFDB_OK && buffdb_last_error_message()[0] != 0) {                               \
            snprintf(g_why, sizeof g_why, "line %d: message not cleared on success", __LINE__);      \
            goto fail;                                                                               \
        }                                                                                            \
    } while (0)
#define OK(call) EXPECT_ST(call, BUFFDB_OK)
#define INVALID(call) EXPECT_ST(call, BUFFDB_INVALID_ARGUMENT)

static buffdb_db *open_tmp(const char *name) {
    char path[4096];
    buffdb_db *db = NULL;
    snprintf(path, sizeof path, "%s/%s.bdb", g_dir, name);
    if (buffdb_open(path, NULL, &db) != BUFFDB_OK) {
        fprintf(stderr, "open %s: %s\n", path, buffdb_last_error_message());
        return NULL;
    }
    return db;
}

#define K(s) (const uint8_t *)(s), strlen(s)

/* ------------------------------------------------------------------------------------ */

static int t_status_strings(void) {
    static const char *names[] = {"OK", "NOT_FOUND", "INVALID_ARGUMENT", "TOO_LARGE", "CORRUPT",
                                  "NOT_A_DATABASE", "READ_ONLY", "BUSY", "IO", "FULL", "CLOSED",
                                  "CONFLICT", "INTERNAL", "BUFFER_TOO_SMALL", "INTERRUPTED"};
    int i;
    for (i = 0; i <= 14; i++) EXPECT(strcmp(buffdb_status_str(i), names[i]) == 0);
    EXPECT(BUFFDB_INTERRUPTED == 14 && BUFFDB_BUFFER_TOO_SMALL == 13 && BUFFDB_INTERNAL == 12 && BUFFDB_NOT_FOUND == 1);
    EXPECT(strcmp(buffdb_status_str(99), "UNKNOWN") == 0);
    EXPECT(strcmp(buffdb_status_str(-1), "UNKNOWN") == 0);
    EXPECT(buffdb_version() != NULL && buffdb_version()[0] >= '0' && buffdb_version()[0] <= '9');
    EXPECT(buffdb_last_error_message() != NULL);
    return 1;
fail:
    return 0;
}

static int t_null_handles(void) {
    uint8_t buf[8];
    size_t n = 0;
    uint64_t u = 0;
    bool b = false;
    buffdb_reader *r = NULL;
    buffdb_kv_cursor *kc = NULL;
    buffdb_search_cursor *sc = NULL;
    buffdb_txn *t = NULL;
    buffdb_writer *w = NULL;
    buffdb_stream_info info;
    INVALID(buffdb_get(NULL, K("k"), buf, sizeof buf, &n));
    EXPECT(strstr(buffdb_last_error_message(), "db is NULL") != NULL);
    INVALID(buffdb_put(NULL, K("k"), K("v")));
    INVALID(buffdb_delete(NULL, K("k"), &b));
    INVALID(buffdb_contains(NULL, K("k"), &b));
    INVALID(buffdb_count(NULL, K(""), &u));
    INVALID(buffdb_scan(NULL, K(""), NULL, 0, BUFFDB_NO_LIMIT, &kc));
    INVALID(buffdb_blob_put(NULL, K("x"), NULL, &u));
    INVALID(buffdb_blob_get(NULL, 1, buf, sizeof buf, &n));
    INVALID(buffdb_blob_open(NULL, 1, &r));
    INVALID(buffdb_stream_write(NULL, "/a", K("x"), NULL));
    INVALID(buffdb_stream_writer(NULL, "/a", &w));
    INVALID(buffdb_stream_open(NULL, "/a", &r));
    INVALID(buffdb_stream_read(NULL, "/a", buf, sizeof buf, &n));
    INVALID(buffdb_stream_stat(NULL, "/a", &info));
    INVALID(buffdb_search(NULL, "/", NULL, BUFFDB_NO_LIMIT, &sc));
    INVALID(buffdb_begin(NULL, &t));
    INVALID(buffdb_checkpoint(NULL));
    INVALID(buffdb_shutdown(NULL));
    INVALID(buffdb_reader_read(NULL, buf, sizeof buf, &n));
    INVALID(buffdb_reader_seek(NULL, 0, NULL));
    INVALID(buffdb_reader_tell(NULL, &u));
    INVALID(buffdb_writer_write(NULL, K("x")));
    INVALID(buffdb_writer_commit(NULL, NULL));
    INVALID(buffdb_writer_abort(NULL));
    INVALID(buffdb_kv_cursor_next(NULL, NULL, NULL, NULL, NULL));
    INVALID(buffdb_search_next(NULL, NULL, NULL));
    INVALID(buffdb_txn_put(NULL, K("k"), K("v")));
    INVALID(buffdb_txn_commit(NULL));
    INVALID(buffdb_txn_rollback(NULL));
    INVALID(buffdb_options_set_chunk_size(NULL, 4096));
    INVALID(buffdb_options_set_page_size(NULL, 4096));
    INVALID(buffdb_query_result_row_count(NULL, &n));
    INVALID(buffdb_stream_write_with_metadata(NULL, "/a", K("x"), "m", NULL));
    INVALID(buffdb_stream_set_metadata(NULL, "/a", "m", NULL));
    INVALID(buffdb_writer_set_metadata(NULL, "m"));
    INVALID(buffdb_index_create(NULL, "ix", "kv", "$.a", false, NULL, 0, NULL));
    INVALID(buffdb_index_drop(NULL, "ix", NULL));
    INVALID(buffdb_indexes_count(NULL, &n));
    INVALID(buffdb_find_next(NULL, NULL));
    /* every release function accepts NULL */
    buffdb_indexes_free(NULL);
    buffdb_find_cursor_free(NULL);
    OK(buffdb_close(NULL));
    buffdb_reader_free(NULL);
    buffdb_writer_free(NULL);
    buffdb_kv_cursor_free(NULL);
    buffdb_search_cursor_free(NULL);
    buffdb_txn_free(NULL);
    buffdb_options_free(NULL);
    buffdb_query_result_free(NULL);
    buffdb_bytes_free(NULL, 0);
    buffdb_string_free(NULL);
    buffdb_bytes_array_free(NULL, 3);
    EXPECT(r == NULL && kc == NULL && sc == NULL && t == NULL && w == NULL);
    return 1;
fail:
    return 0;
}

static int t_null_out_pointers(void) {
    buffdb_db *db = open_tmp("nullout");
    uint64_t ids[4];
    size_t n = 99;
    uint8_t buf[8];
    EXPECT(db);
    INVALID(buffdb_open("/tmp/x.bdb", NULL, NULL));
    INVALID(buffdb_open(NULL, NULL, (buffdb_db **)&n));
    EXPECT(n == 99); /* out-parameter untouched on failure */
    OK(buffdb_put(db, K("k"), K("value")));
    INVALID(buffdb_get(db, K("k"), buf, sizeof buf, NULL));
    INVALID(buffdb_get_alloc(db, K("k"), NULL, &n));
    INVALID(buffdb_contains(db, K("k"), NULL));
    INVALID(buffdb_count(db, K(""), NULL));
    INVALID(buffdb_scan(db, K(""), NULL, 0, BUFFDB_NO_LIMIT, NULL));
    INVALID(buffdb_search(db, "/", NULL, BUFFDB_NO_LIMIT, NULL));
    INVALID(buffdb_stream_open(db, "/a", NULL));
    INVALID(buffdb_stream_writer(db, "/a", NULL));
    INVALID(buffdb_begin(db, NULL));
    INVALID(buffdb_options_new(NULL));
    INVALID(buffdb_blob_metadata(db, 1, NULL));
    INVALID(buffdb_stats(db, NULL));
    INVALID(buffdb_query(db, "SELECT 1", NULL, 0, NULL));
    /* a NULL out-parameter is refused before anything is written */
    INVALID(buffdb_blob_put(db, K("data"), NULL, NULL));
    OK(buffdb_blob_ids(db, 0, ids, 4, &n));
    EXPECT(n == 0);
    /* optional out-parameters may be NULL */
    OK(buffdb_delete(db, K("k"), NULL));
    OK(buffdb_stream_write(db, "/a", K("x"), NULL));
    OK(buffdb_close(db));
    return 1;
fail:
    buffdb_close(db);
    return 0;
}

static int t_bad_lengths(void) {
    buffdb_db *db = open_tmp("badlen");
    uint8_t buf[8];
    size_t n = 0;
    buffdb_kv_pair pairs[2];
    buffdb_slice keys[1];
    bool b;
    EXPECT(db);
    INVALID(buffdb_put(db, (const uint8_t *)"k", SIZE_MAX, K("v")));
    EXPECT(strstr(buffdb_last_error_message(), "length") != NULL);
    INVALID(buffdb_put(db, NULL, 5, K("v")));
    INVALID(buffdb_put(db, K("k"), NULL, 3));
    INVALID(buffdb_get(db, K("k"), NULL, 8, &n));
    INVALID(buffdb_get(db, K("k"), buf, SIZE_MAX, &n));
    INVALID(buffdb_put_many(db, NULL, 3));
    pairs[0].key = (const uint8_t *)"a"; pairs[0].key_len = 1; pairs[0].value = NULL; pairs[0].value_len = 4;
    INVALID(buffdb_put_many(db, pairs, 1));
    keys[0].data = NULL; keys[0].len = 2;
    INVALID(buffdb_eq(db, keys, 1, &b));
    INVALID(buffdb_scan(db, K(""), NULL, 4, BUFFDB_NO_LIMIT, NULL));
    INVALID(buffdb_blob_eq(db, NULL, 2, &b));
    /* NULL with length 0 is an empty value, not an error */
    OK(buffdb_put(db, K("empty"), NULL, 0));
    OK(buffdb_get(db, K("empty"), NULL, 0, &n));
    EXPECT(n == 0);
    OK(buffdb_put_many(db, NULL, 0));
    /* nothing was written by the refused calls */
    {
        uint64_t count = 9;
        OK(buffdb_count(db, K(""), &count));
        EXPECT(count == 1);
    }
    OK(buffdb_close(db));
    return 1;
fail:
    buffdb_close(db);
    return 0;
}

static int t_oversized(void) {
    buffdb_db *db = open_tmp("oversized");
    uint8_t *big = malloc((size_t)BUFFDB_MAX_VALUE_SIZE + 1);
    char path[BUFFDB_MAX_PATH_SIZE + 2];
    EXPECT(db && big);
    memset(big, 'k', (size_t)BUFFDB_MAX_VALUE_SIZE + 1);
    EXPECT_ST(buffdb_put(db, big, BUFFDB_MAX_KEY_SIZE + 1, K("v")), BUFFDB_TOO_LARGE);
    OK(buffdb_put(db, big, BUFFDB_MAX_KEY_SIZE, K("v")));
    EXPECT_ST(buffdb_put(db, K(""), K("v")), BUFFDB_INVALID_ARGUMENT);
    EXPECT_ST(buffdb_put(db, K("k"), big, (size_t)BUFFDB_MAX_VALUE_SIZE + 1), BUFFDB_TOO_LARGE);
    memset(path, 'p', sizeof path);
    path[0] = '/';
    path[BUFFDB_MAX_PATH_SIZE + 1] = 0;
    EXPECT_ST(buffdb_stream_write(db, path, K("x"), NULL), BUFFDB_TOO_LARGE);
    EXPECT_ST(buffdb_stream_write(db, "", K("x"), NULL), BUFFDB_INVALID_ARGUMENT);
    free(big);
    OK(buffdb_close(db));
    return 1;
fail:
    free(big);
    buffdb_close(db);
    return 0;
}

static int t_invalid_utf8(void) {
    buffdb_db *db = open_tmp("utf8");
    const char *bad = "/tex\xff\xfe";
    buffdb_reader *r = NULL;
    buffdb_search_cursor *sc = NULL;
    buffdb_writer *w = NULL;
    buffdb_options *o = NULL;
    buffdb_db *db2 = NULL;
    uint64_t id = 0;
    bool b;
    EXPECT(db);
    INVALID(buffdb_stream_write(db, bad, K("x"), NULL));
    EXPECT(strstr(buffdb_last_error_message(), "UTF-8") != NULL);
    INVALID(buffdb_stream_open(db, bad, &r));
    INVALID(buffdb_stream_writer(db, bad, &w));
    INVALID(buffdb_stream_exists(db, bad, &b));
    INVALID(buffdb_stream_delete(db, bad, &b));
    INVALID(buffdb_search(db, bad, NULL, BUFFDB_NO_LIMIT, &sc));
    INVALID(buffdb_search(db, "/", bad, BUFFDB_NO_LIMIT, &sc));
    INVALID(buffdb_blob_put(db, K("x"), bad, &id));
    INVALID(buffdb_query(db, "SELECT '\xff'", NULL, 0, NULL));
    OK(buffdb_options_new(&o));
    INVALID(buffdb_options_set_durability(o, "\xff"));
    INVALID(buffdb_options_set_durability(o, "sometimes"));
    INVALID(buffdb_options_set_durability(o, NULL));
    OK(buffdb_options_set_durability(o, "full"));
    buffdb_options_free(o);
    EXPECT(r == NULL && sc == NULL && w == NULL && db2 == NULL);
    OK(buffdb_close(db));
    return 1;
fail:
    buffdb_close(db);
    return 0;
}

/* A file name is the OS bytes: one that is not UTF-8 opens exactly that file. */
static int t_non_utf8_db_path(void) {
    char path[4096];
    buffdb_db *db = NULL;
    uint8_t buf[16];
    size_t n = 0;
    FILE *f;
    snprintf(path, sizeof path, "%s/caf\xe9.bdb", g_dir); /* Latin-1 "cafe" with an accent */
    OK(buffdb_open(path, NULL, &db));
    OK(buffdb_put(db, K("k"), K("exact")));
    OK(buffdb_close(db));
    db = NULL;
    f = fopen(path, "rb"); /* the very bytes given, not a lossy twin */
    EXPECT(f);
    fclose(f);
    snprintf(path, sizeof path, "%s/caf\xef\xbf\xbd.bdb", g_dir); /* U+FFFD in its place */
    EXPECT(fopen(path, "rb") == NULL);
    snprintf(path, sizeof path, "%s/caf\xe9.bdb", g_dir);
    OK(buffdb_open(path, NULL, &db));
    OK(buffdb_get(db, K("k"), buf, sizeof buf, &n));
    EXPECT(n == 5 && memcmp(buf, "exact", 5) == 0);
    OK(buffdb_close(db));
    return 1;
fail:
    buffdb_close(db);
    return 0;
}

static int t_buffer_too_small(void) {
    buffdb_db *db = open_tmp("toosmall");
    uint8_t buf[4];
    size_t n = 0;
    uint64_t id = 0;
    buffdb_stream_info infos[1];
    EXPECT(db);
    OK(buffdb_put(db, K("k"), K("0123456789")));
    memset(buf, 0xEE, sizeof buf);
    EXPECT_ST(buffdb_get(db, K("k"), buf, sizeof buf, &n), BUFFDB_BUFFER_TOO_SMALL);
    EXPECT(n == 10);
    EXPECT(buf[0] == 0xEE && buf[3] == 0xEE);
    n = 0;
    EXPECT_ST(buffdb_get(db, K("k"), NULL, 0, &n), BUFFDB_BUFFER_TOO_SMALL); /* size query */
    EXPECT(n == 10);
    EXPECT_ST(buffdb_get(db, K("missing"), buf, sizeof buf, &n), BUFFDB_NOT_FOUND);
    OK(buffdb_blob_put(db, K("blob-bytes"), "m", &id));
    EXPECT_ST(buffdb_blob_get(db, id, buf, sizeof buf, &n), BUFFDB_BUFFER_TOO_SMALL);
    EXPECT(n == 10);
    OK(buffdb_stream_write(db, "/s", K("stream-bytes"), NULL));
    EXPECT_ST(buffdb_stream_read(db, "/s", buf, sizeof buf, &n), BUFFDB_BUFFER_TOO_SMALL);
    EXPECT(n == 12);
    OK(buffdb_stream_write(db, "/s", K("v2"), NULL));
    EXPECT_ST(buffdb_stream_versions(db, "/s", infos, 1, &n), BUFFDB_BUFFER_TOO_SMALL);
    EXPECT(n == 2);
    {
        buffdb_txn *t = NULL;
        OK(buffdb_begin(db, &t));
        EXPECT_ST(buffdb_txn_get(t, K("k"), buf, sizeof buf, &n), BUFFDB_BUFFER_TOO_SMALL);
        EXPECT(n == 10);
        OK(buffdb_txn_rollback(t));
        buffdb_txn_free(t);
    }
    OK(buffdb_close(db));
    return 1;
fail:
    buffdb_close(db);
    return 0;
}

static int t_closed_handles(void) {
    buffdb_db *db = open_tmp("closed");
    buffdb_reader *r = NULL;
    buffdb_writer *w = NULL;
    buffdb_txn *t = NULL;
    buffdb_kv_cursor *kc = NULL;
    uint8_t buf[16];
    size_t n = 0;
    uint64_t u;
    bool b = false;
    EXPECT(db);
    /* a finished writer */
    OK(buffdb_stream_writer(db, "/w", &w));
    OK(buffdb_writer_write(w, K("abc")));
    OK(buffdb_writer_commit(w, NULL));
    EXPECT_ST(buffdb_writer_write(w, K("more")), BUFFDB_CLOSED);
    EXPECT_ST(buffdb_writer_commit(w, NULL), BUFFDB_CLOSED);
    EXPECT_ST(buffdb_writer_abort(w), BUFFDB_CLOSED);
    EXPECT_ST(buffdb_writer_written(w, &u), BUFFDB_CLOSED);
    buffdb_writer_free(w);
    w = NULL;
    /* a finished transaction */
    OK(buffdb_begin(db, &t));
    OK(buffdb_txn_put(t, K("k"), K("v")));
    OK(buffdb_txn_commit(t));
    EXPECT_ST(buffdb_txn_put(t, K("k2"), K("v")), BUFFDB_CLOSED);
    EXPECT_ST(buffdb_txn_get(t, K("k"), buf, sizeof buf, &n), BUFFDB_CLOSED);
    EXPECT_ST(buffdb_txn_commit(t), BUFFDB_CLOSED);
    EXPECT_ST(buffdb_txn_rollback(t), BUFFDB_CLOSED);
    buffdb_txn_free(t);
    t = NULL;
    /* a closed database: handles opened before stay memory-safe */
    OK(buffdb_stream_open(db, "/w", &r));
    OK(buffdb_scan(db, K(""), NULL, 0, BUFFDB_NO_LIMIT, &kc));
    OK(buffdb_stream_writer(db, "/w2", &w));
    OK(buffdb_shutdown(db));
    OK(buffdb_shutdown(db)); /* idempotent */
    OK(buffdb_is_closed(db, &b));
    EXPECT(b);
    EXPECT_ST(buffdb_put(db, K("k"), K("v")), BUFFDB_CLOSED);
    EXPECT_ST(buffdb_get(db, K("k"), buf, sizeof buf, &n), BUFFDB_CLOSED);
    EXPECT_ST(buffdb_blob_put(db, K("x"), NULL, &u), BUFFDB_CLOSED);
    EXPECT_ST(buffdb_stream_write(db, "/x", K("x"), NULL), BUFFDB_CLOSED);
    EXPECT_ST(buffdb_stream_open(db, "/w", &r), BUFFDB_CLOSED);
    EXPECT_ST(buffdb_begin(db, &t), BUFFDB_CLOSED);
    EXPECT_ST(buffdb_search_count(db, "/", &u), BUFFDB_CLOSED);
    {
        buffdb_query_result *q = NULL;
        EXPECT_ST(buffdb_query(db, "SELECT 1", NULL, 0, &q), BUFFDB_CLOSED);
        EXPECT(q == NULL);
    }
    EXPECT_ST(buffdb_checkpoint(db), BUFFDB_CLOSED);
    EXPECT_ST(buffdb_reader_read(r, buf, sizeof buf, &n), BUFFDB_CLOSED);
    {
        EXPECT_ST(buffdb_writer_write(w, K("x")), BUFFDB_CLOSED);
        EXPECT_ST(buffdb_writer_commit(w, NULL), BUFFDB_CLOSED);
    }
    {
        const uint8_t *key = NULL;
        EXPECT_ST(buffdb_kv_cursor_next(kc, &key, &n, NULL, NULL), BUFFDB_CLOSED);
    }
    buffdb_kv_cursor_free(kc);
    kc = NULL;
    buffdb_writer_free(w);
    w = NULL;
    EXPECT(t == NULL);
    buffdb_reader_free(r);
    r = NULL;
    OK(buffdb_close(db));
    db = NULL;
    return 1;
fail:
    buffdb_reader_free(r);
    buffdb_kv_cursor_free(kc);
    buffdb_writer_free(w);
    buffdb_txn_free(t);
    buffdb_close(db);
    return 0;
}

static int t_options_and_files(void) {
    char path[4096], junk[4096];
    buffdb_options *o = NULL;
    buffdb_db *db = NULL;
    FILE *f;
    char back[64];
    size_t n;
    snprintf(path, sizeof path, "%s/ro.bdb", g_dir);
    snprintf(junk, sizeof junk, "%s/junk.txt", g_dir);
    OK(buffdb_options_new(&o));
    OK(buffdb_options_set_chunk_size(o, 100));
    INVALID(buffdb_open(path, o, &db));
    EXPECT(db == NULL);
    OK(buffdb_options_set_chunk_size(o, 4096));
    OK(buffdb_options_set_page_size(o, 5000));
    INVALID(buffdb_open(path, o, &db));
    EXPECT(db == NULL);
    OK(buffdb_options_set_page_size(o, 65536));
    OK(buffdb_options_set_create(o, false));
    EXPECT(buffdb_open(path, o, &db) != BUFFDB_OK); /* create off and no file */
    EXPECT(db == NULL);
    OK(buffdb_options_set_create(o, true));
    OK(buffdb_options_set_durability(o, "full"));
    OK(buffdb_options_set_versions_to_keep(o, 3));
    OK(buffdb_options_set_compression(o, true));
    OK(buffdb_options_set_verify_checksums(o, true));
    OK(buffdb_options_set_cache_size(o, 1 << 20));
    OK(buffdb_options_set_max_document_size(o, 10));
    OK(buffdb_options_set_busy_timeout_ms(o, 100));
    OK(buffdb_open(path, o, &db));
    OK(buffdb_put(db, K("k"), K("v")));
    EXPECT_ST(buffdb_stream_write(db, "/big", K("more than ten bytes"), NULL), BUFFDB_TOO_LARGE);
    OK(buffdb_close(db));
    db = NULL;
    OK(buffdb_options_set_read_only(o, true));
    OK(buffdb_open(path, o, &db));
    EXPECT_ST(buffdb_put(db, K("k"), K("v2")), BUFFDB_READ_ONLY);
    OK(buffdb_close(db));
    db = NULL;
    /* a file that is not a database is refused and left untouched */
    f = fopen(junk, "wb");
    EXPECT(f);
    fputs("this is not a database, just some text that is long enough", f);
    fclose(f);
    EXPECT_ST(buffdb_open(junk, NULL, &db), BUFFDB_NOT_A_DATABASE);
    EXPECT(db == NULL);
    f = fopen(junk, "rb");
    EXPECT(f);
    n = fread(back, 1, sizeof back - 1, f);
    fclose(f);
    back[n] = 0;
    EXPECT(strcmp(back, "this is not a database, just some text that is long enough") == 0);
    buffdb_options_free(o);
    return 1;
fail:
    buffdb_options_free(o);
    buffdb_close(db);
    return 0;
}

/* The whole file at `path` (malloc'd; NULL if it cannot be read). */
static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *b = NULL;
    long n;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0
        && (b = malloc((size_t)n + 1)) != NULL && fread(b, 1, (size_t)n, f) == (size_t)n) {
        *len = (size_t)n;
    } else {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

/* Whether the file at `path` still holds exactly `want[0..n)`. */
static int same_file(const char *path, const unsigned char *want, size_t n) {
    size_t m = 0;
    unsigned char *b = slurp(path, &m);
    int same = b && m == n && memcmp(b, want, n) == 0;
    free(b);
    return same;
}

/* Encryption keys: a wrong, missing or needless key is a clear error and changes nothing;
 * the options keep their own copy of the caller's key. Without encryption in the library
 * a key is refused, never ignored. */
static int t_encryption(void) {
    char path[4096], plain[4096];
    char pass[32];
    uint8_t raw[32], got[16];
    buffdb_options *o = NULL;
    buffdb_db *db = NULL;
    unsigned char *before = NULL;
    size_t n = 0, len = 0;
    snprintf(path, sizeof path, "%s/encrypted.bdb", g_dir);
    snprintf(plain, sizeof plain, "%s/plain-for-key.bdb", g_dir);
    memset(raw, 0x5a, sizeof raw);
    OK(buffdb_options_new(&o));
    INVALID(buffdb_options_set_encryption_key(o, raw, 31));
    INVALID(buffdb_options_set_encryption_key(o, NULL, 32));
    INVALID(buffdb_options_set_encryption_passphrase(o, "a\0b", 3));
    INVALID(buffdb_options_set_encryption_passphrase(o, "\xff", 1));
    INVALID(buffdb_options_set_encryption_passphrase(NULL, "pw", 2));
    strcpy(pass, "correct horse");
    OK(buffdb_options_set_encryption_passphrase(o, pass, strlen(pass)));
    memset(pass, 0, sizeof pass); /* the options hold their own copy */
    if (!buffdb_encryption_available()) {
        INVALID(buffdb_open(path, o, &db));
        EXPECT(db == NULL);
        EXPECT(strstr(buffdb_last_error_message(), "encryption") != NULL);
        EXPECT(slurp(path, &n) == NULL); /* nothing was made */
        INVALID(buffdb_rekey(path, o, o, NULL));
        buffdb_options_free(o);
        return 1;
    }
    OK(buffdb_open(path, o, &db));
    OK(buffdb_put(db, K("k"), K("secret value")));
    OK(buffdb_close(db));
    db = NULL;
    before = slurp(path, &n);
    EXPECT(before && n > 16 && memcmp(before, "SQLite format 3", 15) != 0);
    /* no key, a wrong passphrase, a raw key: NOT_A_DATABASE naming the key; file unchanged */
    EXPECT_ST(buffdb_open(path, NULL, &db), BUFFDB_NOT_A_DATABASE);
    EXPECT(strstr(buffdb_last_error_message(), "key") != NULL);
    EXPECT(db == NULL);
    OK(buffdb_options_set_encryption_passphrase(o, "wrong horse", 11));
    EXPECT_ST(buffdb_open(path, o, &db), BUFFDB_NOT_A_DATABASE);
    EXPECT(strstr(buffdb_last_error_message(), "key") != NULL);
    OK(buffdb_options_set_encryption_key(o, raw, sizeof raw));
    EXPECT_ST(buffdb_open(path, o, &db), BUFFDB_NOT_A_DATABASE);
    EXPECT(db == NULL);
    EXPECT(same_file(path, before, n));
    /* the right passphrase opens it */
    OK(buffdb_options_set_encryption_passphrase(o, "correct horse", 13));
    OK(buffdb_open(path, o, &db));
    OK(buffdb_get(db, K("k"), got, sizeof got, &len));
    EXPECT(len == 12 && memcmp(got, "secret value", 12) == 0);
    OK(buffdb_close(db));
    db = NULL;
    /* buffdb_rekey: to the raw key (checked), the old key no longer opens it; and back */
    {
        buffdb_options *n = NULL;
        buffdb_check_result cr;
        memset(&cr, 0, sizeof cr);
        OK(buffdb_options_new(&n));
        EXPECT_ST(buffdb_rekey(path, o, n, NULL), BUFFDB_INVALID_ARGUMENT); /* n holds no key */
        OK(buffdb_options_set_encryption_key(n, raw, sizeof raw));
        EXPECT_ST(buffdb_rekey(path, n, o, NULL), BUFFDB_NOT_A_DATABASE); /* not its key */
        OK(buffdb_rekey(path, o, n, &cr));
        EXPECT(cr.ok && cr.sqlite_errors == 0);
        EXPECT_ST(buffdb_open(path, o, &db), BUFFDB_NOT_A_DATABASE);
        OK(buffdb_open(path, n, &db));
        OK(buffdb_get(db, K("k"), got, sizeof got, &len));
        EXPECT(len == 12 && memcmp(got, "secret value", 12) == 0);
        OK(buffdb_close(db));
        db = NULL;
        OK(buffdb_rekey(path, n, o, NULL));
        buffdb_options_free(n);
    }
    /* a key for a plaintext database: INVALID_ARGUMENT, file unchanged */
    OK(buffdb_open(plain, NULL, &db));
    OK(buffdb_put(db, K("k"), K("v")));
    OK(buffdb_close(db));
    db = NULL;
    free(before);
    before = slurp(plain, &n);
    EXPECT(before);
    EXPECT_ST(buffdb_open(plain, o, &db), BUFFDB_INVALID_ARGUMENT);
    EXPECT(strstr(buffdb_last_error_message(), "not encrypted") != NULL);
    EXPECT(db == NULL);
    EXPECT(same_file(plain, before, n));
    /* NULL with 0 removes the key: the plaintext file opens again */
    OK(buffdb_options_set_encryption_key(o, NULL, 0));
    OK(buffdb_open(plain, o, &db));
    OK(buffdb_close(db));
    db = NULL;
    free(before);
    buffdb_options_free(o);
    return 1;
fail:
    free(before);
    buffdb_options_free(o);
    buffdb_close(db);
    return 0;
}

/* The calls the shared cases do not reach. */
static int t_api_tour(void) {
    buffdb_db *db = open_tmp("tour");
    buffdb_options *o = NULL;
    buffdb_writer *w = NULL;
    buffdb_reader *r = NULL;
    buffdb_txn *t = NULL;
    buffdb_kv_cursor *kc = NULL;
    buffdb_query_result *q = NULL;
    buffdb_stream_info info, infos[4];
    buffdb_blob_info bi;
    buffdb_db_stats stats;
    buffdb_check_result check;
    uint8_t buf[64];
    const uint8_t *chunk, *k, *v;
    const char *name;
    size_t n = 0, kl, vl, total;
    uint64_t u = 0, ids[2], id1 = 0;
    char *meta = NULL;
    bool b = false;
    int i;
    EXPECT(db);
    (void)o;
    /* writer with a compression override, reader seek/tell/read_at/next_chunk/info */
    OK(buffdb_stream_writer_compressed(db, "/tour/doc", true, &w));
    for (i = 0; i < 100; i++) OK(buffdb_writer_write(w, K("0123456789")));
    OK(buffdb_writer_written(w, &u));
    EXPECT(u == 1000);
    OK(buffdb_writer_commit(w, &info));
    buffdb_writer_free(w);
    w = NULL;
    EXPECT(info.size == 1000 && info.version == 1);
    OK(buffdb_stream_writer(db, "/tour/aborted", &w));
    OK(buffdb_writer_write(w, K("never")));
    OK(buffdb_writer_abort(w));
    buffdb_writer_free(w);
    w = NULL;
    OK(buffdb_stream_exists(db, "/tour/aborted", &b));
    EXPECT(!b);
    OK(buffdb_stream_writer(db, "/tour/dropped", &w));
    OK(buffdb_writer_write(w, K("never")));
    buffdb_writer_free(w); /* free without commit = abort */
    w = NULL;
    OK(buffdb_stream_exists(db, "/tour/dropped", &b));
    EXPECT(!b);
    OK(buffdb_stream_open(db, "/tour/doc", &r));
    OK(buffdb_reader_size(r, &u));
    EXPECT(u == 1000);
    OK(buffdb_reader_seek(r, 995, &u));
    EXPECT(u == 995);
    OK(buffdb_reader_read(r, buf, sizeof buf, &n));
    EXPECT(n == 5 && memcmp(buf, "56789", 5) == 0);
    OK(buffdb_reader_tell(r, &u));
    EXPECT(u == 1000);
    OK(buffdb_reader_read(r, buf, sizeof buf, &n));
    EXPECT(n == 0);
    OK(buffdb_reader_seek(r, 5000, NULL));
    OK(buffdb_reader_read(r, buf, sizeof buf, &n));
    EXPECT(n == 0);
    OK(buffdb_reader_read_at(r, 13, buf, 4, &n));
    EXPECT(n == 4 && memcmp(buf, "3456", 4) == 0);
    OK(buffdb_reader_info(r, &info));
    EXPECT(info.size == 1000 && info.version == 1);
    OK(buffdb_reader_seek(r, 0, NULL));
    total = 0;
    for (;;) {
        OK(buffdb_reader_next_chunk(r, &chunk, &n));
        if (!chunk) break;
        EXPECT(n > 0 && chunk[0] == (uint8_t)('0' + total % 10));
        total += n;
    }
    EXPECT(total == 1000);
    buffdb_reader_free(r);
    r = NULL;
    OK(buffdb_stream_versions(db, "/tour/doc", infos, 4, &n));
    EXPECT(n == 1 && infos[0].version == 1 && infos[0].size == 1000);
    /* blobs: info, ids paging, reader over a blob */
    OK(buffdb_blob_put(db, K("first"), "one", &id1));
    OK(buffdb_blob_put(db, K("second"), NULL, &u));
    OK(buffdb_blob_stat(db, id1, &bi));
    EXPECT(bi.id == id1 && bi.size == 5 && bi.has_metadata);
    EXPECT_ST(buffdb_blob_stat(db, 12345, &bi), BUFFDB_NOT_FOUND);
    OK(buffdb_blob_ids(db, 0, ids, 1, &n));
    EXPECT(n == 1 && ids[0] == id1);
    OK(buffdb_blob_ids(db, ids[0], ids, 2, &n));
    EXPECT(n == 1 && ids[0] == u);
    OK(buffdb_blob_ids(db, u, ids, 2, &n));
    EXPECT(n == 0);
    OK(buffdb_blob_open(db, id1, &r));
    EXPECT_ST(buffdb_reader_info(r, &info), BUFFDB_INVALID_ARGUMENT);
    OK(buffdb_reader_read(r, buf, sizeof buf, &n));
    EXPECT(n == 5 && memcmp(buf, "first", 5) == 0);
    buffdb_reader_free(r);
    r = NULL;
    EXPECT_ST(buffdb_blob_open(db, 12345, &r), BUFFDB_NOT_FOUND);
    OK(buffdb_blob_metadata(db, id1, &meta));
    EXPECT(meta && strcmp(meta, "one") == 0);
    buffdb_string_free(meta);
    meta = NULL;
    /* KV: keys cursor, limits, start_after */
    for (i = 0; i < 5; i++) {
        char key[32];
        snprintf(key, sizeof key, "user:%d", i);
        OK(buffdb_put(db, K(key), K("x")));
    }
    OK(buffdb_keys(db, K("user:"), K("user:1"), 2, &kc));
    OK(buffdb_kv_cursor_next(kc, &k, &kl, &v, &vl));
    EXPECT(k && kl == 6 && memcmp(k, "user:2", 6) == 0 && vl == 0);
    OK(buffdb_kv_cursor_next(kc, &k, &kl, NULL, NULL));
    EXPECT(k && memcmp(k, "user:3", 6) == 0);
    OK(buffdb_kv_cursor_next(kc, &k, &kl, NULL, NULL));
    EXPECT(k == NULL && kl == 0);
    OK(buffdb_kv_cursor_next(kc, &k, &kl, NULL, NULL)); /* stays at the end */
    EXPECT(k == NULL);
    buffdb_kv_cursor_free(kc);
    kc = NULL;
    /* transactions: own writes visible to its scan; free = rollback */
    OK(buffdb_begin(db, &t));
    OK(buffdb_txn_put(t, K("user:9"), K("t")));
    OK(buffdb_txn_scan(t, K("user:"), NULL, 0, BUFFDB_NO_LIMIT, &kc));
    total = 0;
    for (;;) {
        OK(buffdb_kv_cursor_next(kc, &k, &kl, &v, &vl));
        if (!k) break;
        total++;
    }
    EXPECT(total == 6);
    buffdb_kv_cursor_free(kc);
    kc = NULL;
    OK(buffdb_txn_stream_write(t, "/tour/t", K("in txn"), &info));
    OK(buffdb_txn_stream_stat(t, "/tour/t", &info));
    EXPECT(info.size == 6);
    buffdb_txn_free(t); /* rolls back */
    t = NULL;
    OK(buffdb_contains(db, K("user:9"), &b));
    EXPECT(!b);
    OK(buffdb_stream_exists(db, "/tour/t", &b));
    EXPECT(!b);
    /* query accessors */
    {
        buffdb_value p[1], cell;
        p[0].kind = BUFFDB_VALUE_TEXT;
        p[0].data = (const uint8_t *)"user:%";
        p[0].len = 6;
        p[0].integer = 0;
        p[0].real = 0;
        OK(buffdb_query(db, "SELECT key_text AS k, 42, 1.5, NULL, x'00ff' FROM kv WHERE key_text LIKE ? ORDER BY key LIMIT 1", p, 1, &q));
        OK(buffdb_query_result_column_count(q, &n));
        EXPECT(n == 5);
        OK(buffdb_query_result_column_name(q, 0, &name));
        EXPECT(strcmp(name, "k") == 0);
        INVALID(buffdb_query_result_column_name(q, 5, &name));
        OK(buffdb_query_result_row_count(q, &n));
        EXPECT(n == 1);
        OK(buffdb_query_result_value(q, 0, 0, &cell));
        EXPECT(cell.kind == BUFFDB_VALUE_TEXT && strcmp((const char *)cell.data, "user:0") == 0);
        OK(buffdb_query_result_value(q, 0, 1, &cell));
        EXPECT(cell.kind == BUFFDB_VALUE_INTEGER && cell.integer == 42);
        OK(buffdb_query_result_value(q, 0, 2, &cell));
        EXPECT(cell.kind == BUFFDB_VALUE_REAL && cell.real == 1.5);
        OK(buffdb_query_result_value(q, 0, 3, &cell));
        EXPECT(cell.kind == BUFFDB_VALUE_NULL);
        OK(buffdb_query_result_value(q, 0, 4, &cell));
        EXPECT(cell.kind == BUFFDB_VALUE_BLOB && cell.len == 2 && cell.data[1] == 0xff);
        INVALID(buffdb_query_result_value(q, 1, 0, &cell));
        buffdb_query_result_free(q);
        q = NULL;
        p[0].kind = 77;
        INVALID(buffdb_query(db, "SELECT ?", p, 1, &q));
        EXPECT(q == NULL);
    }
    /* maintenance */
    OK(buffdb_checkpoint(db));
    OK(buffdb_stats(db, &stats));
    EXPECT(stats.kv_count == 5 && stats.blob_count == 2 && stats.stream_count == 1);
    OK(buffdb_check(db, &check));
    EXPECT(check.ok && check.damaged_streams == 0);
    OK(buffdb_is_closed(db, &b));
    EXPECT(!b);
    OK(buffdb_close(db));
    return 1;
fail:
    buffdb_writer_free(w);
    buffdb_reader_free(r);
    buffdb_txn_free(t);
    buffdb_kv_cursor_free(kc);
    buffdb_query_result_free(q);
    buffdb_string_free(meta);
    buffdb_close(db);
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Transactions: every operation, and the cursors, readers and writers opened in one     */

/* `n` bytes of a pattern that differs with `seed` (so a wrong chunk never compares equal). */
static uint8_t *pattern(size_t n, unsigned seed) {
    uint8_t *p = malloc(n ? n : 1);
    size_t j;
    if (!p) return NULL;
    for (j = 0; j < n; j++) p[j] = (uint8_t)((j * 31 + seed * 7 + j / 251) & 0xff);
    return p;
}

/* Reads a reader to its end into `buf` (`cap` bytes); `*got` = how many. */
static buffdb_status read_all(buffdb_reader *r, uint8_t *buf, size_t cap, size_t *got) {
    size_t n = 0;
    buffdb_status st;
    *got = 0;
    do {
        st = buffdb_reader_read(r, buf + *got, cap - *got < 7000 ? cap - *got : 7000, &n);
        *got += n;
    } while (st == BUFFDB_OK && n > 0 && *got < cap);
    return st;
}

/* Cursors, readers and search opened in a transaction read its view (its own writes,
 * not yet the database's) and give CLOSED once it ends; then the database shows the
 * writes (commit) or nothing of them (rollback). */
static int txn_views_round(int commit) {
    char name[32], key[32];
    buffdb_db *db = NULL;
    buffdb_txn *t = NULL;
    buffdb_kv_cursor *kc = NULL, *keys = NULL;
    buffdb_search_cursor *sc = NULL;
    buffdb_reader *r = NULL, *old_r = NULL, *br = NULL;
    buffdb_query_result *q = NULL;
    buffdb_stream_info info, infos[4];
    buffdb_blob_info bi;
    buffdb_value cell;
    buffdb_bytes vals[2];
    buffdb_slice ks[2];
    const uint8_t *k, *v;
    const char *p;
    uint8_t *data = pattern(100000, 4), *blob = pattern(70000, 5), *buf = malloc(100000), *alloc = NULL;
    size_t n = 0, kl, vl, got, total;
    uint64_t first = 0, id = 0, u = 0, ids[4];
    bool b = false;
    int i;
    EXPECT(data && blob && buf);
    snprintf(name, sizeof name, "txn-views-%d", commit);
    db = open_tmp(name);
    EXPECT(db);
    OK(buffdb_put(db, K("k:old"), K("committed")));
    OK(buffdb_stream_write(db, "/s", K("old version"), NULL));
    OK(buffdb_blob_put(db, K("same"), NULL, &first));
    OK(buffdb_begin(db, &t));
    for (i = 0; i < 300; i++) {
        snprintf(key, sizeof key, "k:%04d", i);
        OK(buffdb_txn_put(t, K(key), K("new")));
    }
    OK(buffdb_txn_delete(t, K("k:old"), &b));
    EXPECT(b);
    OK(buffdb_txn_stream_write(t, "/s", data, 100000, &info));
    EXPECT(info.version == 2 && info.size == 100000);
    OK(buffdb_txn_stream_write(t, "/p/a", K("x"), NULL));
    OK(buffdb_txn_blob_put(t, blob, 70000, "m", &id));
    EXPECT(id == first + 1);
    /* KV: a lazy scan and keys cursor over the transaction's rows */
    OK(buffdb_txn_scan(t, K("k:"), NULL, 0, BUFFDB_NO_LIMIT, &kc));
    OK(buffdb_kv_cursor_next(kc, &k, &kl, &v, &vl));
    EXPECT(k && kl == 6 && memcmp(k, "k:0000", 6) == 0 && vl == 3 && memcmp(v, "new", 3) == 0);
    OK(buffdb_txn_keys(t, K("k:"), NULL, 0, BUFFDB_NO_LIMIT, &keys));
    for (total = 0;; total++) {
        OK(buffdb_kv_cursor_next(keys, &k, &kl, NULL, NULL));
        if (!k) break;
    }
    EXPECT(total == 300); /* the deleted k:old is not among them */
    buffdb_kv_cursor_free(keys);
    keys = NULL;
    OK(buffdb_txn_keys(t, K("k:"), K("k:0297"), 10, &keys));
    OK(buffdb_kv_cursor_next(keys, &k, &kl, NULL, NULL));
    EXPECT(k && memcmp(k, "k:0298", 6) == 0);
    ks[0].data = (const uint8_t *)"k:0001", ks[0].len = 6;
    ks[1].data = (const uint8_t *)"k:old", ks[1].len = 5;
    OK(buffdb_txn_get_many(t, ks, 2, vals));
    EXPECT(vals[0].len == 3 && memcmp(vals[0].data, "new", 3) == 0 && vals[1].data == NULL);
    buffdb_bytes_array_free(vals, 2);
    ks[1].data = (const uint8_t *)"k:0002", ks[1].len = 6;
    OK(buffdb_txn_eq(t, ks, 2, &b));
    EXPECT(b);
    OK(buffdb_txn_not_eq(t, ks, 2, &b));
    EXPECT(!b);
    /* streams: the transaction's version through a reader, the kept old one too */
    OK(buffdb_txn_stream_open(t, "/s", &r));
    OK(buffdb_reader_info(r, &info));
    EXPECT(info.version == 2);
    OK(buffdb_reader_read(r, buf, 10000, &n));
    EXPECT(n == 10000 && memcmp(buf, data, 10000) == 0);
    OK(buffdb_txn_stream_open_version(t, "/s", 1, &old_r));
    OK(read_all(old_r, buf, 100000, &got));
    EXPECT(got == 11 && memcmp(buf, "old version", 11) == 0);
    OK(buffdb_txn_stream_read_range(t, "/s", 99990, buf, 100, &n));
    EXPECT(n == 10 && memcmp(buf, data + 99990, 10) == 0);
    OK(buffdb_txn_stream_read_range_alloc(t, "/s", 5, 20, &alloc, &n));
    EXPECT(n == 20 && memcmp(alloc, data + 5, 20) == 0);
    buffdb_bytes_free(alloc, n);
    alloc = NULL;
    OK(buffdb_txn_stream_versions(t, "/s", infos, 4, &n));
    EXPECT(n == 2 && infos[0].version == 1 && infos[1].version == 2);
    OK(buffdb_txn_stream_exists(t, "/p/a", &b));
    EXPECT(b);
    OK(buffdb_stream_exists(db, "/p/a", &b));
    EXPECT(!b);
    /* search */
    OK(buffdb_txn_search_count(t, "/", &u));
    EXPECT(u == 2);
    OK(buffdb_txn_search(t, "/", NULL, BUFFDB_NO_LIMIT, &sc));
    OK(buffdb_search_next(sc, &p, &n));
    EXPECT(p && strcmp(p, "/p/a") == 0);
    /* blobs: a reader over the transaction's blob, its facts, comparisons, ids */
    OK(buffdb_txn_blob_open(t, id, &br));
    OK(read_all(br, buf, 100000, &got));
    EXPECT(got == 70000 && memcmp(buf, blob, 70000) == 0);
    OK(buffdb_txn_blob_stat(t, id, &bi));
    EXPECT(bi.id == id && bi.size == 70000 && bi.has_metadata);
    EXPECT_ST(buffdb_blob_stat(db, id, &bi), BUFFDB_NOT_FOUND);
    ids[0] = first, ids[1] = id;
    OK(buffdb_txn_blob_not_eq(t, ids, 2, &b));
    EXPECT(b);
    OK(buffdb_txn_blob_eq(t, ids, 2, &b));
    EXPECT(!b);
    OK(buffdb_txn_blob_ids(t, 0, ids, 4, &n));
    EXPECT(n == 2 && ids[0] == first && ids[1] == id);
    /* query sees the transaction's rows; the database does not yet */
    OK(buffdb_txn_query(t, "SELECT count(*) FROM kv WHERE value_text = 'new'", NULL, 0, &q));
    OK(buffdb_query_result_value(q, 0, 0, &cell));
    EXPECT(cell.kind == BUFFDB_VALUE_INTEGER && cell.integer == 300);
    buffdb_query_result_free(q);
    q = NULL;
    OK(buffdb_query(db, "SELECT count(*) FROM kv WHERE value_text = 'new'", NULL, 0, &q));
    OK(buffdb_query_result_value(q, 0, 0, &cell));
    EXPECT(cell.integer == 0);
    buffdb_query_result_free(q);
    q = NULL;
    /* the database reads the committed state meanwhile */
    OK(buffdb_stream_read(db, "/s", buf, 100000, &n));
    EXPECT(n == 11);
    OK(buffdb_contains(db, K("k:old"), &b));
    EXPECT(b);
    OK(commit ? buffdb_txn_commit(t) : buffdb_txn_rollback(t));
    /* every handle opened in it ends with it: CLOSED, even for rows already fetched */
    EXPECT_ST(buffdb_kv_cursor_next(kc, &k, &kl, &v, &vl), BUFFDB_CLOSED);
    OK(buffdb_kv_cursor_next(kc, &k, &kl, &v, &vl)); /* then the end */
    EXPECT(k == NULL);
    EXPECT_ST(buffdb_kv_cursor_next(keys, &k, &kl, NULL, NULL), BUFFDB_CLOSED);
    EXPECT_ST(buffdb_search_next(sc, &p, &n), BUFFDB_CLOSED);
    EXPECT_ST(buffdb_reader_read(r, buf, 100, &n), BUFFDB_CLOSED);
    EXPECT_ST(buffdb_reader_seek(br, 0, NULL), BUFFDB_CLOSED);
    EXPECT_ST(buffdb_reader_read(old_r, buf, 100, &n), BUFFDB_CLOSED);
    /* the database: every write (commit) or none (rollback) */
    OK(buffdb_count(db, K("k:"), &u));
    EXPECT(u == (commit ? 300u : 1u));
    OK(buffdb_contains(db, K("k:old"), &b));
    EXPECT(b == !commit);
    OK(buffdb_stream_read(db, "/s", buf, 100000, &n));
    EXPECT(commit ? n == 100000 && memcmp(buf, data, n) == 0 : n == 11 && memcmp(buf, "old version", 11) == 0);
    EXPECT_ST(buffdb_blob_get(db, id, buf, 100000, &n), commit ? BUFFDB_OK : BUFFDB_NOT_FOUND);
    if (commit) EXPECT(n == 70000 && memcmp(buf, blob, n) == 0);
    OK(buffdb_search_count(db, "/p/", &u));
    EXPECT(u == (commit ? 1u : 0u));
    buffdb_kv_cursor_free(kc);
    buffdb_kv_cursor_free(keys);
    buffdb_search_cursor_free(sc);
    buffdb_reader_free(r);
    buffdb_reader_free(old_r);
    buffdb_reader_free(br);
    buffdb_txn_free(t);
    OK(buffdb_close(db));
    free(data);
    free(blob);
    free(buf);
    return 1;
fail:
    buffdb_kv_cursor_free(kc);
    buffdb_kv_cursor_free(keys);
    buffdb_search_cursor_free(sc);
    buffdb_reader_free(r);
    buffdb_reader_free(old_r);
    buffdb_reader_free(br);
    buffdb_query_result_free(q);
    buffdb_bytes_free(alloc, n);
    buffdb_txn_free(t);
    buffdb_close(db);
    free(data);
    free(blob);
    free(buf);
    return 0;
}

static int t_txn_views(void) { return txn_views_round(1) && txn_views_round(0); }

/* A stream writer opened in a transaction writes inside it: its version is visible to
 * the transaction once the writer commits, to others when the transaction commits, and
 * gone when it rolls back; an unfinished writer leaves nothing; a writer still open when
 * the transaction ends gives CLOSED. */
static int txn_writer_round(int commit) {
    char name[32];
    buffdb_db *db = NULL;
    buffdb_txn *t = NULL;
    buffdb_writer *w = NULL, *late = NULL;
    buffdb_stream_info info;
    buffdb_db_stats stats;
    buffdb_check_result check;
    uint8_t *data = pattern(200000, 6), *other = pattern(50000, 7), *buf = malloc(200000);
    size_t n = 0, off;
    uint64_t u = 0, chunks_in_txn;
    EXPECT(data && other && buf);
    snprintf(name, sizeof name, "txn-writer-%d", commit);
    db = open_tmp(name);
    EXPECT(db);
    OK(buffdb_begin(db, &t));
    OK(buffdb_txn_stream_writer(t, "/w", &w));
    for (off = 0; off < 200000; off += 7000) OK(buffdb_writer_write(w, data + off, 200000 - off < 7000 ? 200000 - off : 7000));
    OK(buffdb_writer_written(w, &u));
    EXPECT(u == 200000);
    OK(buffdb_writer_commit(w, &info));
    EXPECT(info.version == 1 && info.size == 200000);
    buffdb_writer_free(w);
    w = NULL;
    OK(buffdb_txn_put(t, K("record"), K("weights v1")));
    OK(buffdb_txn_stream_read(t, "/w", buf, 200000, &n));
    EXPECT(n == 200000 && memcmp(buf, data, n) == 0);
    EXPECT_ST(buffdb_stream_stat(db, "/w", &info), BUFFDB_NOT_FOUND);
    /* an unfinished writer (freed = aborted) leaves nothing behind */
    OK(buffdb_txn_stream_writer_compressed(t, "/w", true, &w));
    OK(buffdb_writer_write(w, other, 50000));
    buffdb_writer_free(w);
    w = NULL;
    OK(buffdb_txn_stream_stat(t, "/w", &info));
    EXPECT(info.version == 1);
    chunks_in_txn = info.chunk_count;
    /* a writer still open when the transaction ends */
    OK(buffdb_txn_stream_writer(t, "/late", &late));
    OK(buffdb_writer_write(late, other, 5000));
    OK(commit ? buffdb_txn_commit(t) : buffdb_txn_rollback(t));
    EXPECT_ST(buffdb_writer_write(late, other, 40000), BUFFDB_CLOSED);
    EXPECT_ST(buffdb_writer_commit(late, &info), BUFFDB_CLOSED);
    buffdb_writer_free(late);
    late = NULL;
    EXPECT_ST(buffdb_stream_stat(db, "/late", &info), BUFFDB_NOT_FOUND);
    if (commit) {
        OK(buffdb_stream_read(db, "/w", buf, 200000, &n));
        EXPECT(n == 200000 && memcmp(buf, data, n) == 0);
        OK(buffdb_get(db, K("record"), buf, 64, &n));
        EXPECT(n == 10 && memcmp(buf, "weights v1", 10) == 0);
        OK(buffdb_stream_stat(db, "/w", &info));
        EXPECT(info.chunk_count == chunks_in_txn);
    } else {
        EXPECT_ST(buffdb_stream_stat(db, "/w", &info), BUFFDB_NOT_FOUND);
        EXPECT_ST(buffdb_get(db, K("record"), buf, 64, &n), BUFFDB_NOT_FOUND);
    }
    OK(buffdb_stats(db, &stats));
    EXPECT(stats.stream_count == (commit ? 1u : 0u));
    OK(buffdb_check(db, &check));
    EXPECT(check.ok);
    buffdb_txn_free(t);
    OK(buffdb_close(db));
    free(data);
    free(other);
    free(buf);
    return 1;
fail:
    buffdb_writer_free(w);
    buffdb_writer_free(late);
    buffdb_txn_free(t);
    buffdb_close(db);
    free(data);
    free(other);
    free(buf);
    return 0;
}

static int t_txn_writers(void) { return txn_writer_round(1) && txn_writer_round(0); }

/* Every buffdb_txn_ operation on `t` gives `want` and writes no out-parameter. */
static int every_txn_op(buffdb_txn *t, buffdb_status want) {
    uint8_t buf[8], *data = NULL;
    size_t n = 7;
    uint64_t u = 7, ids[1] = {1};
    bool b = true;
    char *meta = NULL;
    buffdb_kv_cursor *kc = NULL;
    buffdb_search_cursor *sc = NULL;
    buffdb_reader *r = NULL;
    buffdb_writer *w = NULL;
    buffdb_query_result *q = NULL;
    buffdb_indexes *il = NULL;
    buffdb_find_cursor *fc = NULL;
    buffdb_stream_info info, infos[1];
    buffdb_blob_info bi;
    buffdb_slice ks[1];
    buffdb_kv_pair kv[1];
    buffdb_bytes vals[1];
    ks[0].data = (const uint8_t *)"k", ks[0].len = 1;
    kv[0].key = (const uint8_t *)"k", kv[0].key_len = 1, kv[0].value = (const uint8_t *)"v", kv[0].value_len = 1;
    vals[0].data = NULL, vals[0].len = 0;
    EXPECT_ST(buffdb_txn_get(t, K("k"), buf, sizeof buf, &n), want);
    EXPECT_ST(buffdb_txn_get_alloc(t, K("k"), &data, &n), want);
    EXPECT_ST(buffdb_txn_put(t, K("k"), K("v")), want);
    EXPECT_ST(buffdb_txn_delete(t, K("k"), &b), want);
    EXPECT_ST(buffdb_txn_contains(t, K("k"), &b), want);
    EXPECT_ST(buffdb_txn_count(t, K(""), &u), want);
    EXPECT_ST(buffdb_txn_put_many(t, kv, 1), want);
    EXPECT_ST(buffdb_txn_get_many(t, ks, 1, vals), want);
    EXPECT_ST(buffdb_txn_eq(t, ks, 1, &b), want);
    EXPECT_ST(buffdb_txn_not_eq(t, ks, 1, &b), want);
    EXPECT_ST(buffdb_txn_scan(t, K(""), NULL, 0, BUFFDB_NO_LIMIT, &kc), want);
    EXPECT_ST(buffdb_txn_keys(t, K(""), NULL, 0, BUFFDB_NO_LIMIT, &kc), want);
    EXPECT_ST(buffdb_txn_blob_put(t, K("x"), NULL, &u), want);
    EXPECT_ST(buffdb_txn_blob_get(t, 1, buf, sizeof buf, &n), want);
    EXPECT_ST(buffdb_txn_blob_get_alloc(t, 1, &data, &n), want);
    EXPECT_ST(buffdb_txn_blob_metadata(t, 1, &meta), want);
    EXPECT_ST(buffdb_txn_blob_stat(t, 1, &bi), want);
    EXPECT_ST(buffdb_txn_blob_update(t, 1, true, K("y"), false, NULL), want);
    EXPECT_ST(buffdb_txn_blob_delete(t, 1, &b), want);
    EXPECT_ST(buffdb_txn_blob_open(t, 1, &r), want);
    EXPECT_ST(buffdb_txn_blob_eq(t, ids, 1, &b), want);
    EXPECT_ST(buffdb_txn_blob_not_eq(t, ids, 1, &b), want);
    EXPECT_ST(buffdb_txn_blob_ids(t, 0, ids, 1, &n), want);
    EXPECT_ST(buffdb_txn_stream_write(t, "/a", K("x"), &info), want);
    EXPECT_ST(buffdb_txn_stream_writer(t, "/a", &w), want);
    EXPECT_ST(buffdb_txn_stream_writer_compressed(t, "/a", true, &w), want);
    EXPECT_ST(buffdb_txn_stream_read(t, "/a", buf, sizeof buf, &n), want);
    EXPECT_ST(buffdb_txn_stream_read_alloc(t, "/a", &data, &n), want);
    EXPECT_ST(buffdb_txn_stream_read_range(t, "/a", 0, buf, sizeof buf, &n), want);
    EXPECT_ST(buffdb_txn_stream_read_range_alloc(t, "/a", 0, 1, &data, &n), want);
    EXPECT_ST(buffdb_txn_stream_open(t, "/a", &r), want);
    EXPECT_ST(buffdb_txn_stream_open_version(t, "/a", 1, &r), want);
    EXPECT_ST(buffdb_txn_stream_stat(t, "/a", &info), want);
    EXPECT_ST(buffdb_txn_stream_exists(t, "/a", &b), want);
    EXPECT_ST(buffdb_txn_stream_versions(t, "/a", infos, 1, &n), want);
    EXPECT_ST(buffdb_txn_stream_delete(t, "/a", &b), want);
    EXPECT_ST(buffdb_txn_search(t, "/", NULL, BUFFDB_NO_LIMIT, &sc), want);
    EXPECT_ST(buffdb_txn_search_count(t, "/", &u), want);
    EXPECT_ST(buffdb_txn_query(t, "SELECT 1", NULL, 0, &q), want);
    EXPECT_ST(buffdb_txn_stream_write_with_metadata(t, "/a", K("x"), "m", &info), want);
    EXPECT_ST(buffdb_txn_stream_set_metadata(t, "/a", "m", &info), want);
    EXPECT_ST(buffdb_txn_stream_metadata(t, "/a", 0, &meta), want);
    EXPECT_ST(buffdb_txn_index_create(t, "ix", "kv", "$.a", false, NULL, 0, &u), want);
    EXPECT_ST(buffdb_txn_index_drop(t, "ix", &b), want);
    EXPECT_ST(buffdb_txn_index_list(t, &il), want);
    EXPECT_ST(buffdb_txn_find(t, "ix", "1", &fc), want);
    EXPECT_ST(buffdb_txn_find_range(t, "ix", NULL, NULL, false, NULL, BUFFDB_NO_LIMIT, &fc), want);
    /* out-parameters are written only on success */
    EXPECT(n == 7 && u == 7 && b && !data && !meta && !kc && !sc && !r && !w && !q && !vals[0].data && ids[0] == 1);
    EXPECT(!il && !fc);
    return 1;
fail:
    return 0;
}

/* Bad input to the transaction calls: a NULL transaction is INVALID_ARGUMENT and a
 * finished one CLOSED, for every operation; a failed call inside an open transaction
 * changes nothing and the transaction goes on. */
static int t_txn_bad_input(void) {
    buffdb_db *db = open_tmp("txn-bad");
    buffdb_txn *t = NULL;
    buffdb_kv_cursor *kc = NULL;
    buffdb_kv_pair kv[2];
    uint8_t buf[8];
    uint8_t big_key[BUFFDB_MAX_KEY_SIZE + 1];
    size_t n = 0;
    uint64_t u = 0;
    bool b = false;
    EXPECT(db);
    if (!every_txn_op(NULL, BUFFDB_INVALID_ARGUMENT)) goto fail;
    EXPECT(strstr(buffdb_last_error_message(), "txn is NULL") != NULL);
    /* an open transaction: failed calls leave nothing, the transaction goes on */
    OK(buffdb_begin(db, &t));
    OK(buffdb_txn_put(t, K("kept"), K("1")));
    memset(big_key, 'k', sizeof big_key);
    kv[0].key = (const uint8_t *)"a", kv[0].key_len = 1, kv[0].value = (const uint8_t *)"1", kv[0].value_len = 1;
    kv[1].key = big_key, kv[1].key_len = sizeof big_key, kv[1].value = (const uint8_t *)"2", kv[1].value_len = 1;
    EXPECT_ST(buffdb_txn_put_many(t, kv, 2), BUFFDB_TOO_LARGE);
    INVALID(buffdb_txn_put(t, NULL, 3, K("v")));
    INVALID(buffdb_txn_get_many(t, NULL, 2, NULL));
    INVALID(buffdb_txn_scan(t, K(""), NULL, 4, BUFFDB_NO_LIMIT, &kc));
    INVALID(buffdb_txn_stream_write(t, "", K("x"), NULL));
    INVALID(buffdb_txn_stream_write(t, "/bad\xff", K("x"), NULL));
    INVALID(buffdb_txn_blob_put(t, K("x"), "\xc3", &u));
    INVALID(buffdb_txn_search(t, NULL, NULL, BUFFDB_NO_LIMIT, NULL));
    EXPECT_ST(buffdb_txn_blob_update(t, 99, true, K("x"), false, NULL), BUFFDB_NOT_FOUND);
    EXPECT_ST(buffdb_txn_query(t, "DELETE FROM kv", NULL, 0, NULL), BUFFDB_INVALID_ARGUMENT); /* out is NULL */
    EXPECT_ST(buffdb_txn_get(t, K("kept"), buf, 0, &n), BUFFDB_BUFFER_TOO_SMALL);
    EXPECT(n == 1);
    OK(buffdb_txn_contains(t, K("a"), &b));
    EXPECT(!b);
    OK(buffdb_txn_count(t, K(""), &u));
    EXPECT(u == 1);
    OK(buffdb_txn_stream_exists(t, "/bad", &b));
    EXPECT(!b);
    EXPECT(kc == NULL);
    OK(buffdb_txn_commit(t));
    OK(buffdb_count(db, K(""), &u));
    EXPECT(u == 1);
    /* a finished transaction: CLOSED for every operation, until it is freed */
    if (!every_txn_op(t, BUFFDB_CLOSED)) goto fail;
    EXPECT_ST(buffdb_txn_commit(t), BUFFDB_CLOSED);
    buffdb_txn_free(t);
    t = NULL;
    OK(buffdb_begin(db, &t));
    OK(buffdb_txn_rollback(t));
    if (!every_txn_op(t, BUFFDB_CLOSED)) goto fail;
    EXPECT_ST(buffdb_txn_rollback(t), BUFFDB_CLOSED);
    buffdb_txn_free(t);
    t = NULL;
    OK(buffdb_count(db, K(""), &u));
    EXPECT(u == 1);
    OK(buffdb_close(db));
    return 1;
fail:
    buffdb_kv_cursor_free(kc);
    buffdb_txn_free(t);
    buffdb_close(db);
    return 0;
}

/* Bad input to the index calls: each refused with its code, nothing changed (no index
 * made or dropped, no record written); the good calls around them work. */
static int t_index_bad_input(void) {
    buffdb_db *db = open_tmp("index-bad");
    buffdb_indexes *l = NULL;
    buffdb_find_cursor *fc = NULL;
    buffdb_index_info info;
    buffdb_index_entry e, sa;
    uint64_t u = 7;
    size_t n = 9;
    bool b = false;
    EXPECT(db);
    OK(buffdb_put(db, K("u:1"), K("{\"email\":\"a@x\",\"age\":30}")));
    OK(buffdb_put(db, K("u:2"), K("{\"email\":\"b@x\",\"age\":20}")));
    OK(buffdb_index_create(db, "by_email", "kv", "$.email", true, (const uint8_t *)"u:", 2, &u));
    EXPECT(u == 2);
    /* NULL arguments, bad UTF-8, bad definitions */
    INVALID(buffdb_index_create(db, NULL, "kv", "$.a", false, NULL, 0, &u));
    INVALID(buffdb_index_create(db, "x", NULL, "$.a", false, NULL, 0, &u));
    INVALID(buffdb_index_create(db, "x", "kv", NULL, false, NULL, 0, &u));
    INVALID(buffdb_index_create(db, "x", "kv", "$.a", false, NULL, 3, &u));
    INVALID(buffdb_index_create(db, "x\xff", "kv", "$.a", false, NULL, 0, &u));
    INVALID(buffdb_index_create(db, "x", "k\xc3", "$.a", false, NULL, 0, &u));
    INVALID(buffdb_index_create(db, "x", "table", "$.a", false, NULL, 0, &u));
    EXPECT(strstr(buffdb_last_error_message(), "table") != NULL);
    INVALID(buffdb_index_create(db, "x", "kv", "a.b", false, NULL, 0, &u));
    INVALID(buffdb_index_create(db, "x", "kv", "$[*]", false, NULL, 0, &u));
    INVALID(buffdb_index_create(db, "1abc", "kv", "$.a", false, NULL, 0, &u));
    INVALID(buffdb_index_create(db, "a-b", "kv", "$.a", false, NULL, 0, &u));
    INVALID(buffdb_index_create(db, "", "kv", "$.a", false, NULL, 0, &u));
    INVALID(buffdb_index_create(db, "x", "blob", "$.a", false, (const uint8_t *)"p", 1, &u));
    EXPECT_ST(buffdb_index_create(db, "by_email", "kv", "$.a", false, NULL, 0, &u), BUFFDB_CONFLICT);
    EXPECT(u == 2); /* not written on failure */
    INVALID(buffdb_index_drop(db, NULL, &b));
    INVALID(buffdb_index_list(db, NULL));
    /* lookups: NULL, bad JSON, arrays, unknown index, bad start_after */
    INVALID(buffdb_find(db, "by_email", NULL, &fc));
    INVALID(buffdb_find(db, "by_email", "a@x", &fc)); /* not JSON text: a JSON string is "\"a@x\"" */
    EXPECT(strstr(buffdb_last_error_message(), "JSON") != NULL);
    INVALID(buffdb_find(db, "by_email", "[1]", &fc));
    INVALID(buffdb_find(db, "by_email", "{\"a\":1}", &fc));
    INVALID(buffdb_find(db, "by_email", "\"\xff\"", &fc));
    INVALID(buffdb_find(db, "by_email", "\"a@x\"", NULL));
    EXPECT_ST(buffdb_find(db, "nope", "1", &fc), BUFFDB_NOT_FOUND);
    INVALID(buffdb_find_range(db, "by_email", "{", NULL, false, NULL, BUFFDB_NO_LIMIT, &fc));
    INVALID(buffdb_find_range(db, "by_email", NULL, "tru", false, NULL, BUFFDB_NO_LIMIT, &fc));
    memset(&sa, 0, sizeof sa);
    sa.value = "\"a@x\"";
    sa.kind = 7;
    INVALID(buffdb_find_range(db, "by_email", NULL, NULL, false, &sa, BUFFDB_NO_LIMIT, &fc));
    sa.kind = BUFFDB_RECORD_KEY;
    sa.record = NULL;
    sa.record_len = 2;
    INVALID(buffdb_find_range(db, "by_email", NULL, NULL, false, &sa, BUFFDB_NO_LIMIT, &fc));
    sa.value = NULL;
    sa.record = (const uint8_t *)"u:1";
    sa.record_len = 3;
    INVALID(buffdb_find_range(db, "by_email", NULL, NULL, false, &sa, BUFFDB_NO_LIMIT, &fc));
    sa.value = "\"a@x\"";
    sa.kind = BUFFDB_RECORD_PATH;
    sa.record = (const uint8_t *)"/\xff";
    sa.record_len = 2;
    INVALID(buffdb_find_range(db, "by_email", NULL, NULL, false, &sa, BUFFDB_NO_LIMIT, &fc));
    sa.record = (const uint8_t *)"/p"; /* a stream record for a kv index */
    INVALID(buffdb_find_range(db, "by_email", NULL, NULL, false, &sa, BUFFDB_NO_LIMIT, &fc));
    EXPECT(fc == NULL);
    /* a unique conflict writes nothing */
    EXPECT_ST(buffdb_put(db, K("u:3"), K("{\"email\":\"a@x\"}")), BUFFDB_CONFLICT);
    OK(buffdb_contains(db, K("u:3"), &b));
    EXPECT(!b);
    /* nothing changed: one index, its two entries */
    OK(buffdb_index_list(db, &l));
    OK(buffdb_indexes_count(l, &n));
    EXPECT(n == 1);
    OK(buffdb_indexes_get(l, 0, &info));
    EXPECT(!strcmp(info.name, "by_email") && !strcmp(info.source, "kv") && !strcmp(info.json_path, "$.email"));
    EXPECT(info.unique && info.ready && info.entries == 2 && info.key_prefix_len == 2 && !memcmp(info.key_prefix, "u:", 2));
    INVALID(buffdb_indexes_get(l, 1, &info));
    INVALID(buffdb_indexes_get(l, 0, NULL));
    buffdb_indexes_free(l);
    l = NULL;
    /* the good lookup, and start_after the entry it gave */
    OK(buffdb_find_range(db, "by_email", "\"a@x\"", NULL, false, NULL, 1, &fc));
    OK(buffdb_find_next(fc, &e));
    EXPECT(e.value && !strcmp(e.value, "\"a@x\"") && e.kind == BUFFDB_RECORD_KEY && e.record_len == 3 && !memcmp(e.record, "u:1", 3));
    OK(buffdb_find_next(fc, &e));
    EXPECT(e.value == NULL);
    buffdb_find_cursor_free(fc);
    fc = NULL;
    sa.value = "\"a@x\"";
    sa.kind = BUFFDB_RECORD_KEY;
    sa.record = (const uint8_t *)"u:1";
    sa.record_len = 3;
    OK(buffdb_find_range(db, "by_email", NULL, NULL, false, &sa, BUFFDB_NO_LIMIT, &fc));
    INVALID(buffdb_find_next(fc, NULL));
    OK(buffdb_find_next(fc, &e));
    EXPECT(e.value && !strcmp(e.value, "\"b@x\"") && e.record_len == 3 && !memcmp(e.record, "u:2", 3));
    buffdb_find_cursor_free(fc);
    fc = NULL;
    /* a cursor from a transaction ends with it */
    {
        buffdb_txn *t = NULL;
        OK(buffdb_begin(db, &t));
        OK(buffdb_txn_find(t, "by_email", "\"b@x\"", &fc));
        OK(buffdb_txn_commit(t));
        EXPECT_ST(buffdb_find_next(fc, &e), BUFFDB_CLOSED);
        buffdb_txn_free(t);
        buffdb_find_cursor_free(fc);
        fc = NULL;
    }
    OK(buffdb_index_drop(db, "by_email", &b));
    EXPECT(b);
    OK(buffdb_index_drop(db, "by_email", &b));
    EXPECT(!b);
    OK(buffdb_close(db));
    return 1;
fail:
    buffdb_indexes_free(l);
    buffdb_find_cursor_free(fc);
    buffdb_close(db);
    return 0;
}

/* Stream metadata: bad input refused and nothing changed; the writer option; the
 * metadata of a kept version. */
static int t_stream_metadata(void) {
    buffdb_db *db = open_tmp("stream-meta");
    buffdb_writer *w = NULL;
    buffdb_stream_info info, infos[2];
    char *big = malloc((size_t)BUFFDB_MAX_METADATA_SIZE + 2), *m = NULL;
    size_t n = 0;
    EXPECT(db && big);
    memset(big, 'm', (size_t)BUFFDB_MAX_METADATA_SIZE + 1);
    big[BUFFDB_MAX_METADATA_SIZE + 1] = 0;
    OK(buffdb_stream_write_with_metadata(db, "/a", K("one"), "{\"v\":1}", &info));
    EXPECT(info.version == 1 && info.has_metadata);
    INVALID(buffdb_stream_write_with_metadata(db, "/a", K("x"), "\xff", &info));
    EXPECT_ST(buffdb_stream_write_with_metadata(db, "/a", K("x"), big, &info), BUFFDB_TOO_LARGE);
    INVALID(buffdb_stream_set_metadata(db, NULL, "m", &info));
    INVALID(buffdb_stream_set_metadata(db, "/a", "\xc3", &info));
    EXPECT_ST(buffdb_stream_set_metadata(db, "/a", big, &info), BUFFDB_TOO_LARGE);
    EXPECT_ST(buffdb_stream_set_metadata(db, "/missing", "m", &info), BUFFDB_NOT_FOUND);
    INVALID(buffdb_stream_metadata(db, "/a", 0, NULL));
    EXPECT_ST(buffdb_stream_metadata(db, "/a", 9, &m), BUFFDB_NOT_FOUND);
    EXPECT_ST(buffdb_stream_metadata(db, "/missing", 0, &m), BUFFDB_NOT_FOUND);
    EXPECT(m == NULL);
    /* a writer: refused metadata leaves it usable; set_metadata after commit is CLOSED */
    OK(buffdb_stream_writer(db, "/a", &w));
    INVALID(buffdb_writer_set_metadata(w, "\xff"));
    EXPECT_ST(buffdb_writer_set_metadata(w, big), BUFFDB_TOO_LARGE);
    OK(buffdb_writer_set_metadata(w, "first"));
    OK(buffdb_writer_write(w, K("two")));
    OK(buffdb_writer_set_metadata(w, "{\"v\":2}"));
    OK(buffdb_writer_commit(w, &info));
    EXPECT(info.version == 2 && info.has_metadata);
    EXPECT_ST(buffdb_writer_set_metadata(w, "late"), BUFFDB_CLOSED);
    buffdb_writer_free(w);
    w = NULL;
    /* nothing changed by the refused calls: both versions with their own metadata */
    OK(buffdb_stream_versions(db, "/a", infos, 2, &n));
    EXPECT(n == 2 && infos[0].has_metadata && infos[1].has_metadata);
    OK(buffdb_stream_metadata(db, "/a", 1, &m));
    EXPECT(m && !strcmp(m, "{\"v\":1}"));
    buffdb_string_free(m);
    m = NULL;
    OK(buffdb_stream_metadata(db, "/a", 0, &m));
    EXPECT(m && !strcmp(m, "{\"v\":2}"));
    buffdb_string_free(m);
    m = NULL;
    /* cleared: has_metadata false, NULL string */
    OK(buffdb_stream_set_metadata(db, "/a", NULL, &info));
    EXPECT(info.version == 2 && !info.has_metadata);
    OK(buffdb_stream_metadata(db, "/a", 2, &m));
    EXPECT(m == NULL);
    free(big);
    OK(buffdb_close(db));
    return 1;
fail:
    free(big);
    buffdb_string_free(m);
    buffdb_writer_free(w);
    buffdb_close(db);
    return 0;
}

/* One buffdb_db used from several threads at once. */
typedef struct {
    buffdb_db *db;
    int id;
    int ok;
} worker;

static void *work(void *arg) {
    worker *wk = arg;
    int i;
    wk->ok = 1;
    for (i = 0; i < 200; i++) {
        char key[32], val[32];
        uint8_t buf[32];
        size_t n = 0;
        snprintf(key, sizeof key, "t%d:%d", wk->id, i);
        snprintf(val, sizeof val, "v%d", i);
        if (buffdb_put(wk->db, K(key), K(val)) != BUFFDB_OK) { wk->ok = 0; break; }
        if (buffdb_get(wk->db, K(key), buf, sizeof buf, &n) != BUFFDB_OK || n != strlen(val) || memcmp(buf, val, n) != 0) {
            wk->ok = 0;
            break;
        }
        if (buffdb_get(wk->db, K("missing"), buf, sizeof buf, &n) != BUFFDB_NOT_FOUND ||
            strncmp(buffdb_last_error_message(), "NOT_FOUND", 9) != 0) {
            wk->ok = 0; /* the message is per thread */
            break;
        }
    }
    return NULL;
}

static int t_threads(void) {
    buffdb_db *db = open_tmp("threads");
    pthread_t th[4];
    worker wk[4];
    uint64_t count = 0;
    int i;
    EXPECT(db);
    for (i = 0; i < 4; i++) {
        wk[i].db = db;
        wk[i].id = i;
        wk[i].ok = 0;
        EXPECT(pthread_create(&th[i], NULL, work, &wk[i]) == 0);
    }
    for (i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (i = 0; i < 4; i++) EXPECT(wk[i].ok);
    OK(buffdb_count(db, K("t"), &count));
    EXPECT(count == 800);
    OK(buffdb_close(db));
    return 1;
fail:
    buffdb_close(db);
    return 0;
}

/* A full disk is recovered by deletes: fill a 24 MiB tmpfs with 16 KiB puts and a
 * 512 KiB stream every 8th until BUFFDB_FULL, delete half, write again; nothing
 * acknowledged is lost and check is clean. Skipped (passes with a note) where this
 * process may not mount a tmpfs. */
static int t_full_disk(void) {
    char dir[4096], cmd[8300], path[4200], key[64], sp[64];
    buffdb_db *db = NULL;
    buffdb_check_result chk;
    size_t i, n = 0, got;
    uint8_t *val = NULL, *buf = NULL;
    int mounted = 0;
    snprintf(dir, sizeof dir, "%s/full-disk", g_dir);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && mount -t tmpfs -o size=24m tmpfs '%s' 2>/dev/null", dir, dir);
    if (system(cmd) != 0) {
        printf("     t_full_disk SKIPPED: cannot mount a tmpfs here (needs root)\n");
        return 1;
    }
    mounted = 1;
    snprintf(path, sizeof path, "%s/full.bdb", dir);
    OK(buffdb_open(path, NULL, &db));
    val = malloc(512 << 10);
    buf = malloc(512 << 10);
    EXPECT(val && buf);
    for (;; n++) {
        buffdb_status st;
        for (i = 0; i < (512u << 10); i++) val[i] = (uint8_t)(i * 31 + n);
        if (n % 8 == 7) {
            snprintf(sp, sizeof sp, "/s/%zu", n);
            st = buffdb_stream_write(db, sp, val, 512 << 10, NULL);
        } else {
            snprintf(key, sizeof key, "k%zu", n);
            st = buffdb_put(db, K(key), val, 16 << 10);
        }
        if (st == BUFFDB_FULL) break;
        OK(st);
        EXPECT(n < 100000);
    }
    EXPECT(n > 16);
    /* delete the even half */
    for (i = 0; i < n; i += 2) {
        bool existed = false;
        if (i % 8 == 7) continue;
        snprintf(key, sizeof key, "k%zu", i);
        OK(buffdb_delete(db, K(key), &existed));
        EXPECT(existed);
    }
    for (i = 7; i < n; i += 16) {
        bool existed = false;
        snprintf(sp, sizeof sp, "/s/%zu", i);
        OK(buffdb_stream_delete(db, sp, &existed));
        EXPECT(existed);
    }
    /* write again: a third of what was deleted */
    for (i = 0; i < n / 6; i++) {
        snprintf(key, sizeof key, "again%zu", i);
        OK(buffdb_put(db, K(key), val, 16 << 10));
    }
    /* everything kept is intact */
    for (i = 1; i < n; i += 2) {
        size_t j;
        for (j = 0; j < (512u << 10); j++) val[j] = (uint8_t)(j * 31 + i);
        if (i % 8 == 7) continue;
        snprintf(key, sizeof key, "k%zu", i);
        OK(buffdb_get(db, K(key), buf, 512 << 10, &got));
        EXPECT(got == (16u << 10) && memcmp(buf, val, got) == 0);
    }
    OK(buffdb_check(db, &chk));
    EXPECT(chk.ok);
    OK(buffdb_close(db));
    db = NULL;
    free(val);
    free(buf);
    snprintf(cmd, sizeof cmd, "umount -l '%s'", dir);
    if (system(cmd) != 0) return 0;
    return 1;
fail:
    buffdb_close(db);
    free(val);
    free(buf);
    if (mounted) {
        snprintf(cmd, sizeof cmd, "umount -l '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "umount %s failed\n", dir);
    }
    return 0;
}

#define RUN(fn)                                                \
    do {                                                       \
        g_why[0] = 0;                                          \
        if (fn()) harness_pass(#fn); else harness_fail(#fn, g_why); \
    } while (0)

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s CASES.txt TMPDIR\n", argv[0]);
        return 2;
    }
    g_dir = argv[2];
    RUN(t_status_strings);
    RUN(t_null_handles);
    RUN(t_null_out_pointers);
    RUN(t_bad_lengths);
    RUN(t_oversized);
    RUN(t_invalid_utf8);
    RUN(t_non_utf8_db_path);
    RUN(t_buffer_too_small);
    RUN(t_closed_handles);
    RUN(t_options_and_files);
    RUN(t_encryption);
    RUN(t_api_tour);
    RUN(t_txn_views);
    RUN(t_txn_writers);
    RUN(t_txn_bad_input);
    RUN(t_index_bad_input);
    RUN(t_stream_metadata);
    RUN(t_threads);
    RUN(t_full_disk);
    run_shared_cases(argv[1], argv[2], NULL);
    if (buffdb_encryption_available()) {
        static const unsigned char key[32] = "shared cases, encrypted, 32 B.."; /* 31 chars + NUL */
        run_shared_cases(argv[1], argv[2], key);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
