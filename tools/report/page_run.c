/* A plain run (nnbench --json-out) and an --ab run: the table, each runner's samples per phase (a strip
 * plot per group and phase), GFLOP/s against the measured peak, and for --ab the per-round ratios. */
#include "report_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const phases[] = {"forward", "backward"};

static void context_table(FILE *f, const cJSON *ctx, const char *src) {
    static const char *const keys[] = {"date",   "git_sha",  "host",    "cpu_model",
                                       "device", "gpu_name", "threads", "fma_peak_gflops"};
    fputs("<table><tr><th class=\"l\">file</th><td class=\"l\">", f);
    nnb_html_text(f, src);
    fputs("</td></tr>\n", f);
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(ctx, keys[i]);
        if (!v || cJSON_IsNull(v))
            continue;
        fputs("<tr><th class=\"l\">", f);
        nnb_html_text(f, keys[i]);
        fputs("</th><td class=\"l\">", f);
        if (cJSON_IsString(v))
            nnb_html_text(f, v->valuestring);
        else if (cJSON_IsNumber(v))
            fprintf(f, "%g", v->valuedouble);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* --check's worst tensor (the closest to its tolerance): "dx 0.0024 <= 0.031 (max_rel)", "-" when unchecked.
 * Files before "error"/"metric" give the judged error by "norm". */
static void check_cell(FILE *f, const cJSON *check) {
    const cJSON *t, *worst = NULL;
    double worst_share = -1, worst_err = NAN;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(check, "tensors")) {
        const char *norm = nnb_json_str(t, "norm");
        double e = nnb_json_num(t, "error");
        if (isnan(e))
            e = nnb_json_num(t, norm && !strcmp(norm, "l2") ? "l2_rel_err" : "max_rel_err");
        double share = isnan(e) ? INFINITY : e / nnb_json_num(t, "tolerance");
        if (!worst || share > worst_share)
            worst = t, worst_share = share, worst_err = e;
    }
    if (!worst) {
        fputs("-", f);
        return;
    }
    const char *norm = nnb_json_str(worst, "norm");
    nnb_html_text(f, nnb_json_str(worst, "name"));
    fprintf(f, " %.2g %s %.2g (%s)", worst_err, worst_share <= 1 ? "&le;" : "&gt;", nnb_json_num(worst, "tolerance"),
            norm && !strcmp(norm, "l2") ? "l2_rel" : "max_rel");
}

/* What ran, from the runner's describe() (runner_info): the library's implementation ("impl"), the GEMM path
 * ("gemm": amx, avx512_bf16, portable), and a convolution's choice per direction (oneDNN's "fwd"/"bwd_data"/
 * "bwd_weights" implementations, cuDNN's "algorithms"); "-" when the runner says none of these. */
static void what_ran_cell(FILE *f, const cJSON *info) {
    static const char *const dirs[] = {"fwd", "bwd_data", "bwd_weights", "bwd_d", "bwd_w"};
    char text[256] = "";
    size_t used = 0;
    const char *impl = nnb_json_str(info, "impl"), *gemm = nnb_json_str(info, "gemm");
    if (impl)
        used += (size_t)snprintf(text + used, sizeof text - used, "%s", impl);
    if (gemm && used < sizeof text)
        used += (size_t)snprintf(text + used, sizeof text - used, "%sgemm %.40s%s", used ? "; " : "", gemm,
                                 strlen(gemm) > 40 ? "..." : "");
    const cJSON *algos = cJSON_GetObjectItemCaseSensitive(info, "algorithms");
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs && used < sizeof text; i++) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(algos ? algos : info, dirs[i]);
        const char *name = nnb_json_str(d, algos ? "algo" : "impl");
        if (name)
            used += (size_t)snprintf(text + used, sizeof text - used, "%s%s %s", used ? "; " : "", dirs[i], name);
    }
    nnb_html_text(f, used ? text : "-");
}

/* % of peak of one phase: the runner's own peak (the run's precision, --measure-peak; the AMX peak when the
 * runner ran on AMX tiles) when the file has it, else the fp32 FMA peak of the context (files before
 * per-precision peaks). */
