/* harness_run.c: `nzk_bench run`, runs every benchmark driver at one size
 * and gathers their records into one JSON document (schema in harness.h).
 *
 * Which drivers run, and with which arguments at each size, comes from
 * bench/suite.txt, one line per driver and size:
 *     bench_kernel  smallest  --n 20 --p 40 --draws 500
 *     bench_kernel  full
 * (blank arguments = the driver's defaults).  A driver built but missing
 * from the suite runs with its defaults at the full size and is skipped,
 * with a note, at the smallest size (its cost is unknown); a driver listed
 * but not built is reported as "not built".  Each driver runs as a child
 * process: its peak resident memory and CPU times come from wait4, its
 * stdout and stderr go to logs/<driver>.txt beside the JSON and its
 * records to logs/<driver>.jsonl. */
#define _DEFAULT_SOURCE /* wait4, realpath */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/* From OpenBLAS (we cannot include its cblas.h, see nzk_blas.h). */
char *openblas_get_config(void);
char *openblas_get_corename(void);

#define MAX_ARGS 64
#define MAX_DRIVERS 64

typedef struct {
  char name[256];
  char *argv[MAX_ARGS + 2]; /* argv[0] = name, NULL-terminated, owned */
  int listed;               /* 1 if suite.txt names it for this size */
} suite_entry;

typedef struct {
  const char *size, *out, *bench_dir, *suite;
  int timeout_s;
  char logdir[4096];
} run_opts;

/* --- the suite file ------------------------------------------------------ */

static suite_entry *suite_find(suite_entry *e, int n, const char *name)
{
  for (int k = 0; k < n; k++)
    if (strcmp(e[k].name, name) == 0) return &e[k];
  return NULL;
}

/* Parse one non-comment line; adds an entry when it is for `size`. */
static int suite_line(char *line, const char *path, int lineno, const char *size,
                      suite_entry *e, int *n)
{
  char *save = NULL, *tok[MAX_ARGS + 2];
  int nt = 0;
  for (char *t = strtok_r(line, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
    if (nt == MAX_ARGS + 2) {
      fprintf(stderr, "nzk_bench: %s:%d: more than %d arguments\n", path, lineno, MAX_ARGS);
      return -1;
    }
    tok[nt++] = t;
  }
  if (nt == 0) return 0;
  if (nt < 2 || (strcmp(tok[1], "smallest") != 0 && strcmp(tok[1], "full") != 0)) {
    fprintf(stderr, "nzk_bench: %s:%d: expected '<driver> smallest|full [args]'\n", path, lineno);
    return -1;
  }
  if (strcmp(tok[1], size) != 0) return 0;
  if (*n == MAX_DRIVERS || suite_find(e, *n, tok[0])) {
    fprintf(stderr, "nzk_bench: %s:%d: too many or duplicate drivers\n", path, lineno);
    return -1;
  }
  suite_entry *s = &e[(*n)++];
  snprintf(s->name, sizeof s->name, "%s", tok[0]);
  s->argv[0] = strdup(tok[0]);
  for (int k = 2; k < nt; k++) s->argv[k - 1] = strdup(tok[k]);
  s->argv[nt - 1] = NULL;
  s->listed = 1;
  return 0;
}

static int suite_load(const char *path, const char *size, suite_entry *e, int *n)
{
  char *text = harness_slurp(path);
  if (!text) {
    fprintf(stderr, "nzk_bench: cannot read the suite file %s: %s\n", path, strerror(errno));
    return -1;
  }
  int lineno = 0, status = 0;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line && !status;
       line = strtok_r(NULL, "\n", &save)) {
    lineno++;
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    status = suite_line(line, path, lineno, size, e, n);
  }
  free(text);
  return status;
}

/* Add the built drivers (bench_* executables in dir) the suite does not
 * list, marked unlisted. */
static void suite_add_unlisted(const char *dir, suite_entry *e, int *n)
{
  DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d)) && *n < MAX_DRIVERS) {
    char path[4400];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    if (strncmp(de->d_name, "bench_", 6) != 0 || strchr(de->d_name, '.') ||
        stat(path, &st) != 0 || !S_ISREG(st.st_mode) || access(path, X_OK) != 0 ||
        suite_find(e, *n, de->d_name))
      continue;
    suite_entry *s = &e[(*n)++];
    snprintf(s->name, sizeof s->name, "%s", de->d_name);
    s->argv[0] = strdup(de->d_name);
    s->argv[1] = NULL;
    s->listed = 0;
  }
  if (d) closedir(d);
}

