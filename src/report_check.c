/* report_check.c: consistency check of a finished `nzk reproduce` output
 * folder (report.h, nzk_results_check_dir).  It re-reads what was written,
 * so it catches a file removed or truncated after the run as well as a
 * writer bug: the document validates, every figure it names is a real
 * image, every table has its CSV, the page shows exactly the figures
 * of the document, each of which exists, and fig/ and tables/ hold nothing
 * the document does not name (no figure or table left by another run).
 * Also the clean-up a run does first (nzk_results_clear_dir). */
#include "report.h"
#include "report_io.h"
#include "nzk_error.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int file_nonempty(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

static char *slurp(const char *path)
{
  FILE *fp = fopen(path, "rb");
  if (!fp) return NULL;
  fseek(fp, 0, SEEK_END);
  long len = ftell(fp);
  rewind(fp);
  char *buf = len >= 0 ? malloc((size_t)len + 1) : NULL;
  if (buf && fread(buf, 1, (size_t)len, fp) != (size_t)len) {
    free(buf);
    buf = NULL;
  }
  if (buf) buf[len] = '\0';
  fclose(fp);
  return buf;
}

/* Every figure and table CSV named by the document exists and is sound;
 * *n_figures receives the number of figures. */
static int check_outputs(const json_t *doc, const char *dir, size_t *n_figures)
{
  char path[4096];
  size_t k, j;
  json_t *e, *x;
  *n_figures = 0;
  json_array_foreach(json_object_get(doc, "experiments"), k, e) {
    const char *eid = json_string_value(json_object_get(e, "id"));
    json_array_foreach(json_object_get(e, "figures"), j, x) {
      const char *file = json_string_value(json_object_get(x, "file"));
      if (nzk_path_join(path, sizeof path, dir, file)) return GSL_EFAILED;
      if (!nzk_plot_file_ok(path))
        return NZK_FAIL(GSL_EFAILED, "%s: figure missing, empty or not PNG/SVG", path);
      (*n_figures)++;
    }
    json_array_foreach(json_object_get(e, "tables"), j, x) {
      char name[512];
      snprintf(name, sizeof name, "tables/%s_%s.csv", eid,
               json_string_value(json_object_get(x, "id")));
      if (nzk_path_join(path, sizeof path, dir, name)) return GSL_EFAILED;
      if (!file_nonempty(path)) return NZK_FAIL(GSL_EFAILED, "%s: table CSV missing", path);
    }
  }
  return 0;
}

/* Every <img src="..."> of the page exists as a good figure; the count
 * must equal the document's. */
static int check_page_images(const char *dir, const char *html, size_t n_figures)
{
  char path[4096], src[1024];
  size_t count = 0;
  for (const char *s = strstr(html, "<img src=\""); s; s = strstr(s + 1, "<img src=\"")) {
    const char *a = s + strlen("<img src=\""), *b = strchr(a, '"');
    if (!b || (size_t)(b - a) >= sizeof src)
      return NZK_FAIL(GSL_EFAILED, "index.html: malformed <img> tag");
    memcpy(src, a, (size_t)(b - a));
    src[b - a] = '\0';
    if (nzk_path_join(path, sizeof path, dir, src)) return GSL_EFAILED;
    if (!nzk_plot_file_ok(path))
      return NZK_FAIL(GSL_EFAILED, "index.html shows %s, which is missing or not an image", src);
    count++;
  }
  if (count != n_figures)
    return NZK_FAIL(GSL_EFAILED, "index.html shows %zu figures, results.json lists %zu", count,
                    n_figures);
  return 0;
}