static double percent_of_peak(const cJSON *r, int phase, double gflops, double fma_peak) {
    const cJSON *own = cJSON_GetObjectItemCaseSensitive(r, "peak");
    const cJSON *amx = cJSON_GetObjectItemCaseSensitive(own, "amx");
    const char *key = phase ? "percent_backward" : "percent_forward";
    double share = nnb_json_num(amx ? amx : own, key);
    if (isfinite(share))
        return share;
    return isfinite(fma_peak) && fma_peak > 0 ? 100.0 * gflops / fma_peak : NAN;
}

static void runner_row(FILE *f, const cJSON *r, double peak) {
    fputs("<tr><td class=\"l\">", f);
    nnb_html_text(f, nnb_json_str(r, "group"));
    fputs("</td><td class=\"l\">", f);
    nnb_html_text(f, nnb_json_str(r, "name"));
    fputs("</td><td class=\"l\">", f);
    nnb_html_text(f, nnb_json_str(r, "status"));
    fputs("</td><td class=\"l\">", f);
    const char *dtype = nnb_json_str(r, "precision"); /* files before --dtype: fp32 */
    nnb_html_text(f, dtype ? dtype : "fp32");
    fputs("</td><td class=\"l\">", f);
    check_cell(f, cJSON_GetObjectItemCaseSensitive(r, "check"));
    fputs("</td><td class=\"l\">", f);
    what_ran_cell(f, cJSON_GetObjectItemCaseSensitive(r, "runner_info"));
    fputs("</td>", f);
    for (int p = 0; p < 2; p++) {
        const cJSON *ph = cJSON_GetObjectItemCaseSensitive(r, phases[p]);
        const cJSON *ci = cJSON_GetObjectItemCaseSensitive(ph, "median_ci_ms");
        double gf = nnb_json_num(cJSON_GetObjectItemCaseSensitive(r, "gflops"), phases[p]);
        fputs("<td>", f);
        nnb_html_num(f, nnb_json_num(ph, "median_ms"), 4);
        fputs("</td><td>", f);
        if (cJSON_IsNumber(cJSON_GetArrayItem(ci, 0)) && cJSON_IsNumber(cJSON_GetArrayItem(ci, 1)))
            fprintf(f, "[%.4f, %.4f]", cJSON_GetArrayItem(ci, 0)->valuedouble, cJSON_GetArrayItem(ci, 1)->valuedouble);
        else
            fputs("-", f);
        fputs("</td><td>", f);
        nnb_html_num(f, gf, 2);
        fputs("</td><td>", f);
        nnb_html_num(f, percent_of_peak(r, p, gf, peak), 1);
        fputs("</td>", f);
    }
    fputs("</tr>\n", f);
}

/* Strip plot: x = the runner's position plus a fixed jitter, y = each sample. */
static void strip_chart(nnb_page *pg, const char *group, const cJSON *runners, int phase) {
    cJSON *cfg = nnb_chart_config("scatter", "runner", "ms per iteration"), *ticks = cJSON_CreateArray();
    int index = 0, any = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, runners) {
        const cJSON *ph = cJSON_GetObjectItemCaseSensitive(r, phases[phase]);
        const cJSON *samples = cJSON_GetObjectItemCaseSensitive(ph, "samples_ms");
        const char *name = nnb_json_str(r, "name");
        cJSON_AddItemToArray(ticks, cJSON_CreateString(name ? name : "?"));
        cJSON *ds = nnb_chart_dataset(cfg, name), *data = cJSON_GetObjectItem(ds, "data");
        cJSON_AddNumberToObject(ds, "pointRadius", 2);
        int n, i = 0;
        double *v = nnb_json_numbers(samples, &n);
        for (; i < n; i++)
            cJSON_AddItemToArray(data, nnb_xy(index + 0.6 * ((i * 0.618034) - floor(i * 0.618034) - 0.5), v[i]));
        any |= n > 0;
        free(v);
        index++;
    }
    cJSON *x = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "options"), "scales"), "x");
    cJSON_AddNumberToObject(x, "min", -0.5);
    cJSON_AddNumberToObject(x, "max", index - 0.5);
    cJSON *nnb = cJSON_AddObjectToObject(cfg, "nnb");
    cJSON_AddItemToObject(nnb, "ticks", ticks);
    if (!any) {
        cJSON_Delete(cfg);
        return;
    }
    char title[256];
    snprintf(title, sizeof title, "%s, %s: every sample", group, phases[phase]);
    nnb_page_chart(pg, title, cfg);
}

