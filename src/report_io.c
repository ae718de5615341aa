/* report_io.c: atomic CSV and JSON output, strict CSV input (see
 * report_io.h). */
#include "report_io.h"
#include "nzk_error.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

int nzk_path_join(char *buf, size_t len, const char *dir, const char *name)
{
  int k = snprintf(buf, len, "%s/%s", dir, name);
  if (k < 0 || (size_t)k >= len)
    return NZK_FAIL(GSL_EINVAL, "path too long: %s/%s", dir, name);
  return 0;
}

int nzk_mkdir_p(const char *dir)
{
  char buf[4096];
  if (strlen(dir) >= sizeof buf) return NZK_FAIL(GSL_EINVAL, "path too long: %s", dir);
  strcpy(buf, dir);
  for (char *s = buf + 1; ; s++) {
    if (*s == '/' || *s == '\0') {
      char c = *s;
      *s = '\0';
      errno = 0;
      if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
        int e = errno;
        return NZK_FAIL(GSL_EFAILED, "cannot create directory %s: %s", buf, strerror(e));
      }
      *s = c;
      if (c == '\0') break;
    }
  }
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return NZK_FAIL(GSL_EFAILED, "%s exists and is not a directory", dir);
  return 0;
}

int nzk_out_open(nzk_outfile *o, const char *path)
{
  if (snprintf(o->path, sizeof o->path, "%s", path) >= (int)sizeof o->path ||
      snprintf(o->tmp, sizeof o->tmp, "%s.partial", path) >= (int)sizeof o->tmp)
    return NZK_FAIL(GSL_EINVAL, "path too long: %s", path);
  errno = 0;
  o->fp = fopen(o->tmp, "w");
  if (!o->fp) {
    int e = errno;
    return NZK_FAIL(GSL_EFAILED, "cannot write %s: %s", o->tmp, strerror(e));
  }
  return 0;
}

int nzk_out_commit(nzk_outfile *o)
{
  int bad = ferror(o->fp);
  errno = 0;
  bad |= fclose(o->fp) != 0;
  o->fp = NULL;
  if (bad) {
    int e = errno;
    remove(o->tmp);
    return NZK_FAIL(GSL_EFAILED, "error writing %s: %s", o->path, e ? strerror(e) : "I/O error");
  }
  if (rename(o->tmp, o->path) != 0) {
    int e = errno;
    remove(o->tmp);
    return NZK_FAIL(GSL_EFAILED, "cannot rename %s into place: %s", o->tmp, strerror(e));
  }
  return 0;
}

void nzk_out_abort(nzk_outfile *o)
{
  if (o->fp) fclose(o->fp);
  o->fp = NULL;
  remove(o->tmp);
}

int nzk_csv_write_matrix(const char *path, const char *header, const gsl_matrix *M)
{
  nzk_outfile o;
  int status = nzk_out_open(&o, path);
  if (status) return status;
  if (header) fprintf(o.fp, "%s\n", header);
  for (size_t i = 0; i < M->size1; i++) {
    for (size_t j = 0; j < M->size2; j++)
      fprintf(o.fp, j ? ",%.17g" : "%.17g", gsl_matrix_get(M, i, j));
    fputc('\n', o.fp);
  }
  return nzk_out_commit(&o);
}

/* Parse the cells of one CSV line into vals (capacity cap); returns the
 * cell count, or -1 with *bad_col set to the 1-based column of a cell
 * that is not a finite number. */
static long parse_csv_line(char *line, double *vals, size_t cap, size_t *bad_col)
{
  size_t count = 0;
  char *s = line;
  for (;;) {
    char *end;
    while (*s == ' ' || *s == '\t') s++;
    errno = 0;
    double v = strtod(s, &end);
    char *after = end;
    while (*after == ' ' || *after == '\t' || *after == '\r') after++;
    int hex = 0; /* strtod reads C99 hex floats ("0x10"); a data file means decimal */
    for (const char *q = s; q < end; q++) hex |= *q == 'x' || *q == 'X';
    if (end == s || hex || (*after != ',' && *after != '\0' && *after != '\n') || !isfinite(v)) {
      *bad_col = count + 1;
      return -1;
    }
    if (count < cap) vals[count] = v;
    count++;
    if (*after != ',') break;
    s = after + 1;
  }
  return (long)count;
}

/* A header is a first line whose every cell is a name: it starts with a
 * letter, '_' or '"' and is not one of strtod's words for non-finite
 * values (nan, inf, infinity).  A first line with a numeric or empty cell
 * is data, and a bad cell in it is an error, never a silently dropped row. */
static int is_header_line(const char *line)
{
  const char *s = line;
  for (;;) {
    while (*s == ' ' || *s == '\t') s++;
    const char *cell = s;
    while (*s && *s != ',' && *s != '\n' && *s != '\r') s++;
    const char *end = s;
    while (end > cell && (end[-1] == ' ' || end[-1] == '\t')) end--;
    size_t len = (size_t)(end - cell);
    if (len == 0 || !(isalpha((unsigned char)*cell) || *cell == '_' || *cell == '"')) return 0;
    if ((len == 3 && (!strncasecmp(cell, "nan", 3) || !strncasecmp(cell, "inf", 3))) ||
        (len == 8 && !strncasecmp(cell, "infinity", 8)))
      return 0;
    if (*s != ',') return 1;
    s++;
  }
}

