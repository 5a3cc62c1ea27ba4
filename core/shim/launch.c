#include "launch.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/syscall.h>

#include "../runtime/runtime.h"

char *helper_path(const char *name) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return xstrdup(name);
  self[n] = 0;
  *strrchr(self, '/') = 0;
  return xasprintf("%s/%s", self, name);
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int sealed_fd = -1;

int shim_exe_fd(struct berth_err *err) {
  pthread_mutex_lock(&mu);
  if (sealed_fd < 0) {
    cleanup_free char *path = helper_path("berth-shim");
    sealed_fd = rt_sealed_copy(path, "berth-shim", err);
  }
  int fd = sealed_fd;
  if (fd < 0) sealed_fd = -1; /* try again next time: the error is in err */
  pthread_mutex_unlock(&mu);
  return fd;
}

void shim_exec_sealed(int fd, char **argv) {
  extern char **environ;
  syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
}
