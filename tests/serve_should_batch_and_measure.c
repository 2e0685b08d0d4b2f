#define _GNU_SOURCE
/* nnbench serve, its pieces directly and the whole through the binary:
 *   - percentiles by nearest rank and the summary of a fixed, hand-made schedule (latencies, queueing,
 *     compute, throughput whole and core, batch histogram, answered-once counts) and the verdict's reasons;
 *   - the dynamic batcher with real threads: a batch closes at once when full, at the delay when not
 *     (never later than the delay plus scheduling slack), takes a request that arrives during the delay and
 *     leaves one that arrives after it, respects sample counts, and hands every request out exactly once
 *     under concurrent producers and workers;
 *   - the binary on the spin runner (infer busy-waits --seqLength + n x --inputSize microseconds): latency
 *     and compute at least the service time, offline batches of exactly --max-batch, seeded Poisson arrivals
 *     (same seed, same schedule; mean gap 1/qps), two workers, a latency target, a failing runner, the CSV
 *     (header once, whole rows, a foreign file refused untouched) and bad command lines. */
#include "serve.h"
#include "serve_queue.h"
#include "test_support.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char bin[1024], plugins[1024], dir[128];
static char out[1 << 16], err[1 << 16];
#define sh(...) nnb_test_runf(out, sizeof out, err, sizeof err, __VA_ARGS__)

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static void percentiles_by_nearest_rank(void) {
    double v[100];
    for (int i = 0; i < 100; i++)
        v[i] = i + 1;
    CHECK(nnb_serve_percentile(v, 100, 50) == 50 && nnb_serve_percentile(v, 100, 90) == 90);
    CHECK(nnb_serve_percentile(v, 100, 99) == 99 && nnb_serve_percentile(v, 100, 100) == 100);
    CHECK(nnb_serve_percentile(v, 100, 0.5) == 1);
    const double three[] = {1, 2, 3};
    CHECK(nnb_serve_percentile(three, 3, 50) == 2 && nnb_serve_percentile(three, 3, 99) == 3);
    CHECK(nnb_serve_percentile(three, 3, 33.3) == 1 && nnb_serve_percentile(three, 3, 34) == 2);
    CHECK(isnan(nnb_serve_percentile(v, 0, 50)));
}

/* Ten requests, two of them warmup; batches by hand. Request i (measured) arrives at 10 i, starts 1 ms
 * later, computes 2 ms, responds 0.5 ms after: latency 3.5 ms each, except request 9 which queues 6 ms. */
