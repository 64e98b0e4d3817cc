/* Tests of include/buffdb_physfs.h against the real PhysFS (libphysfs-dev): a generated
 * asset tree is stored in a database, then every PhysFS call on the mounted database is
 * compared with the same call on the directory itself (every file, every byte, stat,
 * enumerate, seek, ranges); mixed mounts with a zip and a directory; a zip inside the
 * database (PhysFS reads it through duplicate()); writing through the write directory.
 * Usage: test_physfs IGNORED WORKDIR   (prints ok/FAIL lines and "N passed, M failed") */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700
#endif
#define BUFFDB_PHYSFS_IMPLEMENTATION
#include <buffdb_physfs.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GAME_HARNESS_DETAIL()                                                                                    \
    if (PHYSFS_getLastErrorCode() != PHYSFS_ERR_OK)                                                               \
    printf("     physfs: %s; buffdb: %s\n", PHYSFS_getErrorByCode(PHYSFS_getLastErrorCode()), buffdb_last_error_message())
#include "game_harness.h"

static unsigned long long rng = 88172645463325252ULL;
static unsigned rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng >> 11);
}

static void write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

/* The asset tree: nested directories, empty/tiny/large files, random and text data. */
static void make_tree(const char *root) {
    static const struct { const char *path; size_t size; int text; } files[] = {
        {"readme.txt", 120, 1},
        {"empty.bin", 0, 0},
        {"one.bin", 1, 0},
        {"textures/grass.png", 70000, 0},
        {"textures/rock.png", 4096, 0},
        {"textures/ui/button.png", 3000, 0},
        {"textures/ui/font atlas.png", 150000, 0},
        {"textures-extra/x.bin", 10, 0},
        {"levels/1/map.json", 9000, 1},
        {"levels/1/entities.json", 500, 1},
        {"levels/2/map.json", 12000, 1},
        {"levels/10/map.json", 100, 1},
        {"sounds/music/theme.ogg", 3 << 20, 0},
        {"sounds/wind.wav", 200000, 0},
        {"sounds/caf\xc3\xa9.wav", 333, 0},
        {"deep/a/b/c/d/e/f.txt", 64, 1},
    };
    char path[4400];
    size_t i, j;
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        unsigned char *data = malloc(files[i].size + 1);
        char *slash;
        snprintf(path, sizeof path, "%s/%s", root, files[i].path);
        for (slash = strchr(path + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
            *slash = '\0';
            mkdir(path, 0755);
            *slash = '/';
        }
        for (j = 0; j < files[i].size; j++) data[j] = files[i].text ? (unsigned char)("{\"k\": [1, 2, 3]}\n"[j % 17]) : (unsigned char)rnd();
        write_file(path, data, files[i].size);
        free(data);
    }
    snprintf(path, sizeof path, "%s/emptydir", root);
    mkdir(path, 0755); /* an empty directory exists only in the directory reference */
}

/* Stores every regular file under `root` as a stream "/relative/path". */
static buffdb_db *pack_db;
static size_t pack_root_len;
static int pack_one(const char *fpath, const struct stat *sb, int type, struct FTW *ftw) {
    (void)ftw;
    if (type == FTW_F && S_ISREG(sb->st_mode)) {
        FILE *f = fopen(fpath, "rb");
        unsigned char buf[65536];
        size_t n;
        buffdb_writer *w = NULL;
        if (!f || buffdb_stream_writer(pack_db, fpath + pack_root_len, &w) != BUFFDB_OK) return 1;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0) buffdb_writer_write(w, buf, n);
        fclose(f);
        if (buffdb_writer_commit(w, NULL) != BUFFDB_OK) return 1;
        buffdb_writer_free(w);
    }
    return 0;
}
static int pack(const char *root, const char *db_path) {
    int rc = 0;
    if (buffdb_open(db_path, NULL, &pack_db) != BUFFDB_OK) return 0;
    pack_root_len = strlen(root);
    rc = nftw(root, pack_one, 16, FTW_PHYS) == 0;
    return buffdb_close(pack_db) == BUFFDB_OK && rc;
}

/* ---- the comparison against the reference directory ------------------------------ */

