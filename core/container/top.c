/* top: the container's processes as ps prints them, as dockerd's (it runs
 * ps on the host with the client's arguments, -ef by default, and keeps
 * the rows whose PID is in the container's cgroup) */
#include <ctype.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "../runtime/cgroup.h"
#include "container.h"
#include "exec.h"

/* ps's header: its titles, and which column is PID (-1: none) */
static int titles_of(char *line, json_t *titles, int *ncols) {
  int pid_col = -1;
  char *save = NULL;
  *ncols = 0;
  for (char *t = strtok_r(line, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save)) {
    if (!strcmp(t, "PID")) pid_col = *ncols;
    json_array_append_new(titles, json_string(t));
    (*ncols)++;
  }
  return pid_col;
}

/* a row: ncols columns split at spaces, the last one the rest of the line
 * (a command with its arguments) */
static json_t *row_of(char *line, int ncols) {
  line[strcspn(line, "\n")] = 0;
  json_t *row = json_array();
  char *p = line;
  for (int col = 0; col < ncols; col++) {
    while (*p == ' ')
      p++;
    if (col == ncols - 1) {
      json_array_append_new(row, json_string(p));
      break;
    }
    char *sp = strchr(p, ' ');
    json_array_append_new(row, json_stringn(p, sp ? (size_t)(sp - p) : strlen(p)));
    p = sp ? sp : p + strlen(p);
  }
  return row;
}

static bool listed(const pid_t *pids, size_t n, pid_t pid) {
  for (size_t i = 0; i < n; i++)
    if (pids[i] == pid) return true;
  return false;
}

/* ps with the client's arguments split at spaces (dockerd's), its output
 * on a pipe (*out), its stderr into a memfd (*errfd); its pid, or -1 */
static pid_t start_ps(const char *ps_args, FILE **out, int *errfd) {
  cleanup_free char *copy = xstrdup(ps_args && *ps_args ? ps_args : "-ef");
  char *argv[64] = {"ps"};
  size_t n = 1;
  for (char *save = NULL, *t = strtok_r(copy, " ", &save); t && n < 63;
       t = strtok_r(NULL, " ", &save))
    argv[n++] = t;
  argv[n] = NULL;
  int fds[2];
  *errfd = memfd_create("ps-stderr", MFD_CLOEXEC);
  if (*errfd < 0 || pipe2(fds, O_CLOEXEC) < 0) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, *errfd, 2);
  pid_t pid;
  extern char **environ;
  int r = posix_spawnp(&pid, "ps", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  *out = r == 0 ? fdopen(fds[0], "r") : NULL;
  if (*out) return pid;
  int e = r ? r : errno; /* posix_spawn returns its error; fdopen sets errno */
  close(fds[0]);
  if (r == 0) /* a ps without a reader: its end reaped here */
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
  errno = e;
  return -1;
}

/* dockerd's "ps: …": the first line ps wrote on stderr, else how it ended */
static void ps_failed(int errfd, int status, struct berth_err *err) {
  char line[512] = "";
  ssize_t n = pread(errfd, line, sizeof line - 1, 0);
  line[n > 0 ? n : 0] = 0;
  line[strcspn(line, "\n")] = 0;
  if (*line)
    berth_err_set(err, BERTH_EINTERNAL, 0, "ps: %s", line);
  else if (WIFEXITED(status))
    berth_err_set(err, BERTH_EINTERNAL, 0, "ps: exit status %d", WEXITSTATUS(status));
  else
    berth_err_set(err, BERTH_EINTERNAL, 0, "ps: signal: %s", strsignal(WTERMSIG(status)));
}

json_t *ctr_top(struct container *c, const char *ps_args, struct berth_err *err) {
  ctr_lock();
  bool running = ctr_is_running(c);
  ctr_unlock();
  if (!running) {
    berth_err_set(err, BERTH_ECONFLICT, 0, "Container %s is not running", c->id);
    return NULL;
  }
  size_t n;
  cleanup_free pid_t *pids = cgroup_ops()->pids(c->id, &n);
  FILE *f = NULL;
  cleanup_close int errfd = -1;
  pid_t ps = start_ps(ps_args, &f, &errfd);
  if (ps < 0) {
    berth_err_set(err, BERTH_EINTERNAL, errno, "ps: %s", strerror(errno));
    return NULL;
  }
  json_t *titles = json_array(), *procs = json_array();
  char line[4096];
  int ncols = 0, pid_col = fgets(line, sizeof line, f) ? titles_of(line, titles, &ncols) : -1;
  while (pid_col >= 0 && fgets(line, sizeof line, f)) {
    json_t *row = row_of(line, ncols);
    pid_t pid = (pid_t)atoi(json_string_value(json_array_get(row, (size_t)pid_col)) ?: "0");
    if (listed(pids, n, pid) && !exec_is_helper(c, pid)) json_array_append(procs, row);
    json_decref(row);
  }
  while (fgets(line, sizeof line, f)) { /* the rest, so that ps is not stuck writing */
  }
  fclose(f);
  int status = 0;
  while (waitpid(ps, &status, 0) < 0 && errno == EINTR) {
  }
  bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!ok || pid_col < 0) {
    json_decref(titles);
    json_decref(procs);
    if (!ok)
      ps_failed(errfd, status, err);
    else
      berth_err_set(err, BERTH_EINTERNAL, 0, "Couldn't find PID field in ps output");
    return NULL;
  }
  ctr_event(c, "top", NULL);
  return json_pack("{s:o,s:o}", "Titles", titles, "Processes", procs);
}
