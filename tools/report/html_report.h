/*
 * nnbench report: a static, self-contained HTML site (opens offline from file://, no network) from
 * result files or from a results store (docs/report.md).
 *   nnbench report --out DIR FILE...        run, --ab, sweep and serve results, one page each
 *   nnbench report --out DIR --compare OLD NEW   NEW / OLD ratios with intervals (repeatable)
 *   nnbench report --store S --out DIR      an index of series and a page per series
 * Change points on store pages come from the finder of report_changes.h.
 * argc/argv exclude the word "report"; returns a code of cmdline/exit_codes.h.
 */
#ifndef NNB_HTML_REPORT_H
#define NNB_HTML_REPORT_H

int nnb_report_main(int argc, char **argv);

#endif
