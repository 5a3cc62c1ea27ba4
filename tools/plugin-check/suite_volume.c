/* The volume contract (include/berth/volume.h, since ABI 1.1): create,
 * path, mount for a container and unmount, data kept across mounts, list
 * and get when the driver has them, remove (idempotent) taking the data
 * with it, and docker's error codes: ECONFLICT for a second create,
 * ENOTFOUND for a name the driver does not have, EINVAL for an option it
 * does not know. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#define OPS(t) ((const struct berth_volume_ops *)(t)->ops)
#define ID1 "c0ffee0000000000000000000000000000000000000000000000000000000001"
#define ID2 "c0ffee0000000000000000000000000000000000000000000000000000000002"

static int create(struct target *t, const char *name, const struct berth_kv *kv, size_t n,
                  struct berth_err *e) {
  struct berth_volume_create_req r = {sizeof r, name, kv, n};
  *e = (struct berth_err){0};
  return OP(t, "create", OPS(t)->create(t->drv, &r, e));
}

static bool is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* list has name (0/1), or -1 when it failed */
static int listed(struct target *t, const char *name) {
  struct berth_buf b = {sizeof b, NULL, 0, 0};
  struct berth_err e = {0};
  if (OP(t, "list", OPS(t)->list(t->drv, &b, &e)) < 0) return chk_buf_free(&b), -1;
  char *s = chk_buf_str(&b);
  int found = 0;
  for (char *save = NULL, *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
    found |= !strcmp(l, name);
  free(s);
  chk_buf_free(&b);
  return found;
}

static void test_mounts(struct target *t, const char *name) {
  char path[BERTH_VOLUME_PATH_MAX] = "", again[BERTH_VOLUME_PATH_MAX] = "";
  struct berth_err e = {0};
  int r = OP(t, "mount", OPS(t)->mount(t->drv, name, ID1, path, sizeof path, &e));
  chk_ok(r == 0 && is_dir(path), "mount for a container: an existing directory (%s)",
         r ? e.msg : path);
  if (r) return;
  char file[BERTH_VOLUME_PATH_MAX + 16];
  snprintf(file, sizeof file, "%s/kept", path);
  FILE *f = fopen(file, "w");
  chk_ok(f && fputs("data\n", f) >= 0 && fclose(f) == 0, "a file written into the mount");
  chk_ok(OP(t, "unmount", OPS(t)->unmount(t->drv, name, ID1, &e)) == 0, "unmount (%s)", e.msg);
  chk_ok(OP(t, "unmount", OPS(t)->unmount(t->drv, name, ID1, &e)) == 0,
         "unmount again: safe to repeat (%s)", e.msg);
  r = OP(t, "mount", OPS(t)->mount(t->drv, name, ID2, again, sizeof again, &e));
  snprintf(file, sizeof file, "%s/kept", again);
  chk_ok(r == 0 && access(file, F_OK) == 0,
         "mounted again for another container: the data is kept");
  if (r == 0) OP(t, "unmount", OPS(t)->unmount(t->drv, name, ID2, &e));
}

static void test_errors(struct target *t, const char *name) {
  struct berth_err e;
  int r = create(t, name, NULL, 0, &e);
  chk_ok(r == -BERTH_ECONFLICT && e.code == BERTH_ECONFLICT,
         "a second create of the name: ECONFLICT (got %d: %s)", r, e.msg);
  struct berth_kv bad = {sizeof bad, "berth-check-no-such-option", "1"};
  r = create(t, "chk-vol-bad", &bad, 1, &e);
  chk_ok(r == -BERTH_EINVAL && e.msg[0], "an option it does not know: EINVAL with a message (%s)",
         e.msg);
  char path[BERTH_VOLUME_PATH_MAX];
  e = (struct berth_err){0};
  r = OP(t, "path", OPS(t)->path(t->drv, "chk-vol-missing", path, sizeof path, &e));
  chk_ok(r == -BERTH_ENOTFOUND, "path of a name it does not have: ENOTFOUND (got %d)", r);
  e = (struct berth_err){0};
  r = OP(t, "mount", OPS(t)->mount(t->drv, "chk-vol-missing", ID1, path, sizeof path, &e));
  chk_ok(r < 0 && e.msg[0], "mount of a name it does not have fails, saying why (%s)", e.msg);
}

int suite_volume(struct target *t) {
  const char *name = "chk-vol-a";
  struct berth_err e;
  int r = create(t, name, NULL, 0, &e);
  chk_ok(r == 0, "create a volume (%s)", r ? e.msg : "ok");
  if (r) return 0;
  char path[BERTH_VOLUME_PATH_MAX] = "";
  r = OP(t, "path", OPS(t)->path(t->drv, name, path, sizeof path, &e));
  chk_ok(r == 0 && memchr(path, 0, sizeof path), "path: 0, a NUL-terminated path (%s)", path);
  if (OPS(t)->list) chk_ok(listed(t, name) == 1, "list has it");
  if (OPS(t)->get) {
    struct berth_buf b = {sizeof b, NULL, 0, 0};
    r = OP(t, "get", OPS(t)->get(t->drv, name, &b, &e));
    char *s = chk_buf_str(&b);
    chk_ok(r == 0 && (!b.len || s[0] == '{'), "get: its status is a JSON object (%s)", s);
    free(s);
    chk_buf_free(&b);
  }
  test_mounts(t, name);
  test_errors(t, name);
  char mounted[BERTH_VOLUME_PATH_MAX] = "";
  OP(t, "mount", OPS(t)->mount(t->drv, name, ID1, mounted, sizeof mounted, &e));
  OP(t, "unmount", OPS(t)->unmount(t->drv, name, ID1, &e));
  r = OP(t, "remove", OPS(t)->remove(t->drv, name, &e));
  chk_ok(r == 0, "remove (%s)", r ? e.msg : "ok");
  char kept[BERTH_VOLUME_PATH_MAX + 16];
  snprintf(kept, sizeof kept, "%s/kept", mounted);
  chk_ok(!*mounted || access(kept, F_OK) < 0, "its data went with it");
  e = (struct berth_err){0};
  r = OP(t, "path", OPS(t)->path(t->drv, name, path, sizeof path, &e));
  chk_ok(r == -BERTH_ENOTFOUND, "path after remove: ENOTFOUND (got %d)", r);
  if (OPS(t)->list) chk_ok(listed(t, name) == 0, "list no longer has it");
  r = OP(t, "remove", OPS(t)->remove(t->drv, name, &e));
  chk_ok(r == 0, "remove again: not an error (%s)", r ? e.msg : "ok");
  r = create(t, name, NULL, 0, &e);
  chk_ok(r == 0, "the name can be made again (%s)", r ? e.msg : "ok");
  if (r == 0) OP(t, "remove", OPS(t)->remove(t->drv, name, &e));
  return 0;
}
