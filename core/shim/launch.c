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
static int sealed_fd[2] = {-1, -1};

int shim_exe_fd(bool dl, struct berth_err *err) {
  static const char *const names[2] = {"berth-shim", "berth-shim-dl"};
  pthread_mutex_lock(&mu);
  if (sealed_fd[dl] < 0) {
    cleanup_free char *path = helper_path(names[dl]);
    /* a tree without the dynamic build (one copied by hand): the one shim */
    if (dl && !path_exists(path)) {
      pthread_mutex_unlock(&mu);
      return shim_exe_fd(false, err);
    }
    sealed_fd[dl] = rt_sealed_copy(path, names[dl], err);
  }
  int fd = sealed_fd[dl];
  if (fd < 0) sealed_fd[dl] = -1; /* try again next time: the error is in err */
  pthread_mutex_unlock(&mu);
  return fd;
}

void shim_exec_sealed(int fd, char **argv) {
  extern char **environ;
  syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
}