static void summary_of_a_fixed_schedule(void) {
    nnb_serve_request rq[10];
    nnb_serve_batch bt[5];
    memset(rq, 0, sizeof rq);
    for (int i = 0; i < 10; i++) {
        double q = i == 9 ? 6 : 1;
        rq[i] = (nnb_serve_request){2,
                                    i / 2,
                                    1,
                                    10.0 * i,
                                    10.0 * i + q,
                                    10.0 * i + q + 2,
                                    10.0 * i + q + 2.5,
                                    10.0 * i + (i == 5 ? 0.75 : 0.25)};
    }
    for (int b = 0; b < 5; b++)
        bt[b] = (nnb_serve_batch){b % 2, 2, 4, 20.0 * b, 20.0 * b + 1, 20.0 * b + 3, 0, 2, 0};
    nnb_serve_summary s;
    memset(&s, 0, sizeof s);
    nnb_serve_summarise(rq, 10, 2, bt, 5, 2, &s);
    CHECK(s.measured_requests == 8 && s.measured_samples == 16 && s.answered_once == 10);
    CHECK_NEAR(s.p50, 3.5, 1e-12);
    CHECK_NEAR(s.p99, 8.5, 1e-12); /* request 9: 6 + 2 + 0.5 */
    CHECK_NEAR(s.max, 8.5, 1e-12);
    CHECK_NEAR(s.min, 3.5, 1e-12);
    CHECK_NEAR(s.mean, (7 * 3.5 + 8.5) / 8, 1e-12);
    CHECK_NEAR(s.queue_mean, (7 * 1 + 6) / 8.0, 1e-12);
    CHECK_NEAR(s.compute_mean, 2, 1e-12);
    CHECK_NEAR(s.lag_p50, 0.25, 1e-12); /* the generator queued each 0.25 ms late, request 5 by 0.75 */
    CHECK_NEAR(s.lag_max, 0.75, 1e-12);
    CHECK_NEAR(s.duration_s, (90 + 8.5 - 20) / 1e3, 1e-12); /* first measured arrival 20 to last response */
    CHECK_NEAR(s.whole_samples_per_s, 16 / s.duration_s, 1e-9);
    /* Batches 1..4 hold measured requests: worker 1 runs 1 and 3, worker 0 runs 2 and 4, 8 samples in 4 ms each. */
    CHECK(s.batches == 4 && s.histogram[4] == 4);
    CHECK_NEAR(s.core_samples_per_s, 2 * 8 / 4e-3, 1e-6);
    CHECK_NEAR(s.mean_batch_samples, 4, 1e-12);

    rq[3].answered = 0, rq[4].answered = 2;
    nnb_serve_summarise(rq, 10, 2, bt, 5, 2, &s);
    CHECK(s.unanswered == 1 && s.duplicates == 1 && s.measured_requests == 6);
    nnb_serve_options o;
    memset(&o, 0, sizeof o);
    o.requests = 8;
    o.min_duration_s = 1;
    o.latency_target_ms = 3;
    nnb_serve_judge(&o, 0, NULL, &s);
    CHECK(!s.valid);
    CHECK_STR_CONTAINS(s.verdict, "1 request(s) unanswered, 1 answered more than once");
    CHECK_STR_CONTAINS(s.verdict, "6 of 8 measured requests answered");
    CHECK_STR_CONTAINS(s.verdict, "< --min-duration 1 s");
    CHECK_STR_CONTAINS(s.verdict, "p99 8.5 ms > --latency-target-ms 3");
    rq[3].answered = 1, rq[4].answered = 1;
    nnb_serve_summarise(rq, 10, 2, bt, 5, 2, &s);
    o.min_duration_s = 0, o.latency_target_ms = 9;
    nnb_serve_judge(&o, 0, NULL, &s);
    CHECK_MSG(s.valid && !strcmp(s.verdict, "VALID"), "%s", s.verdict);
}

/* ---- the batcher with threads ---- */

typedef struct pusher {
    nnb_serve_queue *q;
    int first, count;
    double delay_ms; /* before each push */
} pusher;

static void *push_later(void *arg) {
    pusher *p = arg;
    for (int i = 0; i < p->count; i++) {
        if (p->delay_ms > 0)
            usleep((useconds_t)(p->delay_ms * 1e3));
        nnb_serve_queue_push(p->q, p->first + i);
    }
    return NULL;
}

