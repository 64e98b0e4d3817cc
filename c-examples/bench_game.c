/* Asset reads through PhysFS from a BuffDB database, zips (PhysFS's own zip archiver) and
 * loose files, in one run (run by scripts/bench-game.sh, which makes the assets).
 *
 *   bench_game gen DIR COUNT SEED          make COUNT assets (1 KiB-4 MiB, log-uniform;
 *                                          odd ones incompressible) and DIR.list
 *   bench_game manyfiles DB COUNT          a database of COUNT tiny streams (mount time)
 *   bench_game manydir DIR COUNT           the same as COUNT tiny files (for a zip)
 *   bench_game read LIST COLD label=archive...
 *                                          mount time, whole files and random 64 KiB
 *                                          ranges, warm (and cold when COLD=1: the page
 *                                          cache is dropped before each cold pass); a
 *                                          label with "quick" in it mounts a database
 *                                          in quick mode (verify_checksums = false)
 *   bench_game mount label=archive...      mount time only (median of 5)
 *   bench_game profile LIST ARCHIVE whole|ranges N [quick]
 *                                          one warm-up pass, then N whole files (in the
 *                                          shuffled order) or N random 64 KiB ranges
 *                                          inside profiled(): for
 *                                          valgrind --tool=callgrind --toggle-collect=profiled
 */
#define _POSIX_C_SOURCE 200809L
#define BUFFDB_PHYSFS_IMPLEMENTATION
#include <buffdb_physfs.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long long rng = 0x9e3779b97f4a7c15ULL;
static unsigned long long rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

static void drop_caches(void) {
    FILE *f = fopen("/proc/sys/vm/drop_caches", "w");
    if (f) fputs("3\n", f), fclose(f);
}

/* ---- gen ------------------------------------------------------------------------------ */

static int gen(const char *dir, int count, unsigned long long seed) {
    static const char *words[] = {"\"position\": ", "\"rotation\": ", "{\"id\": ", "\"mesh\": \"", "\"texture\": \"",
                                  "levels/", "enemy_", "0.000", ", ", "],\n", "true", "false", "\"name\": \""};
    char path[4096], list[4200];
    unsigned char *buf = malloc(4 << 20);
    FILE *l;
    int i;
    rng ^= seed;
    snprintf(list, sizeof list, "%s.list", dir);
    l = fopen(list, "w");
    mkdir(dir, 0755);
    for (i = 0; i < count; i++) {
        /* log-uniform size in [1 KiB, 4 MiB] */
        double u = (double)(rnd() % 1000000) / 1000000.0;
        size_t size = (size_t)(1024.0 * pow(4096.0, u)), j = 0;
        const char *ext = i % 2 ? "png" : "json";
        FILE *f;
        snprintf(path, sizeof path, "%s/d%02d", dir, i % 40);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/d%02d/asset%05d.%s", dir, i % 40, i, ext);
        if (i % 2) {
            for (j = 0; j < size; j++) buf[j] = (unsigned char)(rnd() >> 24); /* already compressed */
        } else {
            while (j < size) { /* structured text */
                const char *w = words[rnd() % 13];
                size_t n = strlen(w);
                if (j + n > size) n = size - j;
                memcpy(buf + j, w, n);
                j += n;
                if (j < size && rnd() % 4 == 0) buf[j++] = (unsigned char)('0' + rnd() % 10);
            }
        }
        f = fopen(path, "wb");
        if (!f || fwrite(buf, 1, size, f) != size || fclose(f) != 0) return 1;
        fprintf(l, "d%02d/asset%05d.%s %zu\n", i % 40, i, ext, size);
    }
    fclose(l);
    free(buf);
    return 0;
}

static int manyfiles(const char *db_path, int count) {
    buffdb_db *db = NULL;
    buffdb_txn *txn = NULL;
    char path[64];
    int i;
    if (buffdb_open(db_path, NULL, &db) != BUFFDB_OK) return 1;
    for (i = 0; i < count; i++) { /* 1000 per transaction, as buffdb pack does */
        if (i % 1000 == 0 && buffdb_begin(db, &txn) != BUFFDB_OK) return 1;
        snprintf(path, sizeof path, "/d%03d/f%06d.txt", i % 1000, i);
        if (buffdb_txn_stream_write(txn, path, (const uint8_t *)path, strlen(path), NULL) != BUFFDB_OK) return 1;
        if ((i % 1000 == 999 || i == count - 1) && buffdb_txn_commit(txn) != BUFFDB_OK) return 1;
        if (i % 1000 == 999 || i == count - 1) buffdb_txn_free(txn);
    }
    buffdb_checkpoint(db);
    return buffdb_close(db) != BUFFDB_OK;
}

