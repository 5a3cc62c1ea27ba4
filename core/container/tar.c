/* Tar streams of a container's files (tar.h). */
#include "tar.h"

#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "../runtime/runtime.h"
#include "../util/lazylib.h"
#include "../util/util.h"

static __thread struct idmap tar_map;

void ctar_set_idmap(const struct idmap *m) {
  tar_map = m ? *m : (struct idmap){0};
}

void ctar_entry_unmap(struct archive_entry *e) {
  if (!tar_map.size) return;
  archive_entry_set_uid(
      e, idmap_to_container((uint32_t)archive_entry_uid(e), tar_map.uid, tar_map.size));
  archive_entry_set_gid(
      e, idmap_to_container((uint32_t)archive_entry_gid(e), tar_map.gid, tar_map.size));
}

/* an id the mapping does not have stays as it is: the kernel refuses it */
uid_t ctar_host_uid(uid_t u) {
  return idmap_to_host(u, tar_map.uid, tar_map.size);
}

gid_t ctar_host_gid(gid_t g) {
  return idmap_to_host(g, tar_map.gid, tar_map.size);
}

/* the owners' names the entries carry, from a root's /etc/passwd and
 * /etc/group (ctar_set_names) */
struct id_names {
  struct rt_id_name *v;
  size_t n;
};
static __thread struct id_names tar_users, tar_groups;

void ctar_set_names(int rootfd) {
  rt_id_names_free(tar_users.v, tar_users.n);
  rt_id_names_free(tar_groups.v, tar_groups.n);
  tar_users = tar_groups = (struct id_names){0};
  if (rootfd < 0) return;
  tar_users.v = rt_id_names_at(rootfd, false, &tar_users.n);
  tar_groups.v = rt_id_names_at(rootfd, true, &tar_groups.n);
}

static const char *name_of(const struct id_names *t, int64_t id) {
  for (size_t i = 0; i < t->n; i++)
    if (t->v[i].id == id) return t->v[i].name; /* the first, as getpwuid's */
  return "";
}

void ctar_entry_names(struct archive_entry *e) {
  archive_entry_copy_uname(e, name_of(&tar_users, archive_entry_uid(e)));
  archive_entry_copy_gname(e, name_of(&tar_groups, archive_entry_gid(e)));
}

static la_ssize_t fd_write(struct archive *a, void *ctx, const void *buf, size_t len) {
  if (write_all_fd(*(int *)ctx, buf, len) == 0) return (la_ssize_t)len;
  archive_set_error(a, errno, "write: %s", strerror(errno)); /* EPIPE: the reader gave up */
  return -1;
}

struct archive *ctar_writer(int *fd, struct berth_err *err) {
  struct archive *a = archive_write_new();
  if (!a) {
    lazylib_fail(&lazy_libarchive, err);
    return NULL;
  }
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_in_last_block(a, 1); /* no padding to 10 KiB: what go's tar writes */
  if (archive_write_open(a, fd, NULL, fd_write, NULL) == ARCHIVE_OK) return a;
  berth_err_set(err, BERTH_EINTERNAL, 0, "tar: %s", archive_error_string(a) ?: "cannot write");
  archive_write_free(a);
  return NULL;
}

static int copy_data(struct archive *a, int fd) {
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  int in = open(proc, O_RDONLY | O_CLOEXEC);
  if (in < 0) return -1;
  char buf[65536];
  int r = 0;
  for (ssize_t n; r == 0 && (n = read(in, buf, sizeof buf)) != 0;)
    if (n < 0 || archive_write_data(a, buf, (size_t)n) != n) r = -1;
  close(in);
  return r;
}

int ctar_add(struct archive *a, int rootfd, const char *path, const char *name) {
  int fd = rt_openat_in_root(rootfd, path, O_PATH | O_NOFOLLOW, 0);
  struct stat st;
  if (fd < 0 || fstatat(fd, "", &st, AT_EMPTY_PATH) < 0) {
    if (fd >= 0) close(fd);
    return 0; /* gone meanwhile: nothing to add */
  }
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_copy_stat(e, &st);
  ctar_entry_unmap(e);
  ctar_entry_names(e);
  char target[4096];
  if (S_ISLNK(st.st_mode)) {
    ssize_t n = readlinkat(fd, "", target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    archive_entry_set_symlink(e, target);
  }
  if (!S_ISREG(st.st_mode)) archive_entry_set_size(e, 0);
  int r = archive_write_header(a, e) == ARCHIVE_OK ? 0 : -1;
  if (r == 0 && S_ISREG(st.st_mode)) r = copy_data(a, fd);
  archive_entry_free(e);
  close(fd);
  return r;
}

/* a directory's names but . and .., in byte order (as docker's walk
 * writes them: the same tree gives the same archive); NULL-terminated */
static char **sorted_names(DIR *d, size_t *n) {
  char **v = xcalloc(1, sizeof *v);
  size_t cap = 1;
  *n = 0;
  for (struct dirent *de; (de = readdir(d));) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    if (*n + 1 >= cap) v = xrealloc(v, (cap *= 2) * sizeof *v);
    v[(*n)++] = xstrdup(de->d_name);
  }
  v[*n] = NULL;
  qsort(v, *n, sizeof *v, strp_cmp);
  return v;
}

static __thread struct {
  dev_t v[64];
  size_t n;
} tar_view;

void ctar_set_view(const dev_t *devs, size_t n) {
  tar_view.n = 0;
  for (size_t i = 0; devs && i < n && tar_view.n < ARRAY_SIZE(tar_view.v); i++)
    tar_view.v[tar_view.n++] = devs[i];
}

bool ctar_hidden(dev_t dev) {
  for (size_t i = 0; i < tar_view.n; i++)
    if (tar_view.v[i] == dev) return false;
  return tar_view.n > 0;
}

/* A running container's view (cp) has the kernel's filesystems, its /dev
 * and its --tmpfs mounts in it: their directories go in the tar, not what
 * is in them (dockerd's view of a container is its root and volumes: the
 * image's empty /proc and /dev) */
static bool leave_out_below(dev_t dev, dev_t parent) {
  return dev != parent && ctar_hidden(dev);
}

int ctar_add_tree(struct archive *a, int rootfd, const char *path, const char *prefix) {
  int fd = rt_openat_in_root(rootfd, *path ? path : "/", O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) {
    if (fd >= 0) close(fd);
    return 0; /* gone meanwhile */
  }
  size_t n;
  char **names = sorted_names(d, &n);
  bool root = !strcmp(path, "/");
  struct stat self;
  dev_t dev = fstat(dirfd(d), &self) == 0 ? self.st_dev : 0;
  int r = 0;
  for (size_t i = 0; r == 0 && i < n; i++) {
    cleanup_free char *child = xasprintf("%s/%s", root ? "" : path, names[i]);
    size_t pl = strlen(prefix); /* "/" (the root, named as dockerd names it): no second slash */
    cleanup_free char *name =
        xasprintf("%s%s%s", prefix, pl && prefix[pl - 1] != '/' ? "/" : "", names[i]);
    struct stat st;
    if (fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
    r = ctar_add(a, rootfd, child, name);
    if (r == 0 && S_ISDIR(st.st_mode) && !leave_out_below(st.st_dev, dev))
      r = ctar_add_tree(a, rootfd, child, name);
  }
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  closedir(d);
  return r;
}
