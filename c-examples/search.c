/* Prefix search: list every asset under a path prefix, lazily, page by page.
 * Usage: search [DB-FILE] */
#include <buffdb.h>

#include <stdio.h>
#include <string.h>

#define CHECK(call)                                                                        \
    do {                                                                                   \
        if ((call) != BUFFDB_OK) {                                                         \
            fprintf(stderr, "%s failed: %s\n", #call, buffdb_last_error_message());        \
            goto fail;                                                                     \
        }                                                                                  \
    } while (0)

int main(int argc, char **argv) {
    static const char *assets[] = {"/textures/grass.png", "/textures/rock.png", "/textures/ui/button.png",
                                   "/textures/water.png", "/models/tree.obj", "/tex",
                                   "/a/textures/not-this.png"};
    const char *path = argc > 1 ? argv[1] : "search-example.bdb";
    buffdb_db *db = NULL;
    buffdb_search_cursor *cur = NULL;
    const char *p;
    char last[256] = "";
    size_t i, len, listed = 0, paged = 0;
    uint64_t count = 0;

    CHECK(buffdb_open(path, NULL, &db));
    for (i = 0; i < sizeof assets / sizeof *assets; i++)
        CHECK(buffdb_stream_write(db, assets[i], (const uint8_t *)assets[i], strlen(assets[i]), NULL));

    printf("assets under /textures/:\n");
    CHECK(buffdb_search(db, "/textures/", NULL, BUFFDB_NO_LIMIT, &cur));
    for (;;) {
        CHECK(buffdb_search_next(cur, &p, &len));
        if (!p) break; /* the end */
        printf("  %s\n", p);
        if (strncmp(p, "/textures/", 10) != 0) goto fail;
        listed++;
    }
    buffdb_search_cursor_free(cur);
    cur = NULL;
    CHECK(buffdb_search_count(db, "/textures/", &count));
    if (listed != 4 || count != 4) goto fail;

    /* pages of 2: start after the last path of the previous page */
    for (;;) {
        size_t in_page = 0;
        CHECK(buffdb_search(db, "/textures/", last[0] ? last : NULL, 2, &cur));
        for (;;) {
            CHECK(buffdb_search_next(cur, &p, &len));
            if (!p) break;
            snprintf(last, sizeof last, "%s", p);
            in_page++;
        }
        buffdb_search_cursor_free(cur);
        cur = NULL;
        if (in_page == 0) break;
        printf("  page of %zu ending at %s\n", in_page, last);
        paged += in_page;
    }
    if (paged != 4) goto fail;
    CHECK(buffdb_close(db));
    printf("search: ok\n");
    return 0;
fail:
    buffdb_search_cursor_free(cur);
    buffdb_close(db);
    printf("search: FAILED\n");
    return 1;
}
