/* libFuzzer: daemon.conf (core/config.c, libconfig underneath) — the
 * input as the file, loaded and checked as berthd loads it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../../core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int fd = memfd_create("daemon.conf", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (write(fd, data, size) == (ssize_t)size) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    struct berth_config c = {0};
    struct berth_err err = {0};
    config_load(&c, path, &err);
    config_free(&c);
  }
  close(fd);
  return 0;
}