/* GFLOP/s per runner and phase; the measured peak as a line. */
static void gflops_chart(nnb_page *pg, const cJSON *groups, double peak) {
    cJSON *cfg = nnb_chart_config("bar", NULL, "GFLOP/s"), *labels = cJSON_CreateArray();
    cJSON *ds[2] = {nnb_chart_dataset(cfg, "forward"), nnb_chart_dataset(cfg, "backward")};
    int any = 0;
    const cJSON *g, *r;
    cJSON_ArrayForEach(g, groups) {
        cJSON_ArrayForEach(r, g) {
            const cJSON *gf = cJSON_GetObjectItemCaseSensitive(r, "gflops");
            const char *name = nnb_json_str(r, "name");
            cJSON_AddItemToArray(labels, cJSON_CreateString(name ? name : "?"));
            for (int p = 0; p < 2; p++) {
                double v = nnb_json_num(gf, phases[p]);
                any |= isfinite(v);
                cJSON_AddItemToArray(cJSON_GetObjectItem(ds[p], "data"),
                                     isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull());
            }
        }
    }
    cJSON_AddItemToObject(cJSON_GetObjectItem(cfg, "data"), "labels", labels);
    if (!any) {
        cJSON_Delete(cfg);
        return;
    }
    if (isfinite(peak)) {
        cJSON *h = cJSON_AddArrayToObject(cJSON_AddObjectToObject(cfg, "nnb"), "hlines");
        cJSON_AddItemToArray(h, cJSON_CreateNumber(peak));
    }
    char title[160];
    snprintf(title, sizeof title,
             isfinite(peak) ? "GFLOP/s (the measured FMA peak, %.1f GFLOP/s: dashed where in range)" : "GFLOP/s", peak);
    nnb_page_chart(pg, title, cfg);
}

