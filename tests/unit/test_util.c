#include <sys/stat.h>

#include "../../core/util/util.h"
#include "tap.h"

int main(void) {
  char dir[] = "/tmp/berth-test-util-XXXXXX";
  ok(mkdtemp(dir) != NULL, "mkdtemp");
  char *p = xasprintf("%s/a/b/c", dir);
  ok(mkdir_p(p, 0755) == 0 && path_exists(p), "mkdir_p makes nested directories");
  char *f = xasprintf("%s/state.json", dir);
  ok(write_file_atomic(f, "one", 3, 0600) == 0, "atomic write");
  ok(write_file_atomic(f, "second", 6, 0600) == 0, "atomic overwrite");
  size_t len;
  char *data = read_file(f, &len);
  ok(data && len == 6 && !memcmp(data, "second", 6), "read back the newest content");
  struct stat st;
  stat(f, &st);
  ok((st.st_mode & 0777) == 0600, "mode kept");
  /* no temp files left behind */
  char *cmd = xasprintf("ls %s | grep -c tmp", dir);
  FILE *pf = popen(cmd, "r");
  int n = -1;
  if (pf) {
    if (fscanf(pf, "%d", &n) != 1) n = -1;
    pclose(pf);
  }
  ok(n == 0, "no temporary files left (%d)", n);
  char *miss = xasprintf("%s/missing/x", dir);
  ok(write_file_atomic(miss, "x", 1, 0600) == -ENOENT,
     "atomic write into a missing dir fails with ENOENT");
  ok(rm_rf(dir) == 0 && !path_exists(dir), "rm_rf removes the tree");
  ok(rm_rf(dir) == 0, "rm_rf of a missing path is fine");

  char hex[65];
  sha256_hex("abc", 3, hex);
  is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256 of abc");
  int64_t t = parse_rfc3339("2024-09-26T21:31:42.123456789Z");
  char buf[64];
  format_rfc3339(t, buf, sizeof buf);
  is_str(buf, "2024-09-26T21:31:42.123456789Z", "rfc3339 round trip");
  ok(parse_rfc3339("2024-09-26T23:31:42+02:00") == parse_rfc3339("2024-09-26T21:31:42Z"),
     "rfc3339 offsets");
  ok(parse_rfc3339("garbage") == INT64_MIN, "rfc3339 rejects garbage");
  ok(!parse_bool_value("False") && !parse_bool_value("0") && !parse_bool_value("") &&
         parse_bool_value("True") && parse_bool_value("1") && parse_bool_value("yes"),
     "moby BoolValue spellings");
  struct berth_err e = {0};
  berth_err_set(&e, BERTH_ENOTFOUND, 0, "layer %s", "x");
  err_wrap(&e, "create");
  is_str(e.msg, "create: layer x", "err_wrap adds context");
  ok(err_http_status(BERTH_ECONFLICT) == 409 && err_http_status(BERTH_ENOTFOUND) == 404 &&
         err_http_status(BERTH_EINVAL) == 400 && err_http_status(BERTH_EINTERNAL) == 500,
     "error codes map to HTTP statuses");
  free(p);
  free(f);
  free(data);
  free(cmd);
  free(miss);
  return done();
}
