/* report_plot.c: figures.  Writes data files gnuplot reads directly and
 * runs gnuplot on a template of reports/ (report.h).
 *
 * gnuplot is started with fork and execv, never through a shell, so no
 * file name is ever interpreted by one.  Variables reach the template as
 * gnuplot strings set with -e before the script; a template converts
 * numbers with real().  A figure counts as drawn only when gnuplot exits
 * with status 0 and left a non-empty PNG: gnuplot reports many mistakes
 * (a missing column, a bad expression) as warnings and still exits 0, so
 * the file check is not optional. */
#include "report.h"
#include "report_io.h"
#include "nzk_error.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef NZK_GNUPLOT
#define NZK_GNUPLOT "gnuplot"
#endif

static int is_dir(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* <prefix>/share/nzk/reports next to the running program's <prefix>/bin,
 * so a copy installed with `cmake --install --prefix P` finds its own
 * templates even when P differs from the configured prefix. */
static int exe_relative_reports(char *dir, size_t len)
{
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return 0;
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (!slash) return 0;
  *slash = '\0'; /* the bin folder */
  int k = snprintf(dir, len, "%s/../share/nzk/reports", exe);
  return k > 0 && (size_t)k < len && is_dir(dir);
}

const char *nzk_plot_template_dir(void)
{
  static char dir[4096];
  const char *env = getenv("NZK_REPORTS_DIR");
  if (env && *env) return env;
  if (exe_relative_reports(dir, sizeof dir)) return dir;
#ifdef NZK_DATA_DIR
  snprintf(dir, sizeof dir, "%s/reports", NZK_DATA_DIR);
  if (is_dir(dir)) return dir;
#endif
#ifdef NZK_SOURCE_DIR
  snprintf(dir, sizeof dir, "%s/reports", NZK_SOURCE_DIR);
  if (is_dir(dir)) return dir;
#endif
  return "reports";
}

int nzk_plot_write_columns(const char *path, const char *const *names, const gsl_matrix *M)
{
  nzk_outfile o;
  int status = nzk_out_open(&o, path);
  if (status) return status;
  for (size_t j = 0; j < M->size2; j++) fprintf(o.fp, j ? " \"%s\"" : "\"%s\"", names[j]);
  fputc('\n', o.fp);
  for (size_t i = 0; i < M->size1; i++) {
    for (size_t j = 0; j < M->size2; j++) {
      double v = gsl_matrix_get(M, i, j);
      if (j) fputc(' ', o.fp);
      if (isfinite(v)) fprintf(o.fp, "%.17g", v);
      else fputs("NaN", o.fp);
    }
    fputc('\n', o.fp);
  }
  return nzk_out_commit(&o);
}

int nzk_plot_write_matrix(const char *path, const gsl_matrix *M)
{
  nzk_outfile o;
  int status = nzk_out_open(&o, path);
  if (status) return status;
  for (size_t i = 0; i < M->size1; i++) {
    for (size_t j = 0; j < M->size2; j++)
      fprintf(o.fp, j ? " %.10g" : "%.10g", gsl_matrix_get(M, i, j));
    fputc('\n', o.fp);
  }
  return nzk_out_commit(&o);
}

int nzk_plot_file_ok(const char *path)
{
  static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  static const unsigned char iend[8] = {'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
  unsigned char head[8] = {0}, tail[8] = {0};
  FILE *fp = fopen(path, "rb");
  if (!fp) return 0;
  size_t got = fread(head, 1, sizeof head, fp);
  /* A PNG is complete only if it ends with its IEND chunk: a truncated
   * file still has a header, and browsers still report its size. */
  int tail_ok = fseek(fp, -8, SEEK_END) == 0 && fread(tail, 1, sizeof tail, fp) == sizeof tail;
  fclose(fp);
  if (got == sizeof head && memcmp(head, png, sizeof png) == 0)
    return tail_ok && memcmp(tail, iend, sizeof iend) == 0;
  return got >= 5 && (memcmp(head, "<?xml", 5) == 0 || memcmp(head, "<svg", 4) == 0);
}

/* "name='value';name='value';...outfile='...'" for gnuplot -e. */
static int build_assignments(char *buf, size_t len, const char *const *vars, const char *out)
{
  size_t used = 0;
  buf[0] = '\0';
  for (const char *const *v = vars; v && v[0]; v += 2) {
    if (!v[1]) return NZK_FAIL(GSL_EINVAL, "plot: variable %s has no value", v[0]);
    if (strpbrk(v[1], "'\n") || strpbrk(v[0], "'\n =;"))
      return NZK_FAIL(GSL_EINVAL, "plot: variable %s holds a quote, newline or space", v[0]);
    int k = snprintf(buf + used, len - used, "%s='%s';", v[0], v[1]);
    if (k < 0 || (size_t)k >= len - used) return NZK_FAIL(GSL_EINVAL, "plot: too many variables");
    used += (size_t)k;
  }
  if (strpbrk(out, "'\n")) return NZK_FAIL(GSL_EINVAL, "plot: output path holds a quote: %s", out);
  const char *tdir = nzk_plot_template_dir();
  if (strpbrk(tdir, "'\n")) return NZK_FAIL(GSL_EINVAL, "plot: template folder holds a quote");
  int k = snprintf(buf + used, len - used, "tmpldir='%s';outfile='%s'", tdir, out);
  if (k < 0 || (size_t)k >= len - used) return NZK_FAIL(GSL_EINVAL, "plot: too many variables");
  return 0;
}

/* The first line of the log that looks like an error, for the message. */
static void first_error_line(const char *log, char *buf, size_t len)
{
  snprintf(buf, len, "(no message)");
  FILE *fp = fopen(log, "r");
  if (!fp) return;
  char line[512];
  while (fgets(line, sizeof line, fp)) {
    line[strcspn(line, "\n")] = '\0';
    if (*line && strspn(line, " ^") != strlen(line)) {
      snprintf(buf, len, "%s", line);
      if (strstr(line, "rror") || strstr(line, "arning")) break;
    }
  }
  fclose(fp);
}

/* gnuplot draws empty axes and exits 0 when a data file has no usable
 * points; such a figure shows nothing and must not count as drawn. */
static int log_says_no_data(const char *log)
{
  FILE *fp = fopen(log, "r");
  if (!fp) return 0;
  char line[512];
  int bad = 0;
  while (!bad && fgets(line, sizeof line, fp))
    bad = strstr(line, "no valid points") || strstr(line, "No data in plot") ||
          strstr(line, "all points") != NULL;
  fclose(fp);
  return bad;
}

/* fork + execv gnuplot with output to `log`; returns its exit status or -1. */
static int run_gnuplot(const char *assign, const char *script, const char *log)
{
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    char *argv[] = {(char *)NZK_GNUPLOT, (char *)"-e", (char *)assign, (char *)script, NULL};
    execv(NZK_GNUPLOT, argv);
    _exit(127);
  }
  int wstatus;
  while (waitpid(pid, &wstatus, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
}

int nzk_plot_run(const char *tmpl, const char *out_png, const char *const *vars)
{
  char script[4096], log[4096], assign[8192], msg[512];
  if (snprintf(script, sizeof script, "%s/%s.gp", nzk_plot_template_dir(), tmpl) >=
          (int)sizeof script ||
      snprintf(log, sizeof log, "%s.log", out_png) >= (int)sizeof log)
    return NZK_FAIL(GSL_EINVAL, "plot: path too long for template %s", tmpl);
  if (access(script, R_OK) != 0)
    return NZK_FAIL(GSL_EFAILED,
                    "plot: template %s not readable (set NZK_REPORTS_DIR to the folder of the "
                    ".gp templates)", script);
  int status = build_assignments(assign, sizeof assign, vars, out_png);
  if (status) return status;

  remove(out_png);
  int code = run_gnuplot(assign, script, log);
  if (code != 0) {
    first_error_line(log, msg, sizeof msg);
    remove(out_png);
    return NZK_FAIL(GSL_EFAILED, "gnuplot %s exited with status %d: %s", script, code, msg);
  }
  if (log_says_no_data(log)) {
    remove(out_png);
    return NZK_FAIL(GSL_EFAILED, "gnuplot %s found no data to draw for %s", script, out_png);
  }
  if (!nzk_plot_file_ok(out_png)) {
    first_error_line(log, msg, sizeof msg);
    remove(out_png);
    return NZK_FAIL(GSL_EFAILED, "gnuplot %s wrote no PNG at %s: %s", script, out_png, msg);
  }
  return 0;
}