static void ab_section(nnb_page *pg, const cJSON *ab) {
    FILE *f = pg->f;
    static const char *const ab_phases[] = {"forward", "backward", "total"};
    fputs("<h2>A/B: ", f);
    nnb_html_text(f, nnb_json_str(ab, "b"));
    fputs(" / ", f);
    nnb_html_text(f, nnb_json_str(ab, "a"));
    fputs("</h2>\n<p>verdict (", f);
    nnb_html_text(f, nnb_json_str(ab, "phase"));
    const char *verdict = nnb_json_str(ab, "verdict");
    fprintf(f, "): <b class=\"%s\">",
            verdict && !strcmp(verdict, "slower")   ? "slower"
            : verdict && !strcmp(verdict, "faster") ? "faster"
                                                    : "");
    nnb_html_text(f, nnb_json_str(ab, "verdict"));
    fprintf(f, "</b>; %g rounds, interval: ", nnb_json_num(ab, "rounds"));
    nnb_html_text(f, nnb_json_str(ab, "interval"));
    fprintf(f, ", noise threshold &plusmn;%g%%, stopped: ", 100 * nnb_json_num(ab, "noise_threshold"));
    nnb_html_text(f, nnb_json_str(ab, "stop_reason"));
    fputs("</p>\n<table><tr><th class=\"l\">phase</th><th>A median ms</th><th>B median ms</th><th>B/A</th>"
          "<th>95% interval</th><th class=\"l\">verdict</th></tr>\n",
          f);
    const cJSON *ph = cJSON_GetObjectItemCaseSensitive(ab, "phases");
    for (int p = 0; p < 3; p++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(ph, ab_phases[p]);
        if (!cJSON_IsObject(x))
            continue;
        fprintf(f, "<tr><td class=\"l\">%s</td><td>", ab_phases[p]);
        nnb_html_num(f, nnb_json_num(x, "a_median_ms"), 4);
        fputs("</td><td>", f);
        nnb_html_num(f, nnb_json_num(x, "b_median_ms"), 4);
        fputs("</td><td>", f);
        nnb_html_num(f, nnb_json_num(x, "ratio"), 4);
        fputs("</td><td>[", f);
        nnb_html_num(f, nnb_json_num(x, "ci_low"), 4);
        fputs(", ", f);
        nnb_html_num(f, nnb_json_num(x, "ci_high"), 4);
        fputs("]</td><td class=\"l\">", f);
        nnb_html_text(f, nnb_json_str(x, "verdict"));
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
    /* Per-round ratios of each phase; the followed phase's estimate and interval as dashed lines. */
    const char *followed = nnb_json_str(ab, "phase");
    const cJSON *fx = cJSON_GetObjectItemCaseSensitive(ph, followed ? followed : "total");
    cJSON *cfg = nnb_chart_config("scatter", "round", "B / A");
    for (int p = 0; p < 3; p++) {
        cJSON *ds = nnb_chart_dataset(cfg, ab_phases[p]), *data = cJSON_GetObjectItem(ds, "data");
        cJSON_AddNumberToObject(ds, "pointRadius", 2);
        int round = 0;
        const cJSON *s;
        cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(ab, "samples")) {
            double v = nnb_json_num(cJSON_GetObjectItemCaseSensitive(s, ab_phases[p]), "ratio");
            if (isfinite(v))
                cJSON_AddItemToArray(data, nnb_xy(round, v));
            round++;
        }
    }
    cJSON *h = cJSON_AddArrayToObject(cJSON_AddObjectToObject(cfg, "nnb"), "hlines");
    const char *keys[] = {"ratio", "ci_low", "ci_high"};
    for (int k = 0; k < 3; k++)
        if (isfinite(nnb_json_num(fx, keys[k])))
            cJSON_AddItemToArray(h, cJSON_CreateNumber(nnb_json_num(fx, keys[k])));
    nnb_page_chart(pg, "per-round ratios B / A (dashed: the followed phase's estimate and 95% interval)", cfg);
}

int nnb_page_run(const cJSON *root, nnb_report_kind kind, const char *src, const char *path, char *err,
                 size_t err_len) {
    nnb_page pg;
    char title[512];
    snprintf(title, sizeof title, "%s: %s", kind == NNB_PAGE_AB ? "A/B run" : "run", src);
    if (nnb_page_begin(&pg, path, title, 1, err, err_len))
        return -1;
    FILE *f = pg.f;
    const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(root, "context");
    const cJSON *groups = cJSON_GetObjectItemCaseSensitive(root, "groups");
    double peak = nnb_json_num(ctx, "fma_peak_gflops");
    context_table(f, ctx, src);
    if (kind == NNB_PAGE_AB)
        ab_section(&pg, cJSON_GetObjectItemCaseSensitive(root, "ab"));
    fputs("<h2>runners</h2>\n<table><tr><th class=\"l\">group</th><th class=\"l\">runner</th>"
          "<th class=\"l\">status</th><th class=\"l\">dtype</th><th class=\"l\">check: worst error</th>"
          "<th class=\"l\">what ran</th>"
          "<th>fwd median ms</th><th>fwd 95% CI</th><th>fwd GFLOP/s</th>"
          "<th>fwd % peak</th><th>bwd median ms</th><th>bwd 95% CI</th><th>bwd GFLOP/s</th>"
          "<th>bwd % peak</th></tr>\n",
          f);
    const cJSON *g, *r;
    cJSON_ArrayForEach(g, groups) { cJSON_ArrayForEach(r, g) runner_row(f, r, peak); }
    fputs("</table>\n", f);
    cJSON_ArrayForEach(g, groups) {
        for (int p = 0; p < 2; p++)
            strip_chart(&pg, g->string, g, p);
    }
    gflops_chart(&pg, groups, peak);
    return nnb_page_end(&pg, path, err, err_len);
}
