/* Container paths resolved inside the container's root, never on the host.
 *
 * An image controls every symlink in its root filesystem: "/etc" may point
 * at the host's /etc, "/etc/passwd" at /dev/zero or a FIFO.  Every path the
 * runtime or berthd touches in a rootfs goes through openat2 with
 * RESOLVE_IN_ROOT (absolute symlinks and ".." stay inside the root) and
 * RESOLVE_NO_MAGICLINKS (no /proc/self/fd tricks), and what is mounted is
 * mounted onto the resolved fd, not onto a string resolved again later.
 * Files are read only when they are regular and small, opened O_NONBLOCK so
 * a FIFO can never stall a thread. */
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "runtime.h"

int rt_openat_in_root(int rootfd, const char *path, int flags, mode_t mode) {
  struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                         .mode = mode,
                         .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  if (!(flags & O_CREAT)) how.mode = 0;
  while (*path == '/')
    path++;
  long fd;
  do
    fd = syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof how);
  while (fd < 0 && errno == EAGAIN); /* a rename raced the walk: the kernel asks for a retry */
  return (int)fd;
}

/* Every directory of path, created inside the root; returns an O_PATH fd
 * of the last one.  Each new name is made in its parent as resolved in the
 * root, one component at a time, so no link is ever followed out; a
 * dangling symlink on the way gets its target made, inside the root too. */
static int mkdirs_in_root_depth(int rootfd, const char *path, mode_t mode, int depth) {
  if (depth > 40) {
    errno = ELOOP;
    return -1;
  }
  cleanup_free char *p = xstrdup(path);
  int cur = rt_openat_in_root(rootfd, "/", O_PATH | O_DIRECTORY, 0);
  char *comp = p;
  while (cur >= 0 && *comp) {
    while (*comp == '/')
      comp++;
    if (!*comp) break;
    char *end = comp + strcspn(comp, "/");
    char saved = *end;
    *end = 0;
    int fd = rt_openat_in_root(rootfd, p, O_PATH | O_DIRECTORY, 0);
    if (fd < 0 && errno == ENOENT && (mkdirat(cur, comp, mode) == 0 || errno == EEXIST))
      fd = rt_openat_in_root(rootfd, p, O_PATH | O_DIRECTORY, 0);
    char link[4096];
    ssize_t n;
    if (fd < 0 && errno == ENOENT && (n = readlinkat(cur, comp, link, sizeof link - 1)) > 0) {
      link[n] = 0;
      char c0 = *comp;
      *comp = 0; /* p is now the parent, with its trailing '/' */
      cleanup_free char *target = link[0] == '/' ? xstrdup(link) : xasprintf("/%s%s", p, link);
      *comp = c0;
      int t = mkdirs_in_root_depth(rootfd, target, mode, depth + 1);
      if (t >= 0) close(t);
      fd = rt_openat_in_root(rootfd, p, O_PATH | O_DIRECTORY, 0);
    }
    int e = errno;
    *end = saved;
    close(cur);
    cur = fd;
    errno = e;
    comp = end;
  }
  return cur;
}

static int mkdirs_in_root(int rootfd, const char *path, mode_t mode) {
  return mkdirs_in_root_depth(rootfd, path, mode, 0);
}

int rt_mkdir_in_root(int rootfd, const char *path, mode_t mode) {
  if (*path != '/') {
    errno = EINVAL;
    return -1;
  }
  return mkdirs_in_root(rootfd, path, mode);
}

int rt_target_in_root(int rootfd, const char *path, bool dir, struct berth_err *err) {
  if (*path != '/')
    return berth_err_set(err, BERTH_EINVAL, 0, "mount target %s is not an absolute path", path);
  if (dir) {
    int fd = mkdirs_in_root(rootfd, path, 0755);
    return fd >= 0 ? fd : err_sys(err, BERTH_EINTERNAL, "mount target %s", path);
  }
  int fd = rt_openat_in_root(rootfd, path, O_PATH, 0);
  if (fd >= 0) return fd;
  cleanup_free char *parent = xstrdup(path);
  char *slash = strrchr(parent, '/');
  slash[slash == parent ? 1 : 0] = 0;
  cleanup_close int pfd = mkdirs_in_root(rootfd, parent, 0755);
  if (pfd < 0) return err_sys(err, BERTH_EINTERNAL, "mount target %s", path);
  /* create the file where the resolved parent is, never through a link */
  int f = openat(pfd, strrchr(path, '/') + 1, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                 0644);
  if (f >= 0)
    close(f);
  else if (errno != EEXIST)
    return err_sys(err, BERTH_EINTERNAL, "mount target %s", path);
  fd = rt_openat_in_root(rootfd, path, O_PATH, 0);
  return fd >= 0 ? fd : err_sys(err, BERTH_EINTERNAL, "mount target %s", path);
}

int rt_mount_on_fd(const char *src, int fd, const char *type, unsigned long flags,
                   const char *data) {
  char p[64];
  snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
  return mount(src, p, type, flags, data);
}

char *rt_read_in_root(int rootfd, const char *path, size_t max, size_t *len,
                      struct berth_err *err) {
  cleanup_close int fd = rt_openat_in_root(rootfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
  if (fd < 0) {
    err_sys(err, errno == ENOENT ? BERTH_ENOTFOUND : BERTH_EINVAL, "open %s in the container",
            path);
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    berth_err_set(err, BERTH_EINVAL, 0, "%s in the container is not a regular file", path);
    return NULL;
  }
  if ((uint64_t)st.st_size > max) {
    berth_err_set(err, BERTH_EINVAL, 0, "%s in the container is larger than %zu bytes", path, max);
    return NULL;
  }
  /* sized by the file, grown if it grows meanwhile, never past max */
  size_t cap = (size_t)st.st_size + 1;
  char *buf = xmalloc(cap + 1);
  size_t got = 0;
  for (;;) {
    if (got == cap) {
      if (cap > max) {
        free(buf);
        berth_err_set(err, BERTH_EINVAL, 0, "%s in the container is larger than %zu bytes", path,
                      max);
        return NULL;
      }
      cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
      buf = xrealloc(buf, cap + 1);
    }
    ssize_t n = read(fd, buf + got, cap - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      free(buf);
      err_sys(err, BERTH_EINVAL, "read %s in the container", path);
      return NULL;
    }
    if (n == 0) break;
    got += (size_t)n;
  }
  buf[got] = 0;
  if (len) *len = got;
  return buf;
}
