/* An application that defines SQLite's and OpenSSL's names itself (as one that links
 * its own SQLite or OpenSSL does) links libbuffdb.a statically: no "multiple
 * definition", each side keeps its own functions, and BuffDB works.
 * Usage: static_beside DB_PATH */
#include <stdio.h>
#include <string.h>
#include "buffdb.h"

int sqlite3_libversion_number(void) { return 42; }
const char *sqlite3_libversion(void) { return "the application's"; }
int sqlite3_open(const char *path, void **db) { (void)path; *db = NULL; return 99; }
void *EVP_CIPHER_CTX_new(void) { return NULL; }
int OPENSSL_init_crypto(unsigned long long opts, const void *settings) { (void)opts; (void)settings; return 7; }

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s DB\n", argv[0]); return 2; }
    struct buffdb_db *db = NULL;
    enum buffdb_status s = buffdb_open(argv[1], NULL, &db);
    if (s != BUFFDB_OK) { fprintf(stderr, "buffdb_open: %d\n", (int)s); return 1; }
    s = buffdb_put(db, (const uint8_t *)"key", 3, (const uint8_t *)"value", 5);
    if (s != BUFFDB_OK) { fprintf(stderr, "buffdb_put: %d\n", (int)s); return 1; }
    uint8_t buf[16];
    size_t len = 0;
    s = buffdb_get(db, (const uint8_t *)"key", 3, buf, sizeof buf, &len);
    if (s != BUFFDB_OK || len != 5 || memcmp(buf, "value", 5) != 0) {
        fprintf(stderr, "buffdb_get: %d, %zu bytes\n", (int)s, len);
        return 1;
    }
    buffdb_close(db);
    void *own = (void *)1;
    if (sqlite3_libversion_number() != 42 || sqlite3_open("x", &own) != 99 || own != NULL
        || OPENSSL_init_crypto(0, NULL) != 7) {
        fprintf(stderr, "the application's own sqlite3_/OpenSSL functions were replaced\n");
        return 1;
    }
    printf("buffdb put/get ok beside the application's own sqlite3_* and OpenSSL names\n");
    return 0;
}
