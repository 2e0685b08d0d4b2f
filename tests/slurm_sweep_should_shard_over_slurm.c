#define _GNU_SOURCE
/* nnbench sweep --slurm against a real single-node Slurm that this test starts itself
 * (tests/slurm/slurm_cluster.sh: munged, slurmctld and slurmd as root, everything in a temporary folder):
 *   1. a 10-point sweep in 4 shards: the array job's 4 tasks each run their shard (points k mod 4), the merge
 *      job runs after them (afterok) and writes a complete sweep.json with every point exactly once, each
 *      shard's record naming its Slurm job;
 *   2. a sweep whose array is held, one task cancelled before it starts, the others released, merged with
 *      --merge-after any: the merge names the shard that never wrote its file and its points;
 *   3. a sweep with a failing runner in one shard: that task fails, and the afterok merge is cancelled, not
 *      left pending.
 * Exit 77 (skipped, with the reason) where Slurm is not installed or cannot start. */
#include "test_support.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char dir[128], cluster[1024], bin[1024], plugins[1024];
static char out[1 << 16], err[1 << 16];
static int started;

#define sh(...) nnb_test_runf(out, sizeof out, err, sizeof err, __VA_ARGS__)

static void stop_cluster(void) {
    if (started)
        sh("bash %s stop %s", cluster, dir);
    if (!nnb_test_failed)
        sh("rm -rf %s", dir);
    else
        fprintf(stderr, "kept %s (slurm.conf, logs, sweep outputs)\n", dir);
}

static void drain(const char *ids) {
    for (time_t t0 = time(NULL); time(NULL) - t0 < 150;) {
        sh("squeue -h -j %s -o %%i -t PD,R,CG,CF,S,RQ,RS,RH", ids);
        if (!out[0])
            return;
        usleep(200 * 1000);
    }
    CHECK_MSG(0, "jobs %s still queued after 150 s", ids);
}

static void job_state(const char *id, char *state, size_t len) {
    sh("scontrol show job %s | sed -n 's/.*JobState=\\([A-Z_]*\\).*/\\1/p' | head -n 1", id);
    snprintf(state, len, "%.*s", (int)strcspn(out, "\n"), out);
}

/* Submit a sweep; array and merge job ids from its stdout ("array_job=N", "merge_job=N"). */
static int submit(const char *args, char *array, char *merge) {
    int rc = sh("cd %s && %s sweep --slurm --device cpu --group rnns --warmup 1 --nloops 5 --threads 1 "
                "--runner-path %s %s",
                dir, bin, plugins, args);
    CHECK_MSG(rc == 0, "nnbench sweep --slurm %s: exit %d: %s", args, rc, err);
    const char *a = strstr(out, "array_job="), *m = strstr(out, "merge_job=");
    snprintf(array, 32, "%.*s", a ? (int)strcspn(a + 10, "\n") : 0, a ? a + 10 : "");
    snprintf(merge, 32, "%.*s", m ? (int)strcspn(m + 10, "\n") : 0, m ? m + 10 : "");
    CHECK_MSG(array[0] && merge[0], "job ids printed: '%s'", out);
    return rc == 0 && array[0] && merge[0];
}

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

static void four_shards_and_their_merge(void) {
    char array[32], merge[32], ids[80], state[64], path[512];
    if (!submit("--shards 4 --out s1 --axis seqLength=100,200,300,400,500 --axis miniBatch=1,2 --rnns spin", array,
                merge))
        return;
    snprintf(ids, sizeof ids, "%s,%s", array, merge);
    drain(ids);
    job_state(merge, state, sizeof state);
    CHECK_MSG(!strcmp(state, "COMPLETED"), "merge job %s: %s", merge, state);
    for (int t = 0; t < 4; t++) {
        char task[48];
        snprintf(task, sizeof task, "%s_%d", array, t);
        job_state(task, state, sizeof state);
        CHECK_MSG(!strcmp(state, "COMPLETED"), "array task %s: %s", task, state);
    }
    snprintf(path, sizeof path, "%s/s1/sweep.json", dir);
    cJSON *doc = nnb_test_read_json(path);
    CHECK_MSG(doc != NULL, "the merge job wrote %s", path);
    CHECK(cJSON_IsTrue(get(doc, "complete")));
    CHECK(cJSON_GetArraySize(get(doc, "points")) == 10);
    int seen[10] = {0};
    const cJSON *p;
    cJSON_ArrayForEach(p, get(doc, "points")) {
        int k = (int)cJSON_GetNumberValue(get(p, "index"));
        if (k >= 0 && k < 10)
            seen[k]++;
        const cJSON *rec =
            cJSON_GetArrayItem(get(get(get(cJSON_GetArrayItem(get(p, "runs"), 0), "results"), "groups"), "rnns"), 0);
        const char *status = cJSON_GetStringValue(get(rec, "status"));
        CHECK_MSG(status && !strcmp(status, "ok"), "point %d: spin measured", k);
    }
    for (int k = 0; k < 10; k++)
        CHECK_MSG(seen[k] == 1, "point %d merged once (%d)", k, seen[k]);
    const cJSON *s;
    int shards = 0;
    cJSON_ArrayForEach(s, get(doc, "shards")) {
        CHECK(cJSON_GetNumberValue(get(s, "index")) == shards && cJSON_GetNumberValue(get(s, "count")) == 4);
        CHECK_MSG(cJSON_IsString(get(s, "slurm_job_id")), "shard %d names its Slurm job", shards);
        shards++;
    }
    CHECK(shards == 4);
    cJSON_Delete(doc);
    for (int t = 0; t < 4; t++) { /* shard t ran exactly the points k = t mod 4 */
        snprintf(path, sizeof path, "%s/s1/shard-%d-of-4.json", dir, t);
        cJSON *shard = nnb_test_read_json(path);
        int n = 0, right = 1;
        cJSON_ArrayForEach(p, get(shard, "points")) {
            n++;
            right &= (int)cJSON_GetNumberValue(get(p, "index")) % 4 == t;
        }
        CHECK_MSG(right && n == (t < 2 ? 3 : 2), "shard %d: %d points, all k mod 4 = %d", t, n, t);
        cJSON_Delete(shard);
    }
    snprintf(path, sizeof path, "%s/s1/sweep.csv", dir);
    CHECK_MSG(access(path, R_OK) == 0, "%s written by the merge job", path);
}

