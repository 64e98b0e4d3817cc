/* Path streams: write a large document through a writer, then read it back in
 * fixed-size chunks into a stack buffer and verify every byte and the CRC.
 * Usage: stream [DB-FILE [MiB]]  (default 32 MiB) */
#include <buffdb.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                                        \
    do {                                                                                   \
        if ((call) != BUFFDB_OK) {                                                         \
            fprintf(stderr, "%s failed: %s\n", #call, buffdb_last_error_message());        \
            goto fail;                                                                     \
        }                                                                                  \
    } while (0)

/* the byte at offset i of the test document */
static uint8_t pattern(uint64_t i) { return (uint8_t)((i * 2654435761u) >> 24); }

static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n) {
    static uint32_t table[256];
    size_t i;
    if (!table[1]) {
        uint32_t c, k;
        for (i = 0; i < 256; i++) {
            c = (uint32_t)i;
            for (k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    }
    crc = ~crc;
    for (i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "stream-example.bdb";
    uint64_t size = (uint64_t)(argc > 2 ? atoi(argv[2]) : 32) << 20;
    buffdb_db *db = NULL;
    buffdb_writer *w = NULL;
    buffdb_reader *r = NULL;
    buffdb_stream_info info;
    static uint8_t piece[64 * 1024];
    uint8_t chunk[4096]; /* the caller's fixed-size stack buffer */
    uint64_t off = 0, got = 0, total;
    uint32_t crc = 0;
    size_t n, i;

    CHECK(buffdb_open(path, NULL, &db));

    /* write: nothing is visible until commit */
    CHECK(buffdb_stream_writer(db, "/assets/level1.pak", &w));
    while (off < size) {
        size_t len = size - off < sizeof piece ? (size_t)(size - off) : sizeof piece;
        for (i = 0; i < len; i++) piece[i] = pattern(off + i);
        CHECK(buffdb_writer_write(w, piece, len));
        off += len;
    }
    CHECK(buffdb_writer_commit(w, &info));
    buffdb_writer_free(w);
    w = NULL;
    printf("wrote /assets/level1.pak: version %llu, %llu bytes in %llu chunks, crc32 %08x\n",
           (unsigned long long)info.version, (unsigned long long)info.size,
           (unsigned long long)info.chunk_count, (unsigned)info.crc32);

    /* read back in 4 KiB pieces into the stack buffer: no allocation per read */
    CHECK(buffdb_stream_open(db, "/assets/level1.pak", &r));
    CHECK(buffdb_reader_size(r, &total));
    for (;;) {
        CHECK(buffdb_reader_read(r, chunk, sizeof chunk, &n));
        if (n == 0) break;
        for (i = 0; i < n; i++)
            if (chunk[i] != pattern(got + i)) {
                fprintf(stderr, "mismatch at byte %llu\n", (unsigned long long)(got + i));
                goto fail;
            }
        crc = crc32_update(crc, chunk, n);
        got += n;
    }
    /* random access: seek and read again */
    CHECK(buffdb_reader_seek(r, size / 2, NULL));
    CHECK(buffdb_reader_read(r, chunk, 16, &n));
    if (n != 16 || chunk[0] != pattern(size / 2)) goto fail;
    buffdb_reader_free(r);
    r = NULL;

    if (got != size || total != size || crc != info.crc32) {
        fprintf(stderr, "read %llu of %llu bytes, crc %08x vs %08x\n", (unsigned long long)got,
                (unsigned long long)size, (unsigned)crc, (unsigned)info.crc32);
        goto fail;
    }
    printf("read back %llu bytes in %zu-byte chunks, crc32 matches\n", (unsigned long long)got, sizeof chunk);
    CHECK(buffdb_close(db));
    printf("stream: ok\n");
    return 0;
fail:
    buffdb_writer_free(w);
    buffdb_reader_free(r);
    buffdb_close(db);
    printf("stream: FAILED\n");
    return 1;
}
