/* The mount namespace containers are cloned from.
 *
 * A container's init is cloned with CLONE_NEWNS: the kernel copies every
 * mount of the namespace it is cloned from, and the init, once it has
 * pivoted into its root, detaches the old root with all those copies.
 * berthd mounts every running container's root filesystem in its own
 * namespace, so cloned from there both costs grow with the number of
 * containers running (docs/performance.md: the clone 4.5 -> 9.7 ms, the
 * detach 0.2 -> 1.7 ms at 1,000).  The template holds only what an init
 * reaches by path before its pivot: "/", the mounts the data root and the
 * storage driver's root lie on (the bundle's /etc files, the directory the
 * rootfs is attached on), /proc (its /proc/self/fd binds), /sys and the
 * cgroup hierarchies (its cgroup binds), /dev.  Everything else, every
 * container's rootfs first, is detached from it; what the init needs of
 * those (the rootfs, bind sources) the shim hands it as detached trees
 * made in berthd's namespace (open_tree), so a mount made after the
 * template is as good as one made before.  The template is private: no
 * mount event reaches it, and it pins no filesystem the host unmounts
 * later (it holds none but the ones above). */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/util.h"
#include "runtime.h"

/* mountinfo's escapes (\040 for a space...) undone in place */
static void unescape(char *s) {
  char *o = s;
  for (; *s; s++) {
    if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
        s[3] <= '7') {
      *o++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
      s += 3;
    } else {
      *o++ = *s;
    }
  }
  *o = 0;
}

/* a is b or a directory above it */
static bool path_above(const char *a, const char *b) {
  if (!strcmp(a, "/")) return true;
  size_t n = strlen(a);
  return !strncmp(a, b, n) && (b[n] == 0 || b[n] == '/');
}

static bool kept(const char *mp, const char *const *keep, size_t n_keep) {
  static const char *const sys[] = {"/", "/proc", "/sys", "/dev"};
  for (size_t i = 0; i < ARRAY_SIZE(sys); i++)
    if (!strcmp(mp, sys[i])) return true;
  if (path_above("/sys/fs/cgroup", mp)) return true;
  for (size_t i = 0; i < n_keep; i++)
    if (path_above(mp, keep[i])) return true;
  return false;
}

static int by_depth_desc(const void *a, const void *b) {
  size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
  return la < lb ? 1 : la > lb ? -1 : 0;
}

/* the mount points of this thread's namespace that are not kept, deepest
 * first (a mount point below another is longer); NULL-terminated */
static char **to_detach(const char *const *keep, size_t n_keep, size_t *n) {
  cleanup_fclose FILE *f = fopen("/proc/thread-self/mountinfo", "re");
  char **v = NULL;
  size_t cap = 0;
  *n = 0;
  cleanup_free char *line = NULL;
  size_t len = 0;
  while (f && getline(&line, &len, f) > 0) {
    char mp[4096];
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1) continue;
    unescape(mp);
    if (kept(mp, keep, n_keep)) continue;
    if (*n + 2 > cap) v = xrealloc(v, (cap = cap ? cap * 2 : 64) * sizeof *v);
    v[(*n)++] = xstrdup(mp);
  }
  if (v) {
    v[*n] = NULL;
    qsort(v, *n, sizeof *v, by_depth_desc);
  }
  return v;
}

