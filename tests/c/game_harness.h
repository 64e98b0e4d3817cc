/* What the engine tests (test_physfs.c, test_sdl.c) share: counting checks and paths in
 * the work directory. Define GAME_HARNESS_DETAIL() (a printf of the library's error)
 * before including; call game_harness_init(argv) first and game_harness_finish() last. */
#ifndef BUFFDB_GAME_HARNESS_H
#define BUFFDB_GAME_HARNESS_H

#include <stdio.h>

static int passed, failed;
static char work[4096];

static void check(const char *name, int ok) {
    if (ok) passed++;
    else failed++;
    printf("%s %s\n", ok ? "ok  " : "FAIL", name);
    if (!ok) GAME_HARNESS_DETAIL();
}

/* A path in the work directory (a ring of buffers: a few may be used at once). */
static char *at(const char *rel) {
    static char bufs[8][4200];
    static int i;
    char *b = bufs[i++ & 7];
    snprintf(b, sizeof bufs[0], "%s/%s", work, rel);
    return b;
}

/* Usage: PROGRAM IGNORED WORKDIR (the arguments scripts/test-c.sh passes). */
static int game_harness_init(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s IGNORED WORKDIR\n", argv[0]);
        return 0;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(work, sizeof work, "%s", argv[2]);
    return 1;
}

static int game_harness_finish(void) {
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#endif
