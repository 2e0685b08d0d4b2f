/*
 * The SQLite store keeps each run exactly once: the round trip with exact values and samples, the same
 * file twice, a failure and a killed process half-way through adding a file, 8 processes adding at once;
 * and it refuses what it must not touch: a newer schema, a missing folder, a file that is not a store.
 */
#define _POSIX_C_SOURCE 200809L
#include "store_test_cases.h"
#include "test_support.h"

#include <sqlite3.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char dir[] = "/tmp/nnb_store_test.XXXXXX";

static const char *in_dir(const char *name) {
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

static void sql(const char *path, const char *statement) {
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK_MSG(sqlite3_exec(db, statement, NULL, NULL, NULL) == SQLITE_OK, "%s: %s", statement, sqlite3_errmsg(db));
    sqlite3_close(db);
}

static void expect_refused(const char *spec, const char *why) {
    char err[1024] = "";
    nnb_store *s = NULL;
    CHECK_MSG(nnb_store_open(spec, &s, err, sizeof err) == -1 && !s, "%s refused", spec);
    CHECK_STR_CONTAINS(err, why);
    printf("  %s -> %s\n", spec, err);
    nnb_store_close(s);
}

static void newer_schema_refused(void) {
    const char *path = in_dir("newer.db");
    nnb_store *s;
    char err[1024];
    CHECK_MSG(nnb_store_open(path, &s, err, sizeof err) == 0, "%s", err);
    nnb_store_close(s);
    sql(path, "UPDATE meta SET value = '99' WHERE key = 'schema_version'");
    expect_refused(path, "this store has schema 99, this nnbench writes 1: use a newer nnbench");
    expect_refused(path, path);
}

static void bad_places_refused(void) {
    const char *missing = in_dir("missing/history.db");
    expect_refused(missing, "the folder ");
    expect_refused(missing, in_dir("missing does not exist"));
    struct stat st;
    CHECK_MSG(stat(in_dir("missing"), &st) != 0, "the missing folder was not created");
    expect_refused(dir, "is a folder");
    expect_refused("", "no store given");

    const char *text = in_dir("notes.txt"), *words = "these are notes, not results\n";
    FILE *f = fopen(text, "w");
    fputs(words, f);
    fclose(f);
    expect_refused(text, "is not an nnbench store");
    char back[128] = "";
    f = fopen(text, "r");
    CHECK(f && fgets(back, sizeof back, f) && strcmp(back, words) == 0);
    CHECK(f && fgetc(f) == EOF);
    if (f)
        fclose(f);

    const char *other = in_dir("other.db");
    sql(other, "CREATE TABLE recipes(name TEXT)");
    expect_refused(other, "a SQLite database but not an nnbench store");
}

int main(void) {
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    const char *store = in_dir("history.db");
    store_case_round_trip(store);
    store_case_duplicate(store);
    store_case_interrupted(store);
    store_case_concurrent(in_dir("many.db"));
    newer_schema_refused();
    bad_places_refused();
    nnb_test_runf(NULL, 0, NULL, 0, "rm -rf '%s'", dir);
    return nnb_test_finish();
}
