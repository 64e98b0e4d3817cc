/* C benchmark: stream read throughput through buffdb_reader_read into a caller buffer,
 * and buffdb_get into a caller buffer, each next to memcpy of the same bytes in the same
 * run; then a prefix scan through the KV cursor and gets inside a transaction.
 * Usage: bench [DIR [STREAM-MiB [GETS]]]   (defaults: /tmp, 256, 100000)
 * BUFFDB_BENCH_CPU=1 measures CPU time instead of wall time. */
#include <buffdb.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHECK(call)                                                                        \
    do {                                                                                   \
        if ((call) != BUFFDB_OK) {                                                         \
            fprintf(stderr, "%s failed: %s\n", #call, buffdb_last_error_message());        \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

#define ROUNDS 5

/* Wall-clock time; with BUFFDB_BENCH_CPU=1 this process's CPU time instead, for A/B runs
 * on a machine busy with other work (where wall time moves 2-3x with the load). */
static double now(void) {
    static int cpu = -1;
    struct timespec ts;
    if (cpu < 0) cpu = getenv("BUFFDB_BENCH_CPU") != NULL && strcmp(getenv("BUFFDB_BENCH_CPU"), "1") == 0;
    clock_gettime(cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static volatile uint8_t sink;

static void make_key(uint8_t *key, uint64_t i) {
    char tmp[32];
    snprintf(tmp, sizeof tmp, "key-%012llu", (unsigned long long)(i % 1000000000000ull));
    memcpy(key, tmp, 16);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    size_t mib = argc > 2 ? (size_t)atoi(argv[2]) : 256;
    size_t gets = argc > 3 ? (size_t)atoi(argv[3]) : 100000;
    size_t stream_size = mib << 20, buf_size = 1 << 20, i, n, off;
    char path[4096];
    buffdb_db *db = NULL;
    buffdb_writer *w = NULL;
    buffdb_reader *r = NULL;
    uint8_t *src = malloc(stream_size), *buf = malloc(buf_size);
    double t0, write_s, read_s[ROUNDS], copy_s[ROUNDS], first_byte[ROUNDS];
    int round;

    if (!src || !buf) return 1;
    snprintf(path, sizeof path, "%s/buffdb-c-bench-%d.bdb", dir, (int)getpid());
    CHECK(buffdb_open(path, NULL, &db));
    for (i = 0; i < stream_size; i++) src[i] = (uint8_t)(i * 31 + (i >> 12));

    /* ---- workload S: one stream written and read back (checksums on) ---- */
    t0 = now();
    CHECK(buffdb_stream_writer(db, "/bench/stream", &w));
    for (off = 0; off < stream_size; off += buf_size) CHECK(buffdb_writer_write(w, src + off, buf_size));
    CHECK(buffdb_writer_commit(w, NULL));
    write_s = now() - t0;
    buffdb_writer_free(w);
    CHECK(buffdb_checkpoint(db));

    for (round = 0; round < ROUNDS; round++) {
        size_t total = 0;
        t0 = now();
        CHECK(buffdb_stream_open(db, "/bench/stream", &r));
        CHECK(buffdb_reader_read(r, buf, 1, &n));
        first_byte[round] = now() - t0;
        total = n;
        for (;;) {
            CHECK(buffdb_reader_read(r, buf, buf_size, &n));
            if (n == 0) break;
            total += n;
        }
        read_s[round] = now() - t0;
        buffdb_reader_free(r);
        if (total != stream_size) { fprintf(stderr, "short read\n"); return 1; }
        sink = buf[0];

        t0 = now();
        for (off = 0; off < stream_size; off += buf_size) memcpy(buf, src + off, buf_size);
        copy_s[round] = now() - t0;
        sink = buf[buf_size - 1];
    }

    /* ---- workload K: 16-byte keys, 100-byte values, random gets ---- */
    {
        size_t nkeys = gets;
        buffdb_kv_pair *pairs = malloc(sizeof *pairs * nkeys);
        uint8_t *keys = malloc(16 * nkeys + 1), *vals = malloc(100 * nkeys), value[128];
        size_t *order = malloc(sizeof *order * gets);
        double get_s[ROUNDS], get_reopen_s = 0, memcpy_s[ROUNDS], put_s, scan_s[ROUNDS], txn_get_s[ROUNDS];
        buffdb_kv_cursor *kc = NULL;
        buffdb_txn *t = NULL;
        const uint8_t *k, *v;
        size_t kl, vl, rows;
        for (i = 0; i < nkeys; i++) {
            make_key(keys + 16 * i, i);
            memset(vals + 100 * i, (int)('a' + i % 26), 100);
        }
        for (i = 0; i < nkeys; i++) { /* shuffled insert order */
            size_t j = (size_t)(next_rand() % (i + 1));
            pairs[i] = pairs[j];
            pairs[j].key = keys + 16 * i;
            pairs[j].key_len = 16;
            pairs[j].value = vals + 100 * i;
            pairs[j].value_len = 100;
        }
        for (i = 0; i < gets; i++) order[i] = (size_t)(next_rand() % nkeys);
        t0 = now();
        CHECK(buffdb_put_many(db, pairs, nkeys));
        put_s = now() - t0;
        for (round = 0; round < ROUNDS; round++) {
            t0 = now();
            for (i = 0; i < gets; i++) {
                CHECK(buffdb_get(db, keys + 16 * order[i], 16, value, sizeof value, &n));
                sink = value[n - 1];
            }
            get_s[round] = now() - t0;
            t0 = now();
            for (i = 0; i < gets; i++) {
                memcpy(value, vals + 100 * order[i], 100);
                sink = value[99];
            }
            memcpy_s[round] = now() - t0;

            t0 = now();
            CHECK(buffdb_scan(db, (const uint8_t *)"key-", 4, NULL, 0, BUFFDB_NO_LIMIT, &kc));
            for (rows = 0;; rows++) {
                CHECK(buffdb_kv_cursor_next(kc, &k, &kl, &v, &vl));
                if (!k) break;
                sink = v[vl - 1];
            }
            scan_s[round] = now() - t0;
            buffdb_kv_cursor_free(kc);
            if (rows != nkeys) { fprintf(stderr, "scan saw %zu rows\n", rows); return 1; }

            CHECK(buffdb_begin(db, &t));
            t0 = now();
            for (i = 0; i < gets; i++) {
                CHECK(buffdb_txn_get(t, keys + 16 * order[i], 16, value, sizeof value, &n));
                sink = value[n - 1];
            }
            txn_get_s[round] = now() - t0;
            CHECK(buffdb_txn_rollback(t));
            buffdb_txn_free(t);
        }
        CHECK(buffdb_close(db));
        CHECK(buffdb_open(path, NULL, &db));
        t0 = now();
        for (i = 0; i < gets; i++) CHECK(buffdb_get(db, keys + 16 * order[i], 16, value, sizeof value, &n));
        get_reopen_s = now() - t0;

        printf("BuffDB %s C benchmark (%zu MiB stream, %zu keys, median of %d rounds)\n", buffdb_version(), mib, nkeys, ROUNDS);
        printf("| what | BuffDB | memcpy (same bytes, same run) | ratio |\n|---|---|---|---|\n");
        {
            double rd = median(read_s, ROUNDS), cp = median(copy_s, ROUNDS);
            double gb = (double)stream_size / 1e9;
            printf("| stream read, buffdb_reader_read into a 1 MiB caller buffer | %.2f GB/s | %.2f GB/s | %.2fx |\n", gb / rd, gb / cp, cp / rd);
            printf("| first byte of the %zu MiB stream (open + read 1 byte) | %.3f ms | | |\n", mib, median(first_byte, ROUNDS) * 1e3);
            printf("| stream write through a writer (1 MiB writes, into the WAL) | %.2f GB/s | | |\n", gb / write_s);
        }
        {
            double g = median(get_s, ROUNDS), m = median(memcpy_s, ROUNDS);
            printf("| random get, buffdb_get into a caller buffer | %.2f M/s (%.2f us) | %.1f M/s | %.3fx |\n", (double)gets / g / 1e6,
                   g / (double)gets * 1e6, (double)gets / m / 1e6, m / g);
            printf("| random get after reopen (cold cache) | %.2f M/s (%.2f us) | | |\n", (double)gets / get_reopen_s / 1e6,
                   get_reopen_s / (double)gets * 1e6);
            printf("| batch put (buffdb_put_many, shuffled) | %.2f M/s | | |\n", (double)nkeys / put_s / 1e6);
            g = median(scan_s, ROUNDS);
            printf("| prefix scan of every key, buffdb_scan + buffdb_kv_cursor_next | %.2f M rows/s | | |\n", (double)nkeys / g / 1e6);
            g = median(txn_get_s, ROUNDS);
            printf("| random get in a transaction, buffdb_txn_get into a caller buffer | %.2f M/s (%.2f us) | | |\n",
                   (double)gets / g / 1e6, g / (double)gets * 1e6);
        }
        free(pairs);
        free(keys);
        free(vals);
        free(order);
    }
    CHECK(buffdb_close(db));
    unlink(path);
    snprintf(path + strlen(path), 8, "-wal");
    unlink(path);
    path[strlen(path) - 4] = 0;
    snprintf(path + strlen(path), 8, "-shm");
    unlink(path);
    free(src);
    free(buf);
    return 0;
}