/* --- running one driver -------------------------------------------------- */

/* Child side: output to the log, records to `records`, then exec. */
static void child_exec(const char *exe, char *const *argv, const char *log, const char *records,
                       int timeout_s)
{
  int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(126);
  close(fd);
  setenv("NZK_BENCH_JSON", records, 1);
  alarm((unsigned)timeout_s); /* SIGALRM survives exec and ends a runaway */
  execv(exe, argv);
  fprintf(stderr, "nzk_bench: cannot execute %s: %s\n", exe, strerror(errno));
  _exit(127);
}

/* Records appended by the driver, one JSON object per line. */
static json_t *read_records(const char *path, json_t *errors)
{
  json_t *recs = json_array();
  char *text = harness_slurp(path);
  int lineno = 0;
  char *save = NULL;
  for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line;
       line = strtok_r(NULL, "\n", &save)) {
    json_t *r = json_loads(line, 0, NULL);
    lineno++;
    if (json_is_object(r) && json_is_string(json_object_get(r, "figure"))) {
      json_array_append_new(recs, r);
      continue;
    }
    json_decref(r);
    json_array_append_new(errors, json_sprintf("%s:%d: not a record", path, lineno));
  }
  free(text);
  return recs;
}

static const char *exit_status(int wstatus, char *buf, size_t len)
{
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) return "ok";
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == BENCH_EXIT_SKIP) return "skipped";
  if (WIFEXITED(wstatus)) snprintf(buf, len, "failed (exit %d)", WEXITSTATUS(wstatus));
  else if (WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGALRM) snprintf(buf, len, "timed out");
  else snprintf(buf, len, "killed by signal %d", WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0);
  return buf;
}

/* The last non-empty line of a log (a driver's reason for failing or
 * skipping), at most 200 characters. */
static json_t *last_line(const char *path)
{
  char *text = harness_slurp(path), *end, *start;
  if (!text) return json_string("");
  end = text + strlen(text);
  while (end > text && (end[-1] == '\n' || end[-1] == '\r')) *--end = '\0';
  start = strrchr(text, '\n');
  start = start ? start + 1 : text;
  json_t *s = json_stringn(start, strnlen(start, 200));
  free(text);
  return json_is_string(s) ? s : json_string("");
}

/* Fill `d` with the outcome of running the driver as a child process. */
static void run_child(const run_opts *o, const suite_entry *s, const char *exe, json_t *d)
{
  char log[4400], records[4400], buf[64];
  snprintf(log, sizeof log, "%s/%s.txt", o->logdir, s->name);
  snprintf(records, sizeof records, "%s/%s.jsonl", o->logdir, s->name);
  remove(records);

  fflush(NULL);
  double t0 = bench_now_s();
  pid_t pid = fork();
  if (pid == 0) child_exec(exe, s->argv, log, records, o->timeout_s);
  int wstatus = 0;
  struct rusage ru = {0};
  if (pid < 0 || wait4(pid, &wstatus, 0, &ru) < 0) wstatus = 127 << 8;
  double wall = bench_now_s() - t0;

  json_t *errors = json_array();
  json_t *recs = read_records(records, errors);
  const char *st = exit_status(wstatus, buf, sizeof buf);
  if (strcmp(st, "ok") == 0 && json_array_size(recs) == 0) st = "no records";
  json_object_set_new(d, "status", json_string(st));
  json_object_set_new(d, "exit_code",
                      json_integer(WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1));
  json_object_set_new(d, "wall_s", json_real(wall));
  json_object_set_new(d, "user_s", json_real(ru.ru_utime.tv_sec + 1e-6 * ru.ru_utime.tv_usec));
  json_object_set_new(d, "sys_s", json_real(ru.ru_stime.tv_sec + 1e-6 * ru.ru_stime.tv_usec));
  json_object_set_new(d, "peak_rss_bytes", json_real(1024.0 * (double)ru.ru_maxrss));
  json_object_set_new(d, "log", json_sprintf("logs/%s.txt", s->name));
  json_object_set_new(d, "records", recs);
  json_object_set_new(d, "errors", errors);
  if (strcmp(st, "ok") != 0) json_object_set_new(d, "note", last_line(log));
}

