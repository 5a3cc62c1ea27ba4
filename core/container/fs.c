/* A container's filesystem as docker shows it: diff (the storage driver's
 * changes of its read-write layer, without what berth itself mounts or
 * makes there: /etc/hosts, /etc/hostname, /etc/resolv.conf, /.dockerenv,
 * /dev, /proc, /sys and the mount points). */
#include "../daemon.h"
#include "../driver.h"
#include "../runtime/runtime.h"
#include <fcntl.h>
#include <sys/stat.h>

#include "container.h"

/* what the runtime makes or mounts in every container (the files first);
 * /.dockerenv, docker's empty marker that scripts test for, only made */
static const char *const own[] = {
    "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/.dockerenv", "/dev", "/proc", "/sys"};
enum { OWN_FILES = 4 };

/* An image's init layer (store_init_layer): each of them, where the image
 * lacks it, so that no container's own layer copies up /etc and makes
 * them at each start.  Resolved in the root (an image's symlinks stay in
 * it); one that cannot be made here is made by the container's init, as
 * before. */
int ctr_fill_init_layer(int rootfd, void *arg, struct berth_err *err) {
  (void)arg;
  (void)err;
  for (size_t i = 0; i < ARRAY_SIZE(own); i++) {
    struct berth_err e = {0};
    bool had = faccessat(rootfd, own[i] + 1, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
    int fd = rt_target_in_root(rootfd, own[i], i >= OWN_FILES, &e);
    if (fd < 0) {
      log_debug("init layer: %s", e.msg);
      continue;
    }
    /* docker's init layer makes its files 0755 (/.dockerenv shows it) */
    char p[40];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    if (!had && i < OWN_FILES && chmod(p, 0755) < 0) log_debug("init layer: chmod %s: %m", own[i]);
    close(fd);
  }
  return 0;
}

static bool berths_own(const char *path, json_t *mounts) {
  for (size_t i = 0; i < ARRAY_SIZE(own); i++) {
    size_t n = strlen(own[i]);
    if (!strncmp(path, own[i], n) && (!path[n] || path[n] == '/')) return true;
  }
  size_t i;
  json_t *m;
  json_array_foreach(mounts, i, m) {
    const char *dst = json_string_value(json_object_get(m, "Destination")) ?: "";
    size_t n = strlen(dst);
    if (n && !strncmp(path, dst, n) && (!path[n] || path[n] == '/')) return true;
  }
  return false;
}

static int by_path(const void *a, const void *b) {
  return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "Path")),
                json_string_value(json_object_get(*(json_t *const *)b, "Path")));
}

/* a "C dir" row only there because berth made something in it */
static bool only_for_own(const char *dir, const char *kind, char **rows, size_t n, json_t *mounts) {
  if (strcmp(kind, "C")) return false;
  size_t dl = strlen(dir);
  bool own_child = false;
  for (size_t i = 0; i < n; i++) {
    const char *p = rows[i] + 2;
    if (strncmp(p, dir, dl) || p[dl] != '/') continue;
    if (!berths_own(p, mounts)) return false; /* a change of the user's below it */
    own_child = true;
  }
  return own_child;
}

json_t *ctr_changes(struct daemon *d, struct container *c, struct berth_err *err) {
  struct berth_buf b = {sizeof b, NULL, 0, 0};
  if (drv_storage_changes(d->storage, c->rw_id, c->parent_sid, &b, err) < 0) {
    free(b.data);
    return NULL;
  }
  size_t n = 0;
  char **rows = xcalloc(b.len / 3 + 2, sizeof *rows);
  for (char *save = NULL, *l = b.len ? strtok_r(b.data, "\n", &save) : NULL; l;
       l = strtok_r(NULL, "\n", &save))
    if (strlen(l) > 2 && l[1] == '\t') rows[n++] = l;
  ctr_lock();
  json_t *mounts = json_deep_copy(c->mounts);
  ctr_unlock();
  json_t *out = json_array();
  for (size_t i = 0; i < n; i++) {
    const char *path = rows[i] + 2, kind[2] = {rows[i][0], 0};
    if (berths_own(path, mounts) || only_for_own(path, kind, rows, n, mounts)) continue;
    int k = kind[0] == 'A' ? 1 : kind[0] == 'D' ? 2 : 0; /* docker's ChangeType */
    json_array_append_new(out, json_pack("{s:s,s:i}", "Path", path, "Kind", k));
  }
  json_decref(mounts);
  free(rows);
  free(b.data);
  json_t **v = xcalloc(json_array_size(out) + 1, sizeof *v);
  for (size_t i = 0; i < json_array_size(out); i++)
    v[i] = json_incref(json_array_get(out, i));
  qsort(v, json_array_size(out), sizeof *v, by_path);
  json_t *sorted = json_array();
  for (size_t i = 0; i < json_array_size(out); i++)
    json_array_append_new(sorted, v[i]);
  free(v);
  json_decref(out);
  return sorted;
}
