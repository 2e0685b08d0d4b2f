/* `nnbench history export` read back: every file it lists becomes the file it was (its sha256, path,
 * format, commit, date, label and provenance) with the runs that name it, so adding an export to another
 * store and exporting that gives the same text. */
#include "ingest_internal.h"

#include <stdlib.h>
#include <string.h>

static int samples_of(const cJSON *array, double **out, int *n) {
    *n = 0;
    *out = malloc(sizeof **out * (size_t)(cJSON_GetArraySize(array) + 1));
    if (!*out)
        return -1;
    for (const cJSON *e = cJSON_IsArray(array) ? array->child : NULL; e; e = e->next) {
        if (!cJSON_IsNumber(e))
            return -1;
        (*out)[(*n)++] = e->valuedouble;
    }
    return 0;
}

static int add_series_runs(ingest_builder *b, const cJSON *series, const char *sha) {
    const char *runner = ib_string(series, "runner"), *phase = ib_string(series, "phase");
    const char *unit = ib_string(series, "unit");
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(series, "runs");
    const cJSON *machine = cJSON_GetObjectItemCaseSensitive(series, "machine");
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(series, "config");
    if (!runner || !phase || !unit || !cJSON_IsArray(runs) || !cJSON_IsObject(machine) || !cJSON_IsObject(config))
        return ib_fail(b, "a series without runner, phase, unit, machine, config or runs (damaged export?)");
    int higher = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(series, "higher_is_better"));
    const char *machine_key = NULL, *config_key = NULL;
    for (const cJSON *run = runs->child; run; run = run->next) {
        const char *file = ib_string(run, "file");
        if (!file || strcmp(file, sha))
            continue;
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(run, "value");
        double *samples = NULL;
        int n = 0;
        if (!cJSON_IsNumber(value) || samples_of(cJSON_GetObjectItemCaseSensitive(run, "samples"), &samples, &n)) {
            free(samples);
            return ib_fail(b, "series %s/%s: a run without a numeric value and samples (damaged export?)", runner,
                           phase);
        }
        if (!machine_key) {
            machine_key = ib_canonical(b, machine);
            config_key = ib_canonical(b, config);
        }
        int rc = !machine_key || !config_key ? ib_fail(b, "out of memory")
                                             : ib_add_run(b, machine_key, runner, phase, config_key, unit, higher,
                                                          value->valuedouble, samples, n);
        free(samples);
        if (rc)
            return -1;
    }
    return 0;
}

int ingest_export(ingest_builder *b, const cJSON *root) {
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(root, "files");
    const cJSON *series = cJSON_GetObjectItemCaseSensitive(root, "series");
    if (!cJSON_IsArray(files) || !cJSON_IsArray(series))
        return ib_fail(b, "a history export without \"files\" and \"series\" arrays (damaged or cut short?)");
    if (b->opt->commit || b->opt->date || b->opt->label)
        ib_note(b,
                "%s: a history export keeps each file's own commit, date and label (--commit, --date and "
                "--label are not applied to it)",
                b->path);
    for (const cJSON *f = files->child; f; f = f->next) {
        const char *sha = ib_string(f, "sha256"), *format = ib_string(f, "format"), *date = ib_string(f, "date");
        if (!sha || !format || !date)
            return ib_fail(b, "a file without sha256, format or date (damaged export?)");
        for (const cJSON *s = series->child; s; s = s->next)
            if (add_series_runs(b, s, sha))
                return -1;
        if (b->run_count == 0)
            continue;
        const cJSON *provenance = cJSON_GetObjectItemCaseSensitive(f, "provenance");
        const char *prov = cJSON_IsObject(provenance) ? ib_canonical(b, provenance) : NULL;
        const char *saved_path = b->path; /* the file keeps the path it was added as */
        b->path = ib_string(f, "path") ? ib_string(f, "path") : saved_path;
        int rc = ib_finish_file(b, sha, format, ib_string(f, "commit"), date, ib_string(f, "label"), prov);
        b->path = saved_path;
        if (rc)
            return -1;
    }
    if (b->file_count == 0)
        return ib_fail(b, "the export holds no runs: nothing to add");
    return 0;
}
