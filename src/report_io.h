/* report_io.h: results files.  CSV matrices and JSON documents (Jansson).
 *
 * Every file is written to "<path>.partial" and renamed into place only
 * after a successful close, so a reader never sees a half-written file
 * under its final name.  Readers report the file, line and column of the
 * first bad cell. */
#ifndef NZK_REPORT_IO_H
#define NZK_REPORT_IO_H

#include <stdio.h>
#include <gsl/gsl_matrix.h>
#include <jansson.h>

/* An output file being written; finish with nzk_out_commit (rename into
 * place) or nzk_out_abort (delete). */
typedef struct {
  FILE *fp;
  char path[4096];
  char tmp[4096];
} nzk_outfile;

int nzk_out_open(nzk_outfile *o, const char *path);
int nzk_out_commit(nzk_outfile *o);
void nzk_out_abort(nzk_outfile *o);

/* Create a directory and its parents (mode 0755); 0 if it exists. */
int nzk_mkdir_p(const char *dir);
/* Join dir and name into buf; GSL_EINVAL if it does not fit. */
int nzk_path_join(char *buf, size_t len, const char *dir, const char *name);

/* Write M as CSV with an optional header line (column names, comma
 * separated, no newline); values with 17 significant digits. */
int nzk_csv_write_matrix(const char *path, const char *header, const gsl_matrix *M);

/* Read a numeric CSV matrix of decimal numbers.  A first line whose cells
 * are all names (none empty, none starting like a number) is a header and
 * is skipped; any other bad cell, in any row, is an error.  Every row must have the same number
 * of cells; empty lines at the end are ignored.  *M is allocated.
 * GSL_EFAILED with "file:line:column: reason" on any bad cell. */
int nzk_csv_read_matrix(const char *path, gsl_matrix **M);

/* Split a CSV matrix M (n x cols) into targets y = column target_col and
 * features X = the columns from feature_from on, target column excluded, in
 * order.  *X (n x d) and *y (n) are allocated.  GSL_EBADLEN (with a reason
 * naming `name`) when target_col is out of range or no feature is left. */
int nzk_csv_split_xy(const gsl_matrix *M, size_t target_col, size_t feature_from,
                     const char *name, gsl_matrix **X, gsl_vector **y);
/* Number of feature columns nzk_csv_split_xy would give. */
size_t nzk_csv_feature_count(size_t cols, size_t target_col, size_t feature_from);

/* Write a JSON document (pretty-printed, keys in insertion order). */
int nzk_json_write(const char *path, const json_t *doc);
/* A JSON array of the matrix rows. */
json_t *nzk_json_matrix(const gsl_matrix *M);
/* A JSON number, or null when v is not finite (JSON has no NaN). */
json_t *nzk_json_real(double v);

#endif
