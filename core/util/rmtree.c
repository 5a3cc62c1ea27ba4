#include "rmtree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One pass over the directory at fd: unlink every file, rmdir every empty
 * directory; the name of one directory that is not empty goes to sub (""
 * when none is left).  0 or -errno. */
static int clear_pass(int fd, char sub[256]) {
  sub[0] = 0;
  int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* own offset */
  if (dfd < 0) return -errno;
  DIR *d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return -errno;
  }
  int r = 0;
  struct dirent *de;
  while (r == 0 && (de = readdir(d))) {
    const char *n = de->d_name;
    if (!strcmp(n, ".") || !strcmp(n, "..")) continue;
    unsigned char type = de->d_type;
    struct stat st;
    if (type == DT_UNKNOWN)
      type = fstatat(fd, n, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
    if (type != DT_DIR) {
      if (unlinkat(fd, n, 0) < 0 && errno != ENOENT) r = -errno;
    } else if (unlinkat(fd, n, AT_REMOVEDIR) < 0) {
      if (errno == ENOTEMPTY || errno == EEXIST) {
        if (!sub[0]) snprintf(sub, 256, "%s", n);
      } else if (errno != ENOENT) {
        r = -errno;
      }
    }
  }
  closedir(d);
  return r;
}

int rm_tree_at(int dirfd, const char *name) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return errno == ENOENT ? 0 : -errno;
  if (!S_ISDIR(st.st_mode)) return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : -errno;
  const dev_t dev = st.st_dev;
  unsigned long depth = 0;
  int r = 0;
  for (;;) {
    char sub[256];
    if ((r = clear_pass(fd, sub)) < 0) break;
    int next;
    if (sub[0]) {
      /* down into the first directory that is not empty */
      next = openat(fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (next >= 0 && (fstat(next, &st) < 0 || st.st_dev != dev)) {
        close(next);
        next = -1;
        errno = EXDEV;
      }
      depth++;
    } else if (depth > 0) {
      /* this one is empty now: back up, its parent's next pass removes it */
      next = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      depth--;
    } else {
      break;
    }
    if (next < 0) {
      r = -errno;
      break;
    }
    close(fd);
    fd = next;
  }
  close(fd);
  if (r < 0) return r;
  return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -errno : 0;
}
