/* A tiny test harness for the C API tests: counts and prints results. */
#ifndef BUFFDB_TEST_HARNESS_H
#define BUFFDB_TEST_HARNESS_H

void harness_pass(const char *name);
void harness_fail(const char *name, const char *why);
void run_shared_cases(const char *token_file, const char *dir);

#endif
