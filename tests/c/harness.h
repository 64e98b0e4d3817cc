/* A tiny test harness for the C API tests: counts and prints results. */
#ifndef BUFFDB_TEST_HARNESS_H
#define BUFFDB_TEST_HARNESS_H

void harness_pass(const char *name);
void harness_fail(const char *name, const char *why);
/* Runs tests/cases (as tokens); with `key` (32 raw bytes) every database is encrypted. */
void run_shared_cases(const char *token_file, const char *dir, const unsigned char *key);

#endif
