/* A comparison (nnbench report --compare OLD NEW): nnbench-compare has no machine-readable output, so the
 * page is made from its core (nnb_compare_core, tools/compare/compare.h) with its defaults: the same rows,
 * ratios NEW / OLD, bootstrap intervals and verdicts as `nnbench compare OLD NEW` prints. */
#include "report_internal.h"

#include "compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void row_label(const nnb_cmp_row *r, char *out, size_t cap) {
    snprintf(out, cap, "%s%s%s/%s %s", r->point ? r->point : "", r->point ? " " : "", r->group, r->runner,
             r->metric       ? r->metric
             : r->phase >= 0 ? nnb_cmp_phase_name(r->phase)
                             : "");
}

/* Floating bars from 1 to each ratio, the interval as error bars, 1 and the noise band dashed. */
static void ratio_chart(nnb_page *pg, const nnb_cmp_report *rep) {
    cJSON *cfg = nnb_chart_config("bar", NULL, "NEW / OLD"), *labels = cJSON_CreateArray();
    cJSON *ds = nnb_chart_dataset(cfg, "ratio (95% interval)"), *data = cJSON_GetObjectItem(ds, "data");
    cJSON *iv = cJSON_AddArrayToObject(ds, "nnbIntervals"), *colours = cJSON_AddArrayToObject(ds, "backgroundColor");
    int n = 0;
    for (int i = 0; i < rep->row_count; i++) {
        const nnb_cmp_row *r = &rep->rows[i];
        if (r->kind != NNB_CMP_COMPARED || !isfinite(r->ratio))
            continue;
        char label[512];
        row_label(r, label, sizeof label);
        cJSON_AddItemToArray(labels, cJSON_CreateString(label));
        double bar[2] = {1.0, r->ratio}, ci[2] = {r->lo, r->hi};
        cJSON_AddItemToArray(data, cJSON_CreateDoubleArray(bar, 2));
        cJSON_AddItemToArray(iv, r->has_ci ? cJSON_CreateDoubleArray(ci, 2) : cJSON_CreateNull());
        int worse = r->verdict && !strcmp(r->verdict, "slower"), better = r->verdict && !strcmp(r->verdict, "faster");
        cJSON_AddItemToArray(colours, cJSON_CreateString(worse ? "#d62728aa" : better ? "#2ca02caa" : "#7f7f7faa"));
        n++;
    }
    cJSON_AddItemToObject(cJSON_GetObjectItem(cfg, "data"), "labels", labels);
    if (n == 0) {
        cJSON_Delete(cfg);
        return;
    }
    cJSON *h = cJSON_AddArrayToObject(cJSON_AddObjectToObject(cfg, "nnb"), "hlines");
    double t = rep->options.noise_threshold;
    cJSON_AddItemToArray(h, cJSON_CreateNumber(1.0));
    cJSON_AddItemToArray(h, cJSON_CreateNumber(1.0 - t));
    cJSON_AddItemToArray(h, cJSON_CreateNumber(1.0 + t));
    char title[200];
    snprintf(title, sizeof title,
             "NEW / OLD per row (red: slower, green: faster, grey: same or undecided; dashed: 1 "
             "and the noise band +-%g%%)",
             100 * t);
    nnb_page_chart(pg, title, cfg);
}

static void rows_table(FILE *f, const nnb_cmp_report *rep) {
    fputs("<table><tr><th class=\"l\">row</th><th>OLD</th><th>NEW</th><th>NEW / OLD</th><th>95% interval</th>"
          "<th class=\"l\">verdict</th></tr>\n",
          f);
    for (int i = 0; i < rep->row_count; i++) {
        const nnb_cmp_row *r = &rep->rows[i];
        char label[512];
        row_label(r, label, sizeof label);
        fprintf(f, "<tr%s><td class=\"l\">", r->regressed ? " class=\"regressed\"" : "");
        nnb_html_text(f, label);
        fputs("</td><td>", f);
        nnb_html_num(f, r->old_ms, 4);
        fputs("</td><td>", f);
        nnb_html_num(f, r->new_ms, 4);
        fputs("</td><td>", f);
        nnb_html_num(f, r->ratio, 4);
        fputs("</td><td>", f);
        if (r->has_ci)
            fprintf(f, "[%.4f, %.4f]", r->lo, r->hi);
        else
            fputs("-", f);
        fputs("</td><td class=\"l\">", f);
        nnb_html_text(f, r->kind == NNB_CMP_COMPARED ? r->verdict : r->note);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void header(FILE *f, const nnb_cmp_report *rep, const nnb_cmp_file *o, const nnb_cmp_file *n) {
    fputs("<p>OLD: ", f);
    nnb_html_text(f, o->path);
    fprintf(f, " (%s)<br>NEW: ", nnb_cmp_kind_name(o->kind));
    nnb_html_text(f, n->path);
    fprintf(f, " (%s)</p>\n<p>", nnb_cmp_kind_name(n->kind));
    nnb_html_text(f, rep->config_note);
    fputs("</p>\n", f);
    for (int i = 0; i < rep->warning_count; i++) {
        fputs("<p class=\"slower\">warning: ", f);
        nnb_html_text(f, rep->warnings[i]);
        fputs("</p>\n", f);
    }
    static const char *const names[] = {"forward", "backward", "overall"};
    fputs("<p>geometric mean of the ratios:", f);
    int any = 0;
    for (int p = 0; p <= NNB_CMP_PHASES; p++) {
        if (rep->geomean[p].count > 0)
            any = fprintf(f, " %s %.4f (%d rows);", names[p], rep->geomean[p].value, rep->geomean[p].count);
    }
    if (!any)
        fputs(" none (no phase compared)", f);
    fputs("</p>\n", f);
}

int nnb_page_compare(const char *old_path, const char *new_path, const char *path, char *err, size_t err_len) {
    nnb_cmp_file o, n;
    memset(&o, 0, sizeof o), memset(&n, 0, sizeof n);
    nnb_cmp_report rep;
    memset(&rep, 0, sizeof rep);
    nnb_cmp_options opt = nnb_cmp_default_options();
    if (nnb_cmp_load(old_path, &o, err, err_len) || nnb_cmp_load(new_path, &n, err, err_len) ||
        nnb_cmp_compare(&o, &n, &opt, &rep, err, err_len)) {
        nnb_cmp_file_free(&o), nnb_cmp_file_free(&n);
        return -1;
    }
    nnb_page pg;
    char title[512];
    snprintf(title, sizeof title, "compare: %s vs %s", new_path, old_path);
    int rc = nnb_page_begin(&pg, path, title, 1, err, err_len);
    if (rc == 0) {
        header(pg.f, &rep, &o, &n);
        ratio_chart(&pg, &rep);
        rows_table(pg.f, &rep);
        rc = nnb_page_end(&pg, path, err, err_len);
    }
    nnb_cmp_report_free(&rep);
    nnb_cmp_file_free(&o), nnb_cmp_file_free(&n);
    return rc;
}