static void batcher_closes_at_size_or_delay(void) {
    static int sizes[64];
    for (int i = 0; i < 64; i++)
        sizes[i] = 1;
    nnb_serve_queue q;
    CHECK(nnb_serve_queue_init(&q, 64, sizes) == 0);
    int ids[64];
    double taken;
    /* Full: 8 waiting, max 4 samples, a long delay: 4 at once, in order. */
    for (int i = 0; i < 8; i++)
        nnb_serve_queue_push(&q, i);
    double t0 = now_ms();
    int n = nnb_serve_queue_next_batch(&q, 4, 1000, ids, 64, &taken);
    CHECK_MSG(n == 4 && now_ms() - t0 < 100, "a full batch closes at once (%d in %.1f ms)", n, now_ms() - t0);
    CHECK(ids[0] == 0 && ids[3] == 3);
    n = nnb_serve_queue_next_batch(&q, 4, 1000, ids, 64, &taken);
    CHECK(n == 4 && ids[0] == 4);

    /* Not full: closes at the delay, never later (plus scheduling slack on a shared machine). */
    nnb_serve_queue_push(&q, 8);
    t0 = now_ms();
    n = nnb_serve_queue_next_batch(&q, 4, 40, ids, 64, &taken);
    double waited = now_ms() - t0;
    CHECK_MSG(n == 1 && waited >= 39.9 && waited < 40 + 60, "one request, delay 40 ms: closed after %.2f ms", waited);

    /* A request arriving during the delay joins; one arriving after it waits for the next batch. */
    pusher during = {&q, 9, 1, 10}, after = {&q, 10, 1, 120};
    pthread_t t1, t2;
    nnb_serve_queue_push(&q, 11);
    pthread_create(&t1, NULL, push_later, &during);
    pthread_create(&t2, NULL, push_later, &after);
    t0 = now_ms();
    n = nnb_serve_queue_next_batch(&q, 4, 60, ids, 64, &taken);
    waited = now_ms() - t0;
    CHECK_MSG(n == 2 && ids[0] == 11 && ids[1] == 9, "the request 10 ms into a 60 ms delay joins (%d)", n);
    CHECK_MSG(waited >= 59.9 && waited < 60 + 55, "still closed at the delay: %.2f ms", waited);
    n = nnb_serve_queue_next_batch(&q, 4, 0, ids, 64, &taken);
    CHECK_MSG(n == 1 && ids[0] == 10, "the late request is the next batch");
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);

    /* Full before the delay: closes when the batch fills, not at the delay. */
    pusher fill = {&q, 12, 1, 15};
    nnb_serve_queue_push(&q, 13);
    pthread_create(&t1, NULL, push_later, &fill);
    t0 = now_ms();
    n = nnb_serve_queue_next_batch(&q, 2, 500, ids, 64, &taken);
    waited = now_ms() - t0;
    CHECK_MSG(n == 2 && waited < 250, "filled 15 ms into a 500 ms delay: closed after %.1f ms", waited);
    pthread_join(t1, NULL);

    /* Samples, not requests: 3 + 2 > 4, so [3] then [2]. */
    sizes[20] = 3, sizes[21] = 2;
    nnb_serve_queue_push(&q, 20);
    nnb_serve_queue_push(&q, 21);
    n = nnb_serve_queue_next_batch(&q, 4, 50, ids, 64, &taken);
    CHECK(n == 1 && ids[0] == 20);
    n = nnb_serve_queue_next_batch(&q, 4, 0, ids, 64, &taken);
    CHECK(n == 1 && ids[0] == 21);

    /* Closed: what is left comes out at once, then nothing. */
    nnb_serve_queue_push(&q, 30);
    nnb_serve_queue_close(&q);
    CHECK(nnb_serve_queue_push(&q, 31) == -1);
    t0 = now_ms();
    n = nnb_serve_queue_next_batch(&q, 4, 1000, ids, 64, &taken);
    CHECK(n == 1 && ids[0] == 30 && now_ms() - t0 < 100);
    CHECK(nnb_serve_queue_next_batch(&q, 4, 1000, ids, 64, &taken) == 0);
    nnb_serve_queue_destroy(&q);
}

typedef struct waiting_worker {
    nnb_serve_queue *q;
    int ids[8], n;
} waiting_worker;
static void *take_one_batch(void *arg) {
    waiting_worker *w = arg;
    double taken;
    w->n = nnb_serve_queue_next_batch(w->q, 4, 0, w->ids, 8, &taken);
    return NULL;
}