static void a_shard_that_never_ran_is_named(void) {
    char array[32], merge[32], ids[80], state[64], path[512];
    if (!submit("--shards 4 --out s2 --merge-after any --sbatch-arg=--hold --axis seqLength=100,200,300,400 "
                "--rnns spin",
                array, merge))
        return;
    CHECK(sh("scancel %s_2", array) == 0);
    CHECK_MSG(sh("scontrol release %s_0 %s_1 %s_3 %s", array, array, array, merge) == 0, "release: %s", err);
    snprintf(ids, sizeof ids, "%s,%s", array, merge);
    drain(ids);
    job_state(merge, state, sizeof state);
    CHECK_MSG(!strcmp(state, "FAILED"), "the merge of an incomplete sweep ran and exited 1: %s", state);
    snprintf(path, sizeof path, "%s/s2/sweep.json", dir);
    cJSON *doc = nnb_test_read_json(path);
    CHECK_MSG(doc != NULL, "%s written anyway", path);
    CHECK(cJSON_IsFalse(get(doc, "complete")) && cJSON_GetArraySize(get(doc, "points")) == 3);
    char *text = cJSON_PrintUnformatted(get(doc, "missing"));
    CHECK_STR_CONTAINS(text ? text : "", "shard-2-of-4.json: not found (the shard never wrote it)");
    CHECK_STR_CONTAINS(text ? text : "", "shard 2/4 never wrote its file: points 2 have no results");
    free(text);
    cJSON_Delete(doc);
}

static void a_failed_shard_cancels_the_afterok_merge(void) {
    char array[32], merge[32], ids[80], state[64], path[512];
    if (!submit("--shards 2 --out s3 --axis rnns=spin,forward_fails", array, merge))
        return;
    snprintf(ids, sizeof ids, "%s,%s", array, merge);
    drain(ids);
    char task[48];
    snprintf(task, sizeof task, "%s_1", array);
    job_state(task, state, sizeof state);
    CHECK_MSG(!strcmp(state, "FAILED"), "shard 1 (forward_fails) failed: %s", state);
    job_state(merge, state, sizeof state);
    CHECK_MSG(!strcmp(state, "CANCELLED"), "afterok merge cancelled, not pending: %s", state);
    snprintf(path, sizeof path, "%s/s3/sweep.json", dir);
    CHECK_MSG(access(path, F_OK) != 0, "no merged file after a failed shard");
}

int main(void) {
    snprintf(cluster, sizeof cluster, "%s/../slurm/slurm_cluster.sh", nnb_test_env("NNBENCH_TEST_DATA"));
    snprintf(bin, sizeof bin, "%s", nnb_test_env("NNBENCH_BIN"));
    snprintf(plugins, sizeof plugins, "%s/good", nnb_test_env("NNBENCH_TEST_PLUGIN_DIR"));
    snprintf(dir, sizeof dir, "/tmp/nnb-sw.XXXXXX");
    if (!mkdtemp(dir))
        return fprintf(stderr, "mkdtemp failed\n"), 1;
    atexit(stop_cluster);
    int rc = sh("bash %s start %s", cluster, dir);
    if (rc == 77) {
        fprintf(stderr, "skipped: %s", err);
        return 77;
    }
    CHECK_MSG(rc == 0, "cluster start: %d: %s", rc, err);
    if (rc)
        return nnb_test_finish();
    started = 1;
    char conf[256];
    snprintf(conf, sizeof conf, "%s/slurm.conf", dir);
    setenv("SLURM_CONF", conf, 1);
    four_shards_and_their_merge();
    a_shard_that_never_ran_is_named();
    a_failed_shard_cancels_the_afterok_merge();
    return nnb_test_finish();
}
