/* idmap.h: the kernel calls behind --userns-remap, shared by berthd, the
 * shim and the storage drivers. */
#include "idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

uint32_t idmap_to_container(uint32_t id, uint32_t base, uint32_t size) {
  return size && id >= base && id - base < size ? id - base : id;
}

uint32_t idmap_to_host(uint32_t id, uint32_t base, uint32_t size) {
  return size && id < size ? base + id : id;
}

static int write_small(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t n = write(fd, text, strlen(text));
  int e = n == (ssize_t)strlen(text) ? 0 : n < 0 ? -errno : -EIO;
  close(fd);
  return e;
}

int idmap_write(pid_t pid, const struct idmap *m) {
  char path[64], line[64];
  snprintf(line, sizeof line, "0 %u %u\n", m->uid, m->size);
  snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
  int r = write_small(path, line);
  if (r < 0) return r;
  snprintf(line, sizeof line, "0 %u %u\n", m->gid, m->size);
  snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
  return write_small(path, line);
}

static int userns_child(void *p) {
  int *pfd = p;
  char b;
  close(pfd[1]);
  /* it only has to exist until its parent has opened its namespace */
  _exit(read(pfd[0], &b, 1) < 0 ? 1 : 0);
}

int idmap_userns(const struct idmap *m) {
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0) return -errno;
  /* the child runs on a copy of this (no CLONE_VM): a local buffer will
   * do (never thread-local: every thread of berthd would carry it) */
  char stack[16 * 1024] __attribute__((aligned(16)));
  pid_t pid = clone(userns_child, stack + sizeof stack, CLONE_NEWUSER | SIGCHLD, pfd);
  if (pid < 0) {
    int e = -errno;
    close(pfd[0]);
    close(pfd[1]);
    return e;
  }
  int r = idmap_write(pid, m);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
  int fd = r < 0 ? -1 : open(path, O_RDONLY | O_CLOEXEC);
  if (r == 0 && fd < 0) r = -errno;
  close(pfd[1]); /* the child's read returns: it exits */
  close(pfd[0]);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
  }
  return r < 0 ? r : fd;
}

int idmap_tree(const char *path, int userns_fd, bool recursive) {
  int fd = (int)syscall(SYS_open_tree, AT_FDCWD, path,
                        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
  if (fd < 0) return -errno;
  struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd};
  if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a,
              sizeof a) < 0) {
    int e = -errno;
    close(fd);
    return e;
  }
  return fd;
}

int idmap_attach(int tree_fd, int target_fd) {
  if (syscall(SYS_move_mount, tree_fd, "", target_fd, "",
              MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return -errno;
  return 0;
}

int idmap_bind(const char *src, const char *target, int userns_fd) {
  int tree = idmap_tree(src, userns_fd, false);
  if (tree < 0) return tree;
  int t = open(target, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int r = t < 0 ? -errno : idmap_attach(tree, t);
  if (t >= 0) close(t);
  close(tree);
  return r;
}

int idmap_become_root(const struct idmap *m) {
  /* raw system calls: glibc would apply setfsuid to this thread only
   * anyway, and capset is per thread */
  syscall(SYS_setfsgid, m->gid);
  syscall(SYS_setfsuid, m->uid);
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d) < 0) return -errno;
  d[0].effective = d[0].permitted;
  d[1].effective = d[1].permitted;
  if (syscall(SYS_capset, &h, d) < 0) return -errno;
  return 0;
}
