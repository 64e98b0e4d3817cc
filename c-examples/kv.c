/* KV basics: open, put, get (into a caller buffer and allocated), contains, delete,
 * how errors come back, and an index over JSON values. Usage: kv [DB-FILE] */
#include <buffdb.h>

#include <stdio.h>
#include <string.h>

#define CHECK(call)                                                                        \
    do {                                                                                   \
        buffdb_status st_ = (call);                                                        \
        if (st_ != BUFFDB_OK) {                                                            \
            fprintf(stderr, "%s failed: %s\n", #call, buffdb_last_error_message());        \
            goto fail;                                                                     \
        }                                                                                  \
    } while (0)

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "kv-example.bdb";
    buffdb_db *db = NULL;
    buffdb_options *opts = NULL;
    char value[64];
    size_t len = 0;
    uint8_t *owned = NULL;
    bool found = false, existed = false;
    buffdb_status st;

    printf("BuffDB %s\n", buffdb_version());
    CHECK(buffdb_options_new(&opts));
    CHECK(buffdb_options_set_durability(opts, "normal"));
    CHECK(buffdb_open(path, opts, &db));
    buffdb_options_free(opts);
    opts = NULL;

    CHECK(buffdb_put(db, (const uint8_t *)"user:1", 6, (const uint8_t *)"ada", 3));
    CHECK(buffdb_put(db, (const uint8_t *)"user:2", 6, (const uint8_t *)"grace", 5));

    /* read into our own buffer: no allocation */
    CHECK(buffdb_get(db, (const uint8_t *)"user:1", 6, (uint8_t *)value, sizeof value - 1, &len));
    value[len] = 0;
    printf("user:1 = %s\n", value);

    /* too small a buffer says how much is needed and leaves the buffer alone */
    st = buffdb_get(db, (const uint8_t *)"user:2", 6, (uint8_t *)value, 2, &len);
    if (st != BUFFDB_BUFFER_TOO_SMALL || len != 5) goto fail;
    printf("user:2 needs %zu bytes (%s)\n", len, buffdb_status_str(st));

    /* or let the library allocate, and free through the library */
    CHECK(buffdb_get_alloc(db, (const uint8_t *)"user:2", 6, &owned, &len));
    printf("user:2 = %.*s\n", (int)len, (const char *)owned);
    buffdb_bytes_free(owned, len);

    CHECK(buffdb_contains(db, (const uint8_t *)"user:2", 6, &found));
    CHECK(buffdb_delete(db, (const uint8_t *)"user:2", 6, &existed));
    printf("user:2 existed: %s, deleted\n", existed ? "yes" : "no");

    /* errors: a status plus a thread-local message */
    st = buffdb_get(db, (const uint8_t *)"user:2", 6, (uint8_t *)value, sizeof value, &len);
    printf("get deleted key -> %s (%s)\n", buffdb_status_str(st), buffdb_last_error_message());
    if (st != BUFFDB_NOT_FOUND) goto fail;
    st = buffdb_put(db, (const uint8_t *)"", 0, (const uint8_t *)"x", 1);
    printf("empty key -> %s (%s)\n", buffdb_status_str(st), buffdb_last_error_message());
    if (st != BUFFDB_INVALID_ARGUMENT) goto fail;

    /* an index: find JSON records by a field, without reading them all */
    {
        uint64_t entries = 0;
        buffdb_find_cursor *cur = NULL;
        buffdb_index_entry e;
        CHECK(buffdb_put(db, (const uint8_t *)"acct:1", 6, (const uint8_t *)"{\"email\":\"ada@x\",\"age\":36}", 26));
        CHECK(buffdb_put(db, (const uint8_t *)"acct:2", 6, (const uint8_t *)"{\"email\":\"bob@x\",\"age\":25}", 26));
        CHECK(buffdb_index_drop(db, "by_email", NULL)); /* the example may run on its own file again */
        CHECK(buffdb_index_create(db, "by_email", "kv", "$.email", true, (const uint8_t *)"acct:", 5, &entries));
        printf("index by_email: %llu entries\n", (unsigned long long)entries);
        /* values are JSON text: the string "bob@x" is written "\"bob@x\"" */
        CHECK(buffdb_find(db, "by_email", "\"bob@x\"", &cur));
        while ((st = buffdb_find_next(cur, &e)) == BUFFDB_OK && e.value)
            printf("by_email %s -> %.*s\n", e.value, (int)e.record_len, (const char *)e.record);
        buffdb_find_cursor_free(cur);
        if (st != BUFFDB_OK) goto fail;
        /* a unique index refuses a second record with the same value; nothing is written */
        st = buffdb_put(db, (const uint8_t *)"acct:3", 6, (const uint8_t *)"{\"email\":\"ada@x\"}", 17);
        printf("duplicate email -> %s\n", buffdb_status_str(st));
        if (st != BUFFDB_CONFLICT) goto fail;
    }

    CHECK(buffdb_close(db));
    printf("kv: ok\n");
    return 0;
fail:
    buffdb_options_free(opts);
    buffdb_close(db);
    printf("kv: FAILED\n");
    return 1;
}
