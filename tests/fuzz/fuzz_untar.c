/* libFuzzer: layer tars (core/image/layer.c) applied into a scratch
 * directory, whiteouts both ways.  After each input nothing may exist
 * beside the scratch directory in its parent: an entry that climbed out
 * aborts the run. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/image/layer.h"

struct mem {
  const uint8_t *p;
  size_t n, off;
};

static ssize_t mem_read(void *ctx, void *buf, size_t len) {
  struct mem *m = ctx;
  size_t k = m->n - m->off < len ? m->n - m->off : len;
  memcpy(buf, m->p + m->off, k);
  m->off += k;
  return (ssize_t)k;
}

static char parent[64];

static void check_parent_holds_only_scratch(void) {
  DIR *d = opendir(parent);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, "scratch"))
      continue;
    fprintf(stderr, "fuzz_untar: %s/%s was written outside the layer\n", parent, e->d_name);
    abort();
  }
  if (d) closedir(d);
}

/* The scratch directory goes after each input; its parent when the run
 * ends (libFuzzer leaves through exit()). */
static void remove_parent(void) {
  rmdir(parent);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!parent[0]) {
    snprintf(parent, sizeof parent, "/tmp/berth-fuzz-untar-XXXXXX");
    if (!mkdtemp(parent)) abort();
    atexit(remove_parent);
  }
  char dir[128];
  snprintf(dir, sizeof dir, "%s/scratch", parent);
  for (int w = 0; w < 2; w++) {
    mkdir(dir, 0755);
    struct mem m = {data, size, 0};
    struct berth_reader in = {sizeof in, &m, mem_read};
    struct berth_err err = {0};
    struct untar_stats st = {0};
    layer_untar(&in, dir, w ? BERTH_UNTAR_WHITEOUT_OVERLAY : BERTH_UNTAR_WHITEOUT_DELETE, &st,
                &err);
    check_parent_holds_only_scratch();
    rm_rf(dir);
  }
  return 0;
}