/* Run (or skip, with the reason) one driver; returns its JSON entry. */
static json_t *run_driver(const run_opts *o, const suite_entry *s, int *failed)
{
  char exe[4400];
  snprintf(exe, sizeof exe, "%s/%s", o->bench_dir, s->name);
  json_t *d = json_object(), *args = json_array();
  json_object_set_new(d, "driver", json_string(s->name));
  for (int k = 1; s->argv[k]; k++) json_array_append_new(args, json_string(s->argv[k]));
  json_object_set_new(d, "args", args);

  if (access(exe, X_OK) != 0) {
    json_object_set_new(d, "status", json_string("not built"));
    json_object_set_new(d, "records", json_array());
    return d;
  }
  if (!s->listed && strcmp(o->size, "smallest") == 0) {
    json_object_set_new(d, "status", json_string("skipped: not in suite.txt"));
    json_object_set_new(d, "records", json_array());
    return d;
  }
  fprintf(stderr, "nzk_bench: running %s (%s)\n", s->name, o->size);
  run_child(o, s, exe, d);
  const char *st = harness_str(d, "status");
  if (strcmp(st, "ok") != 0 && strcmp(st, "skipped") != 0) *failed = 1;
  return d;
}

/* --- machine facts ------------------------------------------------------- */

/* First line of a command's output, or "" (never fails). */
static void command_line(const char *cmd, char *buf, size_t len)
{
  buf[0] = '\0';
  FILE *fp = popen(cmd, "r");
  if (!fp) return;
  if (!fgets(buf, (int)len, fp)) buf[0] = '\0';
  pclose(fp);
  buf[strcspn(buf, "\r\n")] = '\0';
}

/* Value of the first "key<spaces>: value" line of a /proc file. */
static void proc_field(const char *path, const char *key, char *buf, size_t len)
{
  char line[512];
  FILE *fp = fopen(path, "r");
  buf[0] = '\0';
  while (fp && fgets(line, sizeof line, fp)) {
    char *colon = strchr(line, ':');
    if (strncmp(line, key, strlen(key)) != 0 || !colon) continue;
    colon += 1 + strspn(colon + 1, " \t");
    snprintf(buf, len, "%s", colon);
    buf[strcspn(buf, "\r\n")] = '\0';
    break;
  }
  if (fp) fclose(fp);
}