int rt_mntns_template(const char *const *keep, size_t n_keep, size_t *n_detached,
                      struct berth_err *err) {
  struct stat before[8], after;
  if (n_keep > ARRAY_SIZE(before))
    return berth_err_set(err, BERTH_EINVAL, 0, "too many paths to keep");
  for (size_t i = 0; i < n_keep; i++)
    if (stat(keep[i], &before[i]) < 0) return err_sys(err, BERTH_EINTERNAL, "stat %s", keep[i]);
  /* this thread alone: its own fs_struct, then a namespace of its own */
  if (unshare(CLONE_FS | CLONE_NEWNS) < 0)
    return err_sys(err, BERTH_EINTERNAL, "unshare a mount namespace");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return err_sys(err, BERTH_EINTERNAL, "make the template private");
  size_t n = 0;
  char **v = to_detach(keep, n_keep, &n);
  for (size_t i = 0; i < n; i++) {
    umount2(v[i], MNT_DETACH |
                      UMOUNT_NOFOLLOW); /* stacked or already gone with its parent: ENOENT/EINVAL */
    free(v[i]);
  }
  free(v);
  *n_detached = n;
  /* what the init finds by path must be what berthd sees there */
  for (size_t i = 0; i < n_keep; i++)
    if (stat(keep[i], &after) < 0 || after.st_dev != before[i].st_dev ||
        after.st_ino != before[i].st_ino)
      return berth_err_set(err, BERTH_EINTERNAL, 0, "%s is not the same in the template", keep[i]);
  int fd = open("/proc/thread-self/ns/mnt", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return err_sys(err, BERTH_EINTERNAL, "open the template's namespace");
  return fd;
}

unsigned long rt_propagation_flags(const char *word) {
  static const struct {
    const char *word;
    unsigned long flags;
  } t[] = {{"private", MS_PRIVATE}, {"rprivate", MS_PRIVATE | MS_REC},
           {"slave", MS_SLAVE},     {"rslave", MS_SLAVE | MS_REC},
           {"shared", MS_SHARED},   {"rshared", MS_SHARED | MS_REC}};
  for (size_t i = 0; word && i < ARRAY_SIZE(t); i++)
    if (!strcmp(word, t[i].word)) return t[i].flags;
  return 0;
}

/* mountinfo's mount point field, its \ooo escapes undone, in place */
static char *unescape_octal(char *s) {
  char *w = s;
  for (char *r = s; *r; r++) {
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
        r[3] <= '7') {
      *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
      r += 3;
    } else {
      *w++ = *r;
    }
  }
  *w = 0;
  return s;
}

/* path lies at or under dir */
static bool under(const char *path, const char *dir) {
  size_t n = strlen(dir);
  return !strcmp(dir, "/") || (!strncmp(path, dir, n) && (path[n] == '/' || !path[n]));
}

/* the mount path lies on (the deepest mount point above it, the last one
 * mounted there) and its optional fields ("shared:1 master:2") */
static int source_mount(const char *path, char **point, char **fields) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) return -errno;
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    char *save = NULL, *fld[6] = {0};
    int i = 0;
    /* six fields, the optional ones after them left in save */
    while (i < 6 && (fld[i] = strtok_r(i ? NULL : line, " ", &save)))
      i++;
    if (i < 6) continue;
    char *mp = unescape_octal(fld[4]);
    if (!under(path, mp) || (*point && strlen(mp) < strlen(*point))) continue;
    char *rest = save ? save : (char *)"", *dash = strstr(rest, "- ");
    if (dash) *dash = 0;
    free(*point), free(*fields);
    *point = xstrdup(mp);
    *fields = xstrdup(rest);
  }
  free(line);
  fclose(f);
  return *point ? 0 : -ENOENT;
}

int rt_check_propagation(const struct rt_mount *m, struct berth_err *err) {
  unsigned long fl = rt_propagation_flags(m->propagation);
  bool shared = fl & MS_SHARED, slave = fl & MS_SLAVE;
  if (m->type || (!shared && !slave)) return 0;
  cleanup_free char *real = realpath(m->source, NULL);
  cleanup_free char *point = NULL, *fields = NULL;
  int r = real ? source_mount(real, &point, &fields) : -errno;
  if (r < 0)
    return berth_err_set(err, BERTH_EINVAL, -r, "mount point of %s: %s", m->source, strerror(-r));
  bool is_shared = strstr(fields, "shared:") != NULL, is_slave = strstr(fields, "master:") != NULL;
  if (shared && !is_shared)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "path %s is mounted on %s but it is not a shared mount", m->source, point);
  if (slave && !is_shared && !is_slave)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "path %s is mounted on %s but it is not a shared or slave mount",
                         m->source, point);
  return 0;
}
