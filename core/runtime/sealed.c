/* Sealed executables (the CVE-2019-5736 defence).
 *
 * A process that enters a container must not be a binary that stays on the
 * host's disk: once inside, the container can open /proc/<pid>/exe (or run
 * it as the interpreter of a "#!/proc/self/exe" script), keep the fd and
 * write through it after the process is gone.  So berth-shim, the only
 * program that joins a container, always runs from a memfd copy of itself
 * that is sealed against every write, shrink and grow: berthd makes one
 * such copy at start-up and execs every shim and exec helper from it, and
 * the shim re-executes itself from a fresh copy if it was started any other
 * way. */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "runtime.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

#define SEALS_WANTED (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static int memfd_exec(const char *name) {
  int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd < 0 && errno == EINVAL) /* kernels before 6.3 know no MFD_EXEC */
    fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  return fd;
}

int rt_sealed_copy(const char *path, const char *name, struct berth_err *err) {
  cleanup_close int src = open(path, O_RDONLY | O_CLOEXEC);
  if (src < 0) return err_sys(err, BERTH_EINTERNAL, "open %s", path);
  struct stat st;
  if (fstat(src, &st) < 0) return err_sys(err, BERTH_EINTERNAL, "stat %s", path);
  if (!S_ISREG(st.st_mode))
    return berth_err_set(err, BERTH_EINTERNAL, 0, "%s is not a regular file", path);
  cleanup_close int fd = memfd_exec(name);
  if (fd < 0) return err_sys(err, BERTH_EINTERNAL, "memfd_create");
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = sendfile(fd, src, &off, (size_t)(st.st_size - off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return err_sys(err, BERTH_EINTERNAL, "copy %s into a memfd", path);
  }
  if (fchmod(fd, 0555) < 0 || fcntl(fd, F_ADD_SEALS, SEALS_WANTED) < 0)
    return err_sys(err, BERTH_EINTERNAL, "seal the memfd copy of %s", path);
  return move_fd(fd);
}

bool rt_fd_is_sealed(int fd) {
  int seals = fcntl(fd, F_GET_SEALS);
  return seals >= 0 && (seals & SEALS_WANTED) == SEALS_WANTED;
}

int rt_ensure_sealed_self(char **argv, char **envp) {
  cleanup_close int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self >= 0 && rt_fd_is_sealed(self)) return 0;
  struct berth_err err = {0};
  int fd = rt_sealed_copy("/proc/self/exe", "berth-shim", &err);
  if (fd < 0) {
    fprintf(stderr, "berth-shim: cannot run from a sealed copy of itself: %s\n", err.msg);
    return -1;
  }
  syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
  fprintf(stderr, "berth-shim: exec of its sealed copy failed: %s\n", strerror(errno));
  close(fd);
  return -1;
}