static json_t *machine_facts(void)
{
  char buf[512], cmd[4400];
  struct utsname u;
  json_t *m = json_object();
  proc_field("/proc/cpuinfo", "model name", buf, sizeof buf);
  json_object_set_new(m, "cpu_model", json_string(buf));
  json_object_set_new(m, "cores_online", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
  proc_field("/proc/meminfo", "MemTotal", buf, sizeof buf);
  json_object_set_new(m, "mem_total_bytes", json_real(1024.0 * strtod(buf, NULL)));
  if (uname(&u) == 0) json_object_set_new(m, "os", json_sprintf("%s %s %s", u.sysname,
                                                                u.release, u.machine));
  json_object_set_new(m, "openblas_config", json_string(openblas_get_config()));
  json_object_set_new(m, "openblas_core", json_string(openblas_get_corename()));
  json_object_set_new(m, "openblas_threads", json_integer(openblas_get_num_threads()));
  json_object_set_new(m, "compiler", json_string(NZK_COMPILER));
  json_object_set_new(m, "build_type", json_string(NZK_BUILD_TYPE));
  snprintf(cmd, sizeof cmd, "git -C '%s' rev-parse HEAD 2>/dev/null", NZK_SOURCE_DIR);
  command_line(cmd, buf, sizeof buf);
  json_object_set_new(m, "git_commit", json_string(buf));
  snprintf(cmd, sizeof cmd, "git -C '%s' status --porcelain --untracked-files=no 2>/dev/null",
           NZK_SOURCE_DIR);
  command_line(cmd, buf, sizeof buf);
  json_object_set_new(m, "git_dirty", json_boolean(buf[0] != '\0'));
  return m;
}

static json_t *stat_json(bench_stat s)
{
  return json_pack("{s:f,s:f,s:f,s:i}", "median", s.median, "min", s.min, "max", s.max,
                   "repeats", s.repeats);
}

/* --- the subcommand ------------------------------------------------------ */

static void run_usage(FILE *out)
{
  fprintf(out,
          "usage: nzk_bench run --out FILE [--size smallest|full] [--bench-dir DIR]\n"
          "                     [--suite FILE] [--timeout SECONDS]\n"
          "Runs every benchmark driver of the suite at one size and writes one JSON\n"
          "(records, machine facts, DGEMM reference) to FILE; logs go to logs/ beside\n"
          "it.  Defaults: --size full, --bench-dir the harness's own folder,\n"
          "--suite %s/bench/suite.txt, --timeout 1800 per driver.\n", NZK_SOURCE_DIR);
}

/* The folder holding this executable (where the drivers are built). */
static void self_dir(char *buf, size_t len)
{
  ssize_t got = readlink("/proc/self/exe", buf, len - 1);
  buf[got > 0 ? got : 0] = '\0';
  char *slash = strrchr(buf, '/');
  if (slash) *slash = '\0';
  else snprintf(buf, len, ".");
}

static int run_parse(int argc, char **argv, run_opts *o)
{
  static const struct option longopts[] = {
      {"size", 1, 0, 'z'},  {"out", 1, 0, 'o'},     {"bench-dir", 1, 0, 'b'},
      {"suite", 1, 0, 's'}, {"timeout", 1, 0, 't'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'z': o->size = optarg; break;
    case 'o': o->out = optarg; break;
    case 'b': o->bench_dir = optarg; break;
    case 's': o->suite = optarg; break;
    case 't': o->timeout_s = atoi(optarg); break;
    case 'h': run_usage(stdout); return 1;
    default: run_usage(stderr); return 2;
    }
  }
  const char *bad = !o->out ? "--out is required"
                    : (strcmp(o->size, "smallest") && strcmp(o->size, "full"))
                        ? "--size must be smallest or full"
                    : o->timeout_s <= 0 ? "--timeout must be a positive number of seconds"
                    : optind < argc     ? "unexpected argument"
                                        : NULL;
  if (bad) fprintf(stderr, "nzk_bench run: error: %s\n", bad);
  return bad ? 2 : 0;
}

/* The document's header, machine facts and opening DGEMM reference. */
static json_t *run_header(const run_opts *o, size_t dgemm_n, int reps, bench_stat *d0)
{
  char now[32];
  harness_utc_now(now, sizeof now);
  json_t *doc = json_object();
  json_object_set_new(doc, "schema", json_string(HARNESS_SCHEMA));
  json_object_set_new(doc, "size", json_string(o->size));
  json_object_set_new(doc, "started_utc", json_string(now));
  json_object_set_new(doc, "machine", machine_facts());
  *d0 = bench_dgemm_stat(dgemm_n, reps);
  return doc;
}

int harness_run_main(int argc, char **argv)
{
  char bench_dir[4096], suite[4400];
  self_dir(bench_dir, sizeof bench_dir);
  snprintf(suite, sizeof suite, "%s/bench/suite.txt", NZK_SOURCE_DIR);
  run_opts o = {"full", NULL, bench_dir, suite, 1800, ""};
  int status = run_parse(argc, argv, &o);
  if (status) return status == 1 ? 0 : status;

  /* Logs beside the output file. */
  const char *slash = strrchr(o.out, '/');
  snprintf(o.logdir, sizeof o.logdir, "%.*s%slogs", slash ? (int)(slash - o.out) : 0, o.out,
           slash ? "/" : "");
  static suite_entry e[MAX_DRIVERS];
  int n = 0, failed = 0;
  if (harness_mkdir_p(o.logdir) != 0) {
    fprintf(stderr, "nzk_bench run: error: cannot create %s: %s\n", o.logdir, strerror(errno));
    return 1;
  }
  if (suite_load(o.suite, o.size, e, &n) != 0) return 2;
  suite_add_unlisted(o.bench_dir, e, &n);

  const int small = strcmp(o.size, "smallest") == 0, reps = small ? 3 : 7;
  const size_t dgemm_n = small ? 128 : 512;
  double t0 = bench_now_s();
  bench_stat d0, d1;
  json_t *doc = run_header(&o, dgemm_n, reps, &d0), *drivers = json_array();
  for (int k = 0; k < n; k++) json_array_append_new(drivers, run_driver(&o, &e[k], &failed));
  d1 = bench_dgemm_stat(dgemm_n, reps);

  char now[32];
  harness_utc_now(now, sizeof now);
  json_object_set_new(doc, "finished_utc", json_string(now));
  json_object_set_new(doc, "wall_s", json_real(bench_now_s() - t0));
  json_object_set_new(doc, "dgemm", json_pack("{s:i,s:s,s:o,s:o}", "n", (int)dgemm_n, "unit",
                                              "GFLOP/s", "start", stat_json(d0), "end",
                                              stat_json(d1)));
  json_object_set_new(doc, "drivers", drivers);
  status = harness_json_save(o.out, doc);
  json_decref(doc);
  for (int k = 0; k < n; k++)
    for (int a = 0; e[k].argv[a]; a++) free(e[k].argv[a]);
  return status || failed ? 1 : 0;
}