typedef struct { char **items; size_t n, cap; } list;
static void list_add(list *l, const char *s) {
    if (l->n == l->cap) l->items = realloc(l->items, (l->cap = l->cap * 2 + 16) * sizeof(char *));
    l->items[l->n++] = strdup(s);
}
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static void list_free(list *l) {
    size_t i;
    for (i = 0; i < l->n; i++) free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* Every path under `dir` (relative to `base`), recursively, "/"-suffixed for directories. */
static void walk(const char *base, const char *dir, list *out) {
    char **names = PHYSFS_enumerateFiles(dir), **p;
    size_t blen = strlen(base);
    for (p = names; p && *p; p++) {
        char full[4400];
        PHYSFS_Stat st;
        snprintf(full, sizeof full, "%s/%s", dir, *p);
        if (!PHYSFS_stat(full, &st)) continue;
        if (st.filetype == PHYSFS_FILETYPE_DIRECTORY) {
            char rel[4400];
            snprintf(rel, sizeof rel, "%s/", full + blen);
            list_add(out, rel);
            walk(base, full, out);
        } else {
            list_add(out, full + blen);
        }
    }
    PHYSFS_freeList(names);
}

static unsigned char *read_all(const char *path, PHYSFS_sint64 *len) {
    PHYSFS_File *f = PHYSFS_openRead(path);
    unsigned char *buf;
    if (!f) return NULL;
    *len = PHYSFS_fileLength(f);
    buf = malloc((size_t)*len + 1);
    if (PHYSFS_readBytes(f, buf, (PHYSFS_uint64)*len) != *len || !PHYSFS_eof(f)) {
        free(buf);
        buf = NULL;
    }
    PHYSFS_close(f);
    return buf;
}

static void compare_with_reference(void) {
    list ref = {0}, got = {0};
    size_t i;
    int same_list = 1, bytes_ok = 1, stat_ok = 1, seek_ok = 1, mtime_ok = 1;
    buffdb_db *db = NULL;
    walk("/ref", "/ref", &ref);
    walk("/db", "/db", &got);
    qsort(ref.items, ref.n, sizeof(char *), cmp_str);
    qsort(got.items, got.n, sizeof(char *), cmp_str);
    {
        /* compare as sets minus "/emptydir/" */
        /* the directory has one entry more: the empty directory, which no stream implies */
        size_t a = 0, b = 0;
        while (a < ref.n || b < got.n) {
            if (a < ref.n && strcmp(ref.items[a], "/emptydir/") == 0) { a++; continue; }
            if (a >= ref.n || b >= got.n || strcmp(ref.items[a], got.items[b]) != 0) {
                printf("     enumerate differs at ref=%s db=%s\n", a < ref.n ? ref.items[a] : "-", b < got.n ? got.items[b] : "-");
                same_list = 0;
                break;
            }
            a++, b++;
        }
    }
    check("enumerate (recursive) lists the same files and directories as the directory", same_list && got.n >= 20);
    buffdb_open(at("assets.buffdb"), NULL, &db);
    for (i = 0; i < got.n; i++) {
        char r[4400], d[4400];
        PHYSFS_Stat rs, ds;
        PHYSFS_sint64 rl = 0, dl = 0;
        unsigned char *rb, *db_bytes;
        size_t len = strlen(got.items[i]);
        snprintf(r, sizeof r, "/ref%s", got.items[i]);
        snprintf(d, sizeof d, "/db%s", got.items[i]);
        if (got.items[i][len - 1] == '/') {
            r[strlen(r) - 1] = d[strlen(d) - 1] = '\0';
            if (!PHYSFS_stat(d, &ds) || ds.filetype != PHYSFS_FILETYPE_DIRECTORY || !ds.readonly) stat_ok = 0;
            continue;
        }
        if (!PHYSFS_stat(r, &rs) || !PHYSFS_stat(d, &ds) || rs.filesize != ds.filesize || ds.filetype != PHYSFS_FILETYPE_REGULAR ||
            !ds.readonly) {
            printf("     stat differs: %s\n", got.items[i]);
            stat_ok = 0;
        } else {
            buffdb_stream_info info;
            if (buffdb_stream_stat(db, got.items[i], &info) != BUFFDB_OK || ds.modtime != info.created_ms / 1000) mtime_ok = 0;
        }
        rb = read_all(r, &rl);
        db_bytes = read_all(d, &dl);
        if (!rb || !db_bytes || rl != dl || memcmp(rb, db_bytes, (size_t)rl) != 0) {
            printf("     bytes differ: %s\n", got.items[i]);
            bytes_ok = 0;
        }
        if (rb && rl > 0) { /* seek + ranges + tell, random and at the edges */
            PHYSFS_File *f = PHYSFS_openRead(d);
            int k;
            for (k = 0; f && k < 40; k++) {
                unsigned char buf[70000];
                PHYSFS_uint64 off = k == 0 ? 0 : k == 1 ? (PHYSFS_uint64)rl - 1 : k == 2 ? (PHYSFS_uint64)rl : rnd() % (PHYSFS_uint64)rl;
                PHYSFS_uint64 want = k == 3 ? sizeof buf : rnd() % 65536 + 1;
                PHYSFS_sint64 n, expect = (PHYSFS_sint64)(off + want > (PHYSFS_uint64)rl ? (PHYSFS_uint64)rl - off : want);
                if (!PHYSFS_seek(f, off) || PHYSFS_tell(f) != (PHYSFS_sint64)off) { seek_ok = 0; break; }
                n = PHYSFS_readBytes(f, buf, want);
                if (n != expect || memcmp(buf, rb + off, (size_t)n) != 0 || PHYSFS_tell(f) != (PHYSFS_sint64)off + n) {
                    printf("     range differs: %s at %llu (+%llu): got %lld\n", got.items[i], (unsigned long long)off,
                           (unsigned long long)want, (long long)n);
                    seek_ok = 0;
                    break;
                }
            }
            if (!f || PHYSFS_seek(f, (PHYSFS_uint64)rl + 1) || PHYSFS_getLastErrorCode() != PHYSFS_ERR_PAST_EOF) seek_ok = 0;
            PHYSFS_close(f);
        }
        free(rb);
        free(db_bytes);
    }
    buffdb_close(db);
    check("stat: same size, file vs directory, read-only, as the directory", stat_ok);
    check("stat: modification time is the stream version's write time", mtime_ok);
    check("every file reads back byte for byte as from the directory", bytes_ok);
    check("seek/tell/read ranges (random, first, last, end) match the directory", seek_ok);
    list_free(&ref);
    list_free(&got);
}

static int read_equals(const char *path, const char *expect) {
    PHYSFS_sint64 n = 0;
    unsigned char *b = read_all(path, &n);
    int ok = b && n == (PHYSFS_sint64)strlen(expect) && memcmp(b, expect, (size_t)n) == 0;
    free(b);
    return ok;
}

static int enumerate_has(const char *dir, const char *name) {
    char **names = PHYSFS_enumerateFiles(dir), **p;
    int found = 0;
    for (p = names; p && *p; p++) found += strcmp(*p, name) == 0;
    PHYSFS_freeList(names);
    return found;
}

static size_t count_entries(const char *dir) {
    char **names = PHYSFS_enumerateFiles(dir), **p;
    size_t n = 0;
    for (p = names; p && *p; p++) n++;
    PHYSFS_freeList(names);
    return n;
}

static void put_stream(const char *db_path, const char *path, const char *text) {
    buffdb_db *db = NULL;
    buffdb_open(db_path, NULL, &db);
    buffdb_stream_write(db, path, (const uint8_t *)text, strlen(text), NULL);
    buffdb_close(db);
}

/* The archiver remembers directories while nothing is committed (buffdb_data_version):
 * a commit by another handle must show at the next stat. */
static int is_dir(const char *path) {
    PHYSFS_Stat st;
    return PHYSFS_stat(path, &st) && st.filetype == PHYSFS_FILETYPE_DIRECTORY;
}

static void test_directory_cache(void) {
    buffdb_db *db = NULL;
    uint64_t v1 = 0, v2 = 0, v3 = 0;
    int ok;
    put_stream(at("cache.buffdb"), "/dir/a.txt", "a");
    buffdb_open(at("cache.buffdb"), NULL, &db);
    ok = buffdb_data_version(db, &v1) == BUFFDB_OK && buffdb_data_version(db, &v2) == BUFFDB_OK && v1 == v2;
    buffdb_stream_write(db, "/other.txt", (const uint8_t *)"o", 1, NULL);
    check("buffdb_data_version: the same without commits, another after one",
          ok && buffdb_data_version(db, &v3) == BUFFDB_OK && v3 != v2);
    check("mount for the directory cache", PHYSFS_mount(at("cache.buffdb"), "/dc", 1));
    check("a directory, twice (the second from the cache)", is_dir("/dc/dir") && is_dir("/dc/dir"));
    buffdb_stream_delete(db, "/dir/a.txt", NULL);
    check("its last file deleted by another handle: the directory is gone", !PHYSFS_exists("/dc/dir") && !PHYSFS_exists("/dc/dir/a.txt"));
    buffdb_stream_write(db, "/dir/b.txt", (const uint8_t *)"b", 1, NULL);
    check("a file written there again: the directory is back", is_dir("/dc/dir") && read_equals("/dc/dir/b.txt", "b"));
    PHYSFS_unmount(at("cache.buffdb"));
    buffdb_close(db);
}

static void test_mixed_mounts(int have_zip) {
    char cmd[9000];
    put_stream(at("one.buffdb"), "/a.txt", "db1");
    put_stream(at("one.buffdb"), "/only1.txt", "only in db1");
    put_stream(at("two.buffdb"), "/a.txt", "db2");
    put_stream(at("two.buffdb"), "/dir/b.txt", "db2 b");
    mkdir(at("loose"), 0755);
    mkdir(at("loose/dir"), 0755);
    write_file(at("loose/a.txt"), "dir", 3);
    write_file(at("loose/dir/c.txt"), "dir c", 5);
    check("mount two databases and a directory", PHYSFS_mount(at("one.buffdb"), "/m", 1) && PHYSFS_mount(at("loose"), "/m", 1) &&
                                                      PHYSFS_mount(at("two.buffdb"), "/m", 1));
    if (have_zip) {
        mkdir(at("zipsrc"), 0755);
        mkdir(at("zipsrc/dir"), 0755);
        write_file(at("zipsrc/a.txt"), "zip", 3);
        write_file(at("zipsrc/dir/z.txt"), "zip z", 5);
        snprintf(cmd, sizeof cmd, "cd '%s' && zip -qr ../mixed.zip .", at("zipsrc"));
        check("zip -r of a directory", system(cmd) == 0);
        check("mount a zip in the same search path", PHYSFS_mount(at("mixed.zip"), "/m", 1));
    }
    check("the first mount in the search path wins (database first)", read_equals("/m/a.txt", "db1"));
    check("a file only in a database is found", read_equals("/m/only1.txt", "only in db1"));
    check("directories merge across a database and a directory",
          enumerate_has("/m/dir", "b.txt") && enumerate_has("/m/dir", "c.txt") && read_equals("/m/dir/b.txt", "db2 b"));
    check("PHYSFS_getRealDir names the database holding a file", PHYSFS_getRealDir("/m/dir/b.txt") &&
                                                                    strcmp(PHYSFS_getRealDir("/m/dir/b.txt"), at("two.buffdb")) == 0);
    if (have_zip) check("zip entries merge with database entries", enumerate_has("/m/dir", "z.txt") && read_equals("/m/dir/z.txt", "zip z"));
    check("root of the mount lists each name once", enumerate_has("/m", "a.txt") == 1 && enumerate_has("/m", "dir") == 1);
    check("unmount a database: the next mount's file shows", PHYSFS_unmount(at("one.buffdb")) && read_equals("/m/a.txt", "dir") &&
                                                               !PHYSFS_exists("/m/only1.txt"));
    PHYSFS_unmount(at("loose"));
    check("after unmounting the directory the zip or second database answers",
          read_equals("/m/a.txt", have_zip ? "db2" : "db2") || read_equals("/m/a.txt", "zip"));
    PHYSFS_unmount(at("two.buffdb"));
    if (have_zip) PHYSFS_unmount(at("mixed.zip"));
}

static void test_zip_inside_database(int have_zip) {
    char cmd[9000];
    FILE *z;
    long n;
    unsigned char *bytes;
    PHYSFS_File *f;
    if (!have_zip) return;
    mkdir(at("inner"), 0755);
    write_file(at("inner/hello.txt"), "hello from a zip inside a database", 34);
    {
        unsigned char big[100000];
        size_t i;
        for (i = 0; i < sizeof big; i++) big[i] = (unsigned char)(i % 251);
        write_file(at("inner/big.bin"), big, sizeof big);
    }
    snprintf(cmd, sizeof cmd, "cd '%s' && zip -q ../inner.zip hello.txt big.bin", at("inner"));
    if (system(cmd) != 0) return;
    z = fopen(at("inner.zip"), "rb");
    fseek(z, 0, SEEK_END);
    n = ftell(z);
    fseek(z, 0, SEEK_SET);
    bytes = malloc((size_t)n);
    if (fread(bytes, 1, (size_t)n, z) != (size_t)n) n = 0;
    fclose(z);
    {
        buffdb_db *db = NULL;
        buffdb_open(at("withzip.buffdb"), NULL, &db);
        buffdb_stream_write(db, "/packs/inner.zip", bytes, (size_t)n, NULL);
        buffdb_close(db);
    }
    free(bytes);
    PHYSFS_mount(at("withzip.buffdb"), "/wz", 1);
    f = PHYSFS_openRead("/wz/packs/inner.zip");
    /* PhysFS's zip archiver reads every entry through duplicate() of our file */
    check("a zip stored in a database mounts through PHYSFS_mountHandle", f && PHYSFS_mountHandle(f, "inner.zip", "/inner", 1));
    check("the zip's entries read through duplicated database files", read_equals("/inner/hello.txt", "hello from a zip inside a database"));
    {
        PHYSFS_sint64 len = 0;
        unsigned char *b = read_all("/inner/big.bin", &len);
        int ok = b && len == 100000;
        PHYSFS_sint64 i;
        for (i = 0; ok && i < len; i++) ok = b[i] == (unsigned char)(i % 251);
        free(b);
        check("a deflated entry of the inner zip reads back", ok);
    }
    PHYSFS_unmount("inner.zip");
    PHYSFS_unmount(at("withzip.buffdb"));
}

static void test_write_dir(void) {
    PHYSFS_File *f;
    buffdb_db *db = NULL;
    bool exists = true;
    PHYSFS_Stat st;
    check("buffdb_physfs_set_write_dir creates and opens a database", buffdb_physfs_set_write_dir(at("save.buffdb")));
    check("the marker file is gone afterwards", access(at("save.buffdb.physfs-write.buffdb"), F_OK) != 0);
    check("openWrite needs its directory to exist, as in a directory", PHYSFS_openWrite("saves/slot1.sav") == NULL);
    check("mkdir", PHYSFS_mkdir("saves"));
    f = PHYSFS_openWrite("saves/slot1.sav");
    check("openWrite", f != NULL);
    if (!f) return;
    check("write in pieces", PHYSFS_writeBytes(f, "hello ", 6) == 6 && PHYSFS_writeBytes(f, "world", 5) == 5 && PHYSFS_tell(f) == 11);
    buffdb_open(at("save.buffdb"), NULL, &db);
    buffdb_stream_exists(db, "/saves/slot1.sav", &exists);
    check("nothing is visible before close", !exists);
    check("close commits", PHYSFS_close(f));
    buffdb_stream_exists(db, "/saves/slot1.sav", &exists);
    check("the file is a stream after close", exists);
    PHYSFS_mount(at("save.buffdb"), "/save", 1);
    check("the written file reads back through a read mount", read_equals("/save/saves/slot1.sav", "hello world"));
    f = PHYSFS_openAppend("saves/slot1.sav");
    check("openAppend starts at the end", f && PHYSFS_tell(f) == 11 && PHYSFS_writeBytes(f, "!!", 2) == 2 && PHYSFS_close(f));
    check("appended bytes follow the old ones", read_equals("/save/saves/slot1.sav", "hello world!!"));
    f = PHYSFS_openWrite("saves/slot1.sav");
    check("openWrite replaces", f && PHYSFS_writeBytes(f, "new", 3) == 3 && PHYSFS_close(f) && read_equals("/save/saves/slot1.sav", "new"));
    f = PHYSFS_openWrite("saves/slot2.sav");
    check("a write handle cannot seek elsewhere", f && !PHYSFS_seek(f, 100) && PHYSFS_seek(f, 0));
    PHYSFS_close(f);
    check("mkdir makes an empty directory", PHYSFS_mkdir("screens/empty") && PHYSFS_stat("/save/screens/empty", &st) &&
                                                st.filetype == PHYSFS_FILETYPE_DIRECTORY && enumerate_has("/save/screens", "empty") &&
                                                count_entries("/save/screens/empty") == 0);
    check("delete of a non-empty directory fails with DIR_NOT_EMPTY",
          !PHYSFS_delete("screens") && PHYSFS_getLastErrorCode() == PHYSFS_ERR_DIR_NOT_EMPTY);
    check("delete of an empty directory", PHYSFS_delete("screens/empty") && !PHYSFS_exists("/save/screens/empty"));
    check("delete of a file", PHYSFS_delete("saves/slot2.sav") && !PHYSFS_exists("/save/saves/slot2.sav") &&
                                  PHYSFS_exists("/save/saves/slot1.sav"));
    check("delete of a missing file fails with NOT_FOUND",
          !PHYSFS_delete("saves/none.sav") && PHYSFS_getLastErrorCode() == PHYSFS_ERR_NOT_FOUND);
    f = PHYSFS_openRead("/save/saves/slot1.sav");
    check("a read mount is read-only", f && PHYSFS_writeBytes(f, "x", 1) < 0);
    PHYSFS_close(f);
    PHYSFS_unmount(at("save.buffdb"));
    check("write dir cleared", buffdb_physfs_set_write_dir(NULL));
    buffdb_close(db);
}

static void test_errors(void) {
    write_file(at("bad.buffdb"), "this is not a database, just text long enough", 46);
    check("mounting a .buffdb that is not a database fails", !PHYSFS_mount(at("bad.buffdb"), "/bad", 1) &&
                                                               PHYSFS_getLastErrorCode() != PHYSFS_ERR_OK);
    check("openRead of a missing file gives NOT_FOUND",
          PHYSFS_mount(at("assets.buffdb"), "/e", 1) && !PHYSFS_openRead("/e/nope.png") && PHYSFS_getLastErrorCode() == PHYSFS_ERR_NOT_FOUND);
    check("openRead of a directory fails", !PHYSFS_openRead("/e/textures"));
    check("exists on a file and a directory", PHYSFS_exists("/e/textures/grass.png") && PHYSFS_exists("/e/textures/ui") &&
                                                   !PHYSFS_exists("/e/textures/gr"));
    check("prefix is not a directory: \"textures\" vs \"textures-extra\"",
          enumerate_has("/e", "textures") == 1 && enumerate_has("/e", "textures-extra") == 1 && count_entries("/e/textures") == 3);
    PHYSFS_unmount(at("assets.buffdb"));
}

int main(int argc, char **argv) {
    int have_zip;
    if (!game_harness_init(argc, argv)) return 2;
    mkdir(at("src"), 0755);
    make_tree(at("src"));
    check("store the asset tree in a database", pack(at("src"), at("assets.buffdb")));
    check("PHYSFS_init", PHYSFS_init(argv[0]));
    check("buffdb_physfs_register", buffdb_physfs_register());
    check("registering twice is fine", buffdb_physfs_register());
    check("mount the database", PHYSFS_mount(at("assets.buffdb"), "/db", 1));
    check("mount the directory as the reference", PHYSFS_mount(at("src"), "/ref", 1));
    compare_with_reference();
    PHYSFS_unmount(at("assets.buffdb"));
    PHYSFS_unmount(at("src"));
    /* quick mode (verify_checksums = false): the same files, bytes and ranges */
    check("quick mode: buffdb_physfs_verify_checksums(0) returns the previous setting", buffdb_physfs_verify_checksums(0) == 1);
    check("mount the database in quick mode", PHYSFS_mount(at("assets.buffdb"), "/db", 1));
    check("mount the directory as the reference again", PHYSFS_mount(at("src"), "/ref", 1));
    compare_with_reference();
    check("checksums on again for later mounts", buffdb_physfs_verify_checksums(1) == 0);
    PHYSFS_unmount(at("assets.buffdb"));
    PHYSFS_unmount(at("src"));
    have_zip = system("zip -v >/dev/null 2>&1") == 0;
    if (!have_zip) printf("     zip is not installed: skipping the zip mounts (apt-get install zip)\n");
    test_directory_cache();
    test_mixed_mounts(have_zip);
    test_zip_inside_database(have_zip);
    test_write_dir();
    test_errors();
    check("PHYSFS_deinit", PHYSFS_deinit());
    return game_harness_finish();
}
