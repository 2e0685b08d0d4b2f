/*
 * The PostgreSQL store passes the cases of the SQLite one (store_test_cases.c) on a throw-away server
 * (postgres/pg_cluster.sh), and refuses a newer schema, a database that is not a store, a missing
 * database, a server that is not there and a bad URL with a message naming the URL (password masked).
 * Exits 77 with the reason where PostgreSQL cannot start here.
 */
#define _POSIX_C_SOURCE 200809L
#include "store_test_cases.h"
#include "test_support.h"

#include <libpq-fe.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/nnb_pg_test.XXXXXX";
static char url[1024];

static void stop_cluster(void) { nnb_test_runf(NULL, 0, NULL, 0, "bash postgres/pg_cluster.sh stop '%s'", dir); }

/* url with its database (or port) swapped; the result lives until the next call but three. */
static const char *url_with(const char *what, const char *value) {
    static char bufs[4][1024];
    static int next;
    char *b = bufs[next++ % 4];
    if (strcmp(what, "db") == 0) {
        const char *q = strchr(url, '?');
        snprintf(b, 1024, "postgresql:///%s%s", value, q ? q : "");
    } else { /* port */
        const char *p = strstr(url, "port=");
        int n = (int)(p - url);
        const char *rest = p ? strchr(p, '&') : NULL;
        snprintf(b, 1024, "%.*sport=%s%s", n, url, value, rest ? rest : "");
    }
    return b;
}

static void sql(const char *spec, const char *statement) {
    PGconn *c = PQconnectdb(spec);
    PGresult *r = PQexec(c, statement);
    CHECK_MSG(PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s", statement, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

static void expect_refused(const char *spec, const char *why) {
    char err[2048] = "";
    nnb_store *s = NULL;
    CHECK_MSG(nnb_store_open(spec, &s, err, sizeof err) == -1 && !s, "%s refused", spec);
    CHECK_STR_CONTAINS(err, why);
    printf("  %s -> %s\n", spec, err);
    nnb_store_close(s);
}

static void newer_schema_refused(void) {
    sql(url, "CREATE DATABASE newer");
    const char *newer = url_with("db", "newer");
    nnb_store *s;
    char err[2048];
    CHECK_MSG(nnb_store_open(newer, &s, err, sizeof err) == 0, "%s", err);
    CHECK(s && strcmp(nnb_store_backend(s), "postgresql") == 0);
    nnb_store_close(s);
    sql(newer, "UPDATE meta SET value = '99' WHERE key = 'schema_version'");
    expect_refused(newer, "this store has schema 99, this nnbench writes 1: use a newer nnbench");
    expect_refused(newer, newer);
}

static void bad_places_refused(void) {
    sql(url, "CREATE DATABASE other");
    sql(url_with("db", "other"), "CREATE TABLE recipes(name TEXT)");
    expect_refused(url_with("db", "other"), "not an nnbench store");
    expect_refused(url_with("db", "no_such_db"), "database \"no_such_db\" does not exist");
    expect_refused(url_with("db", "no_such_db"), url_with("db", "no_such_db"));

    const char *port = strstr(url, "port=") + 5;
    char other_port[16];
    snprintf(other_port, sizeof other_port, "%d", atoi(port) + 1); /* no server has a socket there */
    const char *refused = url_with("port", other_port);
    expect_refused(refused, "cannot connect to PostgreSQL");
    expect_refused(refused, refused);

    char bad[1200], shown[1200];
    snprintf(bad, sizeof bad, "postgresql://nnb:s3cret@localhost:notaport/nnbench_test");
    snprintf(shown, sizeof shown, "postgresql://nnb:***@localhost:notaport/nnbench_test");
    expect_refused(bad, shown);
    expect_refused(bad, "invalid");
    snprintf(bad, sizeof bad, "postgres:///nnbench_test?host=%s&port=%s&password=s3cret", dir, other_port);
    snprintf(shown, sizeof shown, "postgres:///nnbench_test?host=%s&port=%s&password=***", dir, other_port);
    expect_refused(bad, shown);
    char err[2048];
    nnb_store *s = NULL;
    CHECK(nnb_store_open(bad, &s, err, sizeof err) == -1 && strstr(err, "s3cret") == NULL);
}

int main(void) {
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char err[4096];
    /* with our pid: should this test crash, the server is stopped and dir deleted all the same */
    int rc = nnb_test_runf(url, sizeof url, err, sizeof err, "bash postgres/pg_cluster.sh start '%s' %ld", dir,
                           (long)getpid());
    if (rc == 77) {
        fprintf(stderr, "skipped: %s", err);
        return 77;
    }
    atexit(stop_cluster); /* deletes dir too, whatever start did */
    url[strcspn(url, "\n")] = 0;
    CHECK_MSG(rc == 0 && strncmp(url, "postgresql://", 13) == 0, "pg_cluster.sh start: %d %s", rc, err);
    if (rc != 0)
        return nnb_test_finish();
    printf("server: %s\n", url);
    store_case_round_trip(url);
    store_case_duplicate(url);
    store_case_interrupted(url);
    sql(url, "CREATE DATABASE many");
    store_case_concurrent(url_with("db", "many"));
    newer_schema_refused();
    bad_places_refused();
    return nnb_test_finish();
}