static int manydir(const char *dir, int count) {
    char path[4200];
    int i;
    mkdir(dir, 0755);
    for (i = 0; i < count; i++) {
        FILE *f;
        snprintf(path, sizeof path, "%s/d%03d", dir, i % 1000);
        if (i < 1000) mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/d%03d/f%06d.txt", dir, i % 1000, i);
        if (!(f = fopen(path, "w"))) return 1;
        fputs(path, f);
        fclose(f);
    }
    return 0;
}

/* ---- read --------------------------------------------------------------------------------- */

typedef struct { char name[64]; unsigned long long size; } asset;
static asset *assets;
static int n_assets;

static int load_list(const char *list) {
    FILE *f = fopen(list, "r");
    int cap = 0;
    asset a;
    if (!f) return 1;
    while (fscanf(f, "%63s %llu", a.name, &a.size) == 2) {
        if (n_assets == cap) assets = realloc(assets, sizeof(asset) * (size_t)(cap = cap * 2 + 1024));
        assets[n_assets++] = a;
    }
    fclose(f);
    return n_assets == 0;
}

static double mount_ms(const char *archive) {
    double t[5];
    int i;
    for (i = 0; i < 5; i++) {
        double s = now();
        if (!PHYSFS_mount(archive, "/", 0)) {
            fprintf(stderr, "mount %s: %s\n", archive, PHYSFS_getErrorByCode(PHYSFS_getLastErrorCode()));
            exit(1);
        }
        t[i] = (now() - s) * 1000;
        PHYSFS_unmount(archive);
    }
    return median(t, 5);
}

static unsigned char *buf;

/* Every asset, whole, in a shuffled order: MB/s. */
static double whole_pass(int *order) {
    double s = now();
    unsigned long long bytes = 0;
    int i;
    for (i = 0; i < n_assets; i++) {
        asset *a = &assets[order[i]];
        PHYSFS_File *f = PHYSFS_openRead(a->name);
        if (!f || PHYSFS_readBytes(f, buf, a->size) != (PHYSFS_sint64)a->size) {
            fprintf(stderr, "read %s failed\n", a->name);
            exit(1);
        }
        PHYSFS_close(f);
        bytes += a->size;
    }
    return (double)bytes / 1e6 / (now() - s);
}

/* Random 64 KiB ranges (open, seek, read, close): reads/s. */
static double range_pass(int reads, unsigned long long seed) {
    double s = now();
    int i;
    rng = seed;
    for (i = 0; i < reads; i++) {
        asset *a = &assets[rnd() % (unsigned long long)n_assets];
        unsigned long long len = a->size < 65536 ? a->size : 65536, off = rnd() % (a->size - len + 1);
        PHYSFS_File *f = PHYSFS_openRead(a->name);
        if (!f || !PHYSFS_seek(f, off) || PHYSFS_readBytes(f, buf, len) != (PHYSFS_sint64)len) {
            fprintf(stderr, "range %s failed\n", a->name);
            exit(1);
        }
        PHYSFS_close(f);
    }
    return reads / (now() - s);
}