/* Offline requests arrive together: a worker already waiting (no delay) must see all of them, never a part. */
static void a_range_arrives_at_once(void) {
    static int sizes[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    nnb_serve_queue q;
    CHECK(nnb_serve_queue_init(&q, 6, sizes) == 0);
    waiting_worker w = {.q = &q};
    pthread_t t;
    pthread_create(&t, NULL, take_one_batch, &w);
    usleep(30000); /* the worker is asleep on the empty queue */
    CHECK(nnb_serve_queue_push_range(&q, 2, 4) == 0);
    pthread_join(t, NULL);
    CHECK_MSG(w.n == 4 && w.ids[0] == 2 && w.ids[3] == 5, "a waiting worker takes the whole range (%d)", w.n);
    CHECK(nnb_serve_queue_push_range(&q, 0, 7) == -1); /* more than the capacity: nothing queued */
    double taken;
    nnb_serve_queue_close(&q);
    CHECK(nnb_serve_queue_next_batch(&q, 4, 0, w.ids, 8, &taken) == 0);
    nnb_serve_queue_destroy(&q);
}

typedef struct consumer {
    nnb_serve_queue *q;
    int *seen, max;
    pthread_mutex_t *lock;
} consumer;

static void *consume(void *arg) {
    consumer *c = arg;
    int ids[16];
    double taken;
    for (int n; (n = nnb_serve_queue_next_batch(c->q, c->max, 0.2, ids, 16, &taken)) > 0;) {
        pthread_mutex_lock(c->lock);
        for (int k = 0; k < n; k++)
            c->seen[ids[k]]++;
        pthread_mutex_unlock(c->lock);
    }
    return NULL;
}

static void every_request_exactly_once(void) {
    enum { N = 4000 };
    static int sizes[N], seen[N];
    for (int i = 0; i < N; i++)
        sizes[i] = 1 + i % 3;
    nnb_serve_queue q;
    nnb_serve_queue_init(&q, N, sizes);
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pusher p[4];
    consumer c[3];
    pthread_t pt[4], ct[3];
    for (int i = 0; i < 3; i++) {
        c[i] = (consumer){&q, seen, 3 + 2 * i, &lock};
        pthread_create(&ct[i], NULL, consume, &c[i]);
    }
    for (int i = 0; i < 4; i++) {
        p[i] = (pusher){&q, i * (N / 4), N / 4, 0};
        pthread_create(&pt[i], NULL, push_later, &p[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(pt[i], NULL);
    nnb_serve_queue_close(&q);
    for (int i = 0; i < 3; i++)
        pthread_join(ct[i], NULL);
    int once = 0;
    for (int i = 0; i < N; i++)
        once += seen[i] == 1;
    CHECK_MSG(once == N, "%d of %d requests handed out exactly once", once, N);
    nnb_serve_queue_destroy(&q);
}

/* ---- through the binary ---- */

static cJSON *serve_json(const char *args, int *rc) {
    char path[256];
    snprintf(path, sizeof path, "%s/serve.json", dir);
    unlink(path);
    *rc = sh("%s serve --device cpu --runner-path %s --json-out %s %s", bin, plugins, path, args);
    return nnb_test_read_json(path);
}

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }
static double num(const cJSON *o, const char *k) { return cJSON_GetNumberValue(get(o, k)); }
static double cell(const cJSON *rows, int i, int col) {
    return cJSON_GetNumberValue(cJSON_GetArrayItem(cJSON_GetArrayItem(rows, i), col));
}

static void closed_loop_latency_covers_the_service_time(void) {
    int rc;
    /* Service time 300 + 1 x 200 = 500 us per request. */
    cJSON *doc = serve_json("--runner spin --seqLength 300 --inputSize 200 --requests 60 --warmup-requests 5", &rc);
    CHECK_MSG(rc == 0 && doc, "closed loop: exit %d: %s", rc, err);
    const cJSON *s = get(doc, "summary"), *lat = get(s, "latency_ms");
    CHECK(num(s, "measured_requests") == 60 && num(s, "answered_once") == 65 && num(s, "unanswered") == 0);
    CHECK_MSG(num(lat, "min") >= 0.5 && num(s, "compute_mean_ms") >= 0.5, "latency %g, compute %g >= 0.5 ms",
              num(lat, "min"), num(s, "compute_mean_ms"));
    CHECK(num(lat, "p50") <= num(lat, "p90") && num(lat, "p90") <= num(lat, "p99") &&
          num(lat, "p99") <= num(lat, "max"));
    CHECK(num(s, "mean_batch_samples") == 1 && cJSON_IsTrue(get(s, "valid")));
    const cJSON *rq = get(doc, "requests");
    int ordered = 1;
    for (int i = 0; i < cJSON_GetArraySize(rq); i++) /* arrival <= start <= end <= response; end - start >= service */
        ordered &= cell(rq, i, 0) <= cell(rq, i, 1) && cell(rq, i, 1) < cell(rq, i, 2) &&
                   cell(rq, i, 2) <= cell(rq, i, 3) && cell(rq, i, 2) - cell(rq, i, 1) >= 0.5;
    CHECK_MSG(ordered, "every request's times in order, compute >= the service time");
    for (int i = 1; i < cJSON_GetArraySize(rq); i++) /* closed loop of 1: the next request follows the response */
        ordered &= cell(rq, i, 0) >= cell(rq, i - 1, 3) - 1e-9;
    CHECK_MSG(ordered, "concurrency 1: each request sent after the previous response");
    cJSON_Delete(doc);
}

static void offline_fills_every_batch(void) {
    int rc;
    cJSON *doc = serve_json("--runner spin --seqLength 100 --inputSize 10 --mode offline --requests 16 "
                            "--warmup-requests 0 --max-batch 4 --max-batch-delay-ms 50",
                            &rc);
    CHECK_MSG(rc == 0 && doc, "offline: exit %d: %s", rc, err);
    const cJSON *s = get(doc, "summary");
    CHECK_MSG(num(s, "batches") == 4 && num(get(s, "batch_histogram"), "4") == 4, "16 requests in 4 batches of 4");
    const cJSON *bt = get(doc, "batches");
    for (int b = 0; b < cJSON_GetArraySize(bt); b++)
        CHECK(cell(bt, b, 2) == 4 && cell(bt, b, 5) >= 0.1 + 4 * 0.01);
    cJSON_Delete(doc);
}

static void poisson_arrivals_are_seeded(void) {
    double gaps[2] = {0, 0}, first[2][20];
    for (int run = 0; run < 2; run++) {
        int rc;
        cJSON *doc =
            serve_json("--runner empty --mode poisson --qps 4000 --requests 2000 --warmup-requests 0 --seed 7", &rc);
        CHECK_MSG(rc == 0 && doc, "poisson: exit %d: %s", rc, err);
        const cJSON *rq = get(doc, "requests");
        int n = cJSON_GetArraySize(rq);
        CHECK(n == 2000);
        for (int i = 0; i < 20 && i < n; i++)
            first[run][i] = cell(rq, i, 0);
        gaps[run] = n > 1 ? (cell(rq, n - 1, 0) - cell(rq, 0, 0)) / (n - 1) : 0;
        cJSON_Delete(doc);
    }
    int same = 1;
    for (int i = 0; i < 20; i++)
        same &= fabs(first[0][i] - first[1][i]) < 1e-6;
    CHECK_MSG(same, "the same seed gives the same arrival schedule");
    /* Mean of 1999 exponential gaps: 0.25 ms, standard error 0.25 / sqrt(1999) = 0.0056 ms; 5 sigma. */
    CHECK_MSG(fabs(gaps[0] - 0.25) < 0.028, "mean gap %.4f ms for 4000 requests/s", gaps[0]);
    int rc;
    cJSON *doc = serve_json("--runner empty --mode poisson --qps 4000 --requests 50 --warmup-requests 0 --seed 8", &rc);
    CHECK(doc && fabs(cell(get(doc, "requests"), 5, 0) - first[0][5]) > 1e-6);
    cJSON_Delete(doc);
}

static void two_workers_share_the_load(void) {
    int rc;
    cJSON *doc =
        serve_json("--runner spin --seqLength 200 --inputSize 1 --workers 2 --concurrency 4 --requests 200", &rc);
    CHECK_MSG(rc == 0 && doc, "two workers: exit %d: %s", rc, err);
    const cJSON *bt = get(doc, "batches");
    int used[2] = {0, 0};
    for (int b = 0; b < cJSON_GetArraySize(bt); b++)
        used[(int)cell(bt, b, 0) & 1]++;
    CHECK_MSG(used[0] > 0 && used[1] > 0, "both workers ran batches (%d, %d)", used[0], used[1]);
    CHECK(num(get(doc, "summary"), "answered_once") == 210);
    cJSON_Delete(doc);
}

static void invalid_runs_say_why(void) {
    int rc;
    cJSON *doc = serve_json("--runner spin --seqLength 300 --inputSize 1 --requests 20 --latency-target-ms 0.1", &rc);
    CHECK_MSG(rc == 1, "a p99 over the target: exit 1 (%d)", rc);
    CHECK_STR_CONTAINS(err, "verdict        INVALID: p99 ");
    CHECK_STR_CONTAINS(err, "> --latency-target-ms 0.1");
    CHECK(doc && cJSON_IsFalse(get(get(doc, "summary"), "valid")));
    cJSON_Delete(doc);
    doc = serve_json("--runner forward_fails --requests 20", &rc);
    CHECK_MSG(rc == 1, "a failing runner: exit 1 (%d)", rc);
    CHECK_STR_CONTAINS(err, "runner error: worker 0: infer(1): deliberate infer failure at call 3");
    cJSON_Delete(doc);
    doc = serve_json("--runner spin --seqLength 10 --inputSize 1 --requests 20 --min-duration 30", &rc);
    CHECK(rc == 1);
    CHECK_STR_CONTAINS(err, "< --min-duration 30 s");
    cJSON_Delete(doc);
}

static void csv_rows_append_whole(void) {
    char csv[256];
    snprintf(csv, sizeof csv, "%s/runs.csv", dir);
    for (int i = 0; i < 2; i++)
        CHECK(sh("%s serve --device cpu --runner-path %s --runner empty --requests 50 --csv %s --quiet", bin, plugins,
                 csv) == 0);
    FILE *f = fopen(csv, "r");
    char line[4096];
    int lines = 0, headers = 0, commas0 = -1, same = 1;
    while (f && fgets(line, sizeof line, f)) {
        lines++;
        headers += !strncmp(line, "date,host,runner", 16);
        int commas = 0;
        for (char *c = line, q = 0; *c; c++)
            q ^= *c == '"', commas += *c == ',' && !q;
        if (commas0 < 0)
            commas0 = commas;
        same &= commas == commas0 && line[strlen(line) - 1] == '\n';
    }
    if (f)
        fclose(f);
    CHECK_MSG(lines == 3 && headers == 1 && same, "header once and 2 whole rows (%d lines, %d headers)", lines,
              headers);
    char other[256];
    snprintf(other, sizeof other, "%s/other.csv", dir);
    f = fopen(other, "w");
    if (f)
        fputs("a,b,c\n1,2,3\n", f), fclose(f);
    int rc = sh("%s serve --device cpu --runner-path %s --runner empty --requests 5 --csv %s", bin, plugins, other);
    CHECK(rc == 2);
    CHECK_STR_CONTAINS(err, "already holds something else");
    f = fopen(other, "r");
    char buf[64] = "";
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    CHECK_MSG(n == 12 && !strcmp(buf, "a,b,c\n1,2,3\n"), "the foreign file is untouched");
}

static void bad_command_lines(void) {
    struct {
        const char *args, *needle;
        int rc;
    } cases[] = {
        {"", "--runner NAME is required", 2},
        {"--runner spin --mode poisson", "--mode poisson needs --qps", 2},
        {"--runner spin --qps 5", "--qps goes with --mode poisson", 2},
        {"--runner spin --mode offline --concurrency 2", "--concurrency goes with --mode closed", 2},
        {"--runner spin --batch-size 8 --max-batch 4", "--batch-size 8 is larger than --max-batch 4", 2},
        {"--runner spin --miniBatch 4", "--miniBatch does not apply to nnbench serve", 2},
        {"--runner spin --mode fast", "--mode: 'fast' is not one of", 2},
        {"--runner spin --workers 0", "--workers: '0'", 2},
        {"--runner spin --max-batch-delay-ms -1", "--max-batch-delay-ms", 2},
        {"--runner spin --bogus", "unknown flag '--bogus'", 2},
        {"--runner nosuch", "--runner nosuch: no such runner on cpu", 2},
        {"--runner segfaults",
         "has no inference entry (ABI 1.2 infer), so it cannot serve; runners that can serve on cpu:", 2},
        {"--runner spin --json-out /proc/version/x.json", "--json-out: '/proc/version' is a file, not a folder", 2},
        {"--runner spin --weights /nonexistent", "--weights: '/nonexistent' is not a directory", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = sh("%s serve --device cpu --runner-path %s %s", bin, plugins, cases[i].args);
        CHECK_MSG(rc == cases[i].rc, "serve %s: exit %d, expected %d", cases[i].args, rc, cases[i].rc);
        CHECK_STR_CONTAINS(err, cases[i].needle);
    }
}

int main(void) {
    snprintf(bin, sizeof bin, "%s", nnb_test_env("NNBENCH_BIN"));
    snprintf(plugins, sizeof plugins, "%s/good", nnb_test_env("NNBENCH_TEST_PLUGIN_DIR"));
    snprintf(dir, sizeof dir, "/tmp/nnb_serve_test_XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    percentiles_by_nearest_rank();
    summary_of_a_fixed_schedule();
    batcher_closes_at_size_or_delay();
    a_range_arrives_at_once();
    every_request_exactly_once();
    closed_loop_latency_covers_the_service_time();
    offline_fills_every_batch();
    poisson_arrivals_are_seeded();
    two_workers_share_the_load();
    invalid_runs_say_why();
    csv_rows_append_whole();
    bad_command_lines();
    if (!nnb_test_failed)
        sh("rm -rf %s", dir);
    return nnb_test_finish();
}