int nzk_csv_read_matrix(const char *path, gsl_matrix **M)
{
  *M = NULL;
  errno = 0;
  FILE *fp = fopen(path, "r");
  if (!fp) {
    int e = errno;
    return NZK_FAIL(GSL_EFAILED, "cannot read %s: %s", path, strerror(e));
  }

  char *line = NULL;
  size_t line_cap = 0, rows = 0, cols = 0, cap_vals = 0, lineno = 0, blank_run = 0;
  double *vals = NULL;
  int status = 0;
  ssize_t len;
  while ((len = getline(&line, &line_cap, fp)) != -1) {
    lineno++;
    char *t = line;
    while (isspace((unsigned char)*t)) t++;
    if (*t == '\0') {
      blank_run++;
      continue;
    }
    if (blank_run && rows) {
      status = NZK_FAIL(GSL_EFAILED, "%s:%zu: data after an empty line", path, lineno);
      break;
    }
    size_t need = cols ? cols : (size_t)len / 2 + 1;
    if ((rows + 1) * need > cap_vals) {
      size_t nc = 2 * (rows + 1) * need;
      double *nv = realloc(vals, nc * sizeof *nv);
      if (!nv) {
        status = NZK_FAIL(GSL_ENOMEM, "%s: out of memory", path);
        break;
      }
      vals = nv;
      cap_vals = nc;
    }
    size_t bad_col = 0;
    long k = parse_csv_line(line, vals + rows * need, need, &bad_col);
    if (k < 0 && rows == 0 && lineno == 1 && is_header_line(line)) continue;
    if (k < 0) {
      status = NZK_FAIL(GSL_EFAILED, "%s:%zu:%zu: cell is not a finite number", path, lineno,
                        bad_col);
      break;
    }
    if (cols == 0) cols = (size_t)k;
    if ((size_t)k != cols) {
      status = NZK_FAIL(GSL_EBADLEN, "%s:%zu: row has %ld cells, expected %zu", path, lineno, k,
                        cols);
      break;
    }
    rows++;
  }
  if (!status && ferror(fp)) status = NZK_FAIL(GSL_EFAILED, "%s: read error", path);
  if (!status && rows == 0) status = NZK_FAIL(GSL_EFAILED, "%s: no numeric rows", path);
  if (!status) {
    *M = gsl_matrix_alloc(rows, cols);
    if (!*M) status = NZK_FAIL(GSL_ENOMEM, "%s: out of memory", path);
    else
      for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) gsl_matrix_set(*M, i, j, vals[i * cols + j]);
  }
  free(line);
  free(vals);
  fclose(fp);
  return status;
}

int nzk_json_write(const char *path, const json_t *doc)
{
  nzk_outfile o;
  int status = nzk_out_open(&o, path);
  if (status) return status;
  if (json_dumpf(doc, o.fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) != 0) {
    nzk_out_abort(&o);
    return NZK_FAIL(GSL_EFAILED, "cannot serialise JSON to %s", path);
  }
  fputc('\n', o.fp);
  return nzk_out_commit(&o);
}

json_t *nzk_json_real(double v) { return isfinite(v) ? json_real(v) : json_null(); }

json_t *nzk_json_matrix(const gsl_matrix *M)
{
  json_t *rows = json_array();
  for (size_t i = 0; i < M->size1; i++) {
    json_t *row = json_array();
    for (size_t j = 0; j < M->size2; j++)
      json_array_append_new(row, nzk_json_real(gsl_matrix_get(M, i, j)));
    json_array_append_new(rows, row);
  }
  return rows;
}

size_t nzk_csv_feature_count(size_t cols, size_t target_col, size_t feature_from)
{
  size_t d = 0;
  for (size_t j = feature_from; j < cols; j++) d += j != target_col;
  return d;
}

int nzk_csv_split_xy(const gsl_matrix *M, size_t target_col, size_t feature_from,
                     const char *name, gsl_matrix **X, gsl_vector **y)
{
  const size_t n = M->size1, cols = M->size2;
  const size_t d = nzk_csv_feature_count(cols, target_col, feature_from);
  *X = NULL;
  *y = NULL;
  if (target_col >= cols || d == 0)
    return NZK_FAIL(GSL_EBADLEN, "%s has %zu columns: target column %zu and features from "
                    "column %zu leave no target or no feature", name, cols, target_col,
                    feature_from);
  *X = gsl_matrix_alloc(n, d);
  *y = gsl_vector_alloc(n);
  if (!*X || !*y) {
    gsl_matrix_free(*X);
    gsl_vector_free(*y);
    *X = NULL;
    *y = NULL;
    return NZK_FAIL(GSL_ENOMEM, "%s: out of memory for %zu x %zu features", name, n, d);
  }
  for (size_t i = 0; i < n; i++) {
    gsl_vector_set(*y, i, gsl_matrix_get(M, i, target_col));
    for (size_t j = feature_from, k = 0; j < cols; j++)
      if (j != target_col) gsl_matrix_set(*X, i, k++, gsl_matrix_get(M, i, j));
  }
  return 0;
}