static int cmd_read(const char *list, int cold, int argc, char **argv) {
    int i, k, *order;
    if (load_list(list)) return 1;
    buf = malloc(4 << 20);
    order = malloc(sizeof(int) * (size_t)n_assets);
    for (i = 0; i < n_assets; i++) order[i] = i;
    for (i = n_assets - 1; i > 0; i--) {
        int j = (int)(rnd() % (unsigned long long)(i + 1)), t = order[i];
        order[i] = order[j], order[j] = t;
    }
    printf("%-20s %9s %12s %12s %12s %12s\n", "archive", "mount ms", "whole MB/s", "64K reads/s", "cold MB/s", "cold reads/s");
    for (k = 0; k < argc; k++) {
        char *eq = strchr(argv[k], '=');
        const char *label = argv[k], *archive = eq + 1;
        double m, w[3], r[3], cw = 0, cr = 0;
        *eq = '\0';
        buffdb_physfs_verify_checksums(strstr(label, "quick") == NULL);
        m = mount_ms(archive);
        PHYSFS_mount(archive, "/", 0);
        whole_pass(order); /* warm up */
        for (i = 0; i < 3; i++) w[i] = whole_pass(order), r[i] = range_pass(4000, 1000 + (unsigned long long)i);
        if (cold) {
            PHYSFS_unmount(archive);
            drop_caches();
            PHYSFS_mount(archive, "/", 0);
            cw = whole_pass(order);
            PHYSFS_unmount(archive);
            drop_caches();
            PHYSFS_mount(archive, "/", 0);
            cr = range_pass(2000, 77);
        }
        PHYSFS_unmount(archive);
        printf("%-20s %9.2f %12.0f %12.0f %12.0f %12.0f\n", label, m, median(w, 3), median(r, 3), cw, cr);
        fflush(stdout);
    }
    return 0;
}

/* The measured pass of `profile` (callgrind collects inside this function only). */
__attribute__((noinline)) double profiled(int ranges, int n, int *order) {
    int all = n_assets;
    double r;
    if (ranges) return range_pass(n, 4242);
    n_assets = n < all ? n : all;
    r = whole_pass(order);
    n_assets = all;
    return r;
}

static int cmd_profile(const char *list, const char *archive, const char *mode, int n, int quick) {
    int i, *order, ranges = strcmp(mode, "ranges") == 0;
    unsigned long long bytes = 0;
    if (load_list(list)) return 1;
    buf = malloc(4 << 20);
    order = malloc(sizeof(int) * (size_t)n_assets);
    for (i = 0; i < n_assets; i++) order[i] = i;
    for (i = n_assets - 1; i > 0; i--) {
        int j = (int)(rnd() % (unsigned long long)(i + 1)), t = order[i];
        order[i] = order[j], order[j] = t;
    }
    buffdb_physfs_verify_checksums(!quick);
    if (!PHYSFS_mount(archive, "/", 0)) return 1;
    if (ranges) range_pass(n, 4242); /* warm-up: the same reads */
    else {
        int all = n_assets;
        n_assets = n < all ? n : all;
        whole_pass(order);
        n_assets = all;
    }
    for (i = 0; i < (n < n_assets ? n : n_assets); i++) bytes += assets[order[i]].size;
    printf("%s %s: %.0f %s\n", archive, mode, profiled(ranges, n, order), ranges ? "reads/s" : "MB/s");
    if (!ranges) printf("bytes %llu files %d\n", bytes, n < n_assets ? n : n_assets);
    PHYSFS_unmount(archive);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 5 && strcmp(argv[1], "gen") == 0) return gen(argv[2], atoi(argv[3]), strtoull(argv[4], NULL, 10));
    if (argc >= 4 && strcmp(argv[1], "manyfiles") == 0) return manyfiles(argv[2], atoi(argv[3]));
    if (argc >= 4 && strcmp(argv[1], "manydir") == 0) return manydir(argv[2], atoi(argv[3]));
    if (!PHYSFS_init(argv[0]) || !buffdb_physfs_register()) return 1;
    if (argc >= 5 && strcmp(argv[1], "read") == 0) return cmd_read(argv[2], atoi(argv[3]), argc - 4, argv + 4);
    if (argc >= 6 && strcmp(argv[1], "profile") == 0)
        return cmd_profile(argv[2], argv[3], argv[4], atoi(argv[5]), argc >= 7 && strcmp(argv[6], "quick") == 0);
    if (argc >= 3 && strcmp(argv[1], "mount") == 0) {
        int k;
        for (k = 2; k < argc; k++) {
            char *eq = strchr(argv[k], '=');
            *eq = '\0';
            buffdb_physfs_verify_checksums(strstr(argv[k], "quick") == NULL);
            printf("%-14s mount %.2f ms\n", argv[k], mount_ms(eq + 1));
        }
        return 0;
    }
    fprintf(stderr, "usage: see the comment at the top of bench_game.c\n");
    return 2;
}