static int ends_with(const char *s, const char *suffix)
{
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* 1 if fig/<name> is a figure of the document or one of its data files,
 * named <figure without .png/.svg>.<anything> (DESIGN: report.h). */
static int figure_file_named(const json_t *doc, const char *name)
{
  size_t k, j;
  json_t *e, *x;
  json_array_foreach(json_object_get(doc, "experiments"), k, e)
    json_array_foreach(json_object_get(e, "figures"), j, x) {
      const char *file = json_string_value(json_object_get(x, "file"));
      if (!file || strncmp(file, "fig/", 4) != 0) continue;
      file += 4;
      const char *dot = strrchr(file, '.');
      size_t stem = dot ? (size_t)(dot - file) : strlen(file);
      if (!strcmp(name, file) || (!strncmp(name, file, stem) && name[stem] == '.')) return 1;
    }
  return 0;
}

/* 1 if tables/<name> is <experiment>_<table>.csv of the document. */
static int table_file_named(const json_t *doc, const char *name)
{
  size_t k, j;
  json_t *e, *x;
  char want[512];
  json_array_foreach(json_object_get(doc, "experiments"), k, e)
    json_array_foreach(json_object_get(e, "tables"), j, x) {
      snprintf(want, sizeof want, "%s_%s.csv", json_string_value(json_object_get(e, "id")),
               json_string_value(json_object_get(x, "id")));
      if (!strcmp(name, want)) return 1;
    }
  return 0;
}

/* Every entry of <dir>/<sub> must be named by the document. */
static int check_no_strays(const json_t *doc, const char *dir, const char *sub, int figures)
{
  char path[4096];
  if (nzk_path_join(path, sizeof path, dir, sub)) return GSL_EFAILED;
  DIR *d = opendir(path);
  if (!d) return 0; /* no figures or tables at all: check_outputs judged that */
  struct dirent *de;
  int status = 0;
  while (!status && (de = readdir(d)) != NULL) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    int named = figures ? figure_file_named(doc, de->d_name) : table_file_named(doc, de->d_name);
    if (!named)
      status = NZK_FAIL(GSL_EFAILED, "%s/%s is not named by results.json (left by another "
                        "run?)", path, de->d_name);
  }
  closedir(d);
  return status;
}

/* Remove the regular files of <dir>/<sub> whose names end with one of
 * `suffixes` (NULL-terminated). */
static int clear_files(const char *dir, const char *sub, const char *const *suffixes)
{
  char path[4096], file[4096];
  if (nzk_path_join(path, sizeof path, dir, sub)) return GSL_EFAILED;
  DIR *d = opendir(path);
  if (!d) return 0;
  struct dirent *de;
  int status = 0;
  while (!status && (de = readdir(d)) != NULL) {
    int ours = 0;
    for (const char *const *s = suffixes; *s && !ours; s++) ours = ends_with(de->d_name, *s);
    struct stat st;
    if (!ours || nzk_path_join(file, sizeof file, path, de->d_name) || lstat(file, &st) != 0 ||
        !S_ISREG(st.st_mode))
      continue;
    if (remove(file) != 0) status = NZK_FAIL(GSL_EFAILED, "%s: cannot remove", file);
  }
  closedir(d);
  return status;
}

int nzk_results_clear_dir(const char *dir)
{
  static const char *const top[] = {"results.json", "index.html", "tables.md",
                                    "results.json.partial", "index.html.partial",
                                    "tables.md.partial", NULL};
  static const char *const figs[] = {".png", ".svg", ".png.log", ".dat", ".est", ".formula",
                                     ".z", ".partial", NULL};
  static const char *const tabs[] = {".csv", ".csv.partial", NULL};
  char path[4096];
  for (const char *const *f = top; *f; f++) {
    if (nzk_path_join(path, sizeof path, dir, *f)) return GSL_EFAILED;
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && remove(path) != 0)
      return NZK_FAIL(GSL_EFAILED, "%s: cannot remove the previous run's file", path);
  }
  int status = clear_files(dir, "fig", figs);
  if (!status) status = clear_files(dir, "tables", tabs);
  return status;
}

int nzk_results_check_dir(const char *dir)
{
  char path[4096];
  json_error_t jerr;
  if (nzk_path_join(path, sizeof path, dir, "results.json")) return GSL_EFAILED;
  json_t *doc = json_load_file(path, 0, &jerr);
  if (!doc)
    return jerr.line > 0 ? NZK_FAIL(GSL_EFAILED, "%s:%d: %s", path, jerr.line, jerr.text)
                         : NZK_FAIL(GSL_EFAILED, "%s: %s", path, jerr.text);
  size_t n_figures = 0;
  int status = nzk_results_validate(doc);
  if (!status) status = check_outputs(doc, dir, &n_figures);
  if (!status) status = check_no_strays(doc, dir, "fig", 1);
  if (!status) status = check_no_strays(doc, dir, "tables", 0);
  json_decref(doc);
  if (status) return status;

  if (nzk_path_join(path, sizeof path, dir, "tables.md")) return GSL_EFAILED;
  if (!file_nonempty(path)) return NZK_FAIL(GSL_EFAILED, "%s missing or empty", path);
  if (nzk_path_join(path, sizeof path, dir, "index.html")) return GSL_EFAILED;
  char *html = slurp(path);
  if (!html) return NZK_FAIL(GSL_EFAILED, "%s missing or unreadable", path);
  status = check_page_images(dir, html, n_figures);
  free(html);
  return status;
}
