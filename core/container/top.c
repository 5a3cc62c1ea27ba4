/* top: the container's processes as ps prints them, as dockerd's (it runs
 * ps on the host with the client's arguments, -ef by default, and keeps
 * the rows whose PID is in the container's cgroup) */
#include <ctype.h>

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

json_t *ctr_top(struct container *c, const char *ps_args, struct berth_err *err) {
  ctr_lock();
  bool running = ctr_is_running(c);
  ctr_unlock();
  if (!running) {
    berth_err_set(err, BERTH_ECONFLICT, 0, "Container %s is not running", c->id);
    return NULL;
  }
  cleanup_free char *cmd = xasprintf("ps %s", ps_args && *ps_args ? ps_args : "-ef");
  for (const char *x = cmd; *x; x++)
    if (!isalnum((unsigned char)*x) && !strchr(" -,=_", *x)) {
      berth_err_set(err, BERTH_EINVAL, 0, "invalid ps arguments: %s", ps_args);
      return NULL;
    }
  size_t n;
  cleanup_free pid_t *pids = cgroup_ops()->pids(c->id, &n);
  FILE *f = popen(cmd, "r");
  json_t *titles = json_array(), *procs = json_array();
  char line[4096];
  int ncols = 0, pid_col = f && fgets(line, sizeof line, f) ? titles_of(line, titles, &ncols) : -1;
  while (pid_col >= 0 && fgets(line, sizeof line, f)) {
    json_t *row = row_of(line, ncols);
    pid_t pid = (pid_t)atoi(json_string_value(json_array_get(row, (size_t)pid_col)) ?: "0");
    if (listed(pids, n, pid) && !exec_is_helper(c, pid)) json_array_append(procs, row);
    json_decref(row);
  }
  if (f) pclose(f);
  if (pid_col < 0) {
    json_decref(titles);
    json_decref(procs);
    berth_err_set(err, BERTH_EINTERNAL, 0, "Couldn't find PID field in ps output");
    return NULL;
  }
  ctr_event(c, "top", NULL);
  return json_pack("{s:o,s:o}", "Titles", titles, "Processes", procs);
}
