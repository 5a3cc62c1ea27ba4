#include <sys/stat.h>

#include "../../core/util/filters.h"
#include "../../core/util/treesize.h"
#include "../../core/util/util.h"
#include "tap.h"

/* tree_size as docker's directory.Size: files by size, a symlink by its
 * target's length, a hard-linked file once however many links */
static void test_tree_size(void) {
  char dir[] = "/tmp/berth-test-size-XXXXXX";
  ok(mkdtemp(dir) != NULL, "mkdtemp for tree_size");
  char *a = xasprintf("%s/a", dir), *sub = xasprintf("%s/d/e", dir);
  write_file_atomic(a, "12345", 5, 0644);
  mkdir_p(sub, 0755);
  char *l = xasprintf("%s/d/link", dir);
  ok(symlink("0123456789", l) == 0, "a symlink");
  /* 3,000 files of 3 bytes with two links each: counted once each (the
   * set of inodes grows past its first sizes) */
  for (int i = 0; i < 3000; i++) {
    char *f = xasprintf("%s/d/e/f%d", dir, i), *h = xasprintf("%s/d/h%d", dir, i);
    write_file_atomic(f, "abc", 3, 0644);
    if (link(f, h) < 0) ok(0, "link %s", h);
    free(f);
    free(h);
  }
  ok(tree_size(dir) == 5 + 10 + 3000 * 3, "tree_size: %llu, want %d",
     (unsigned long long)tree_size(dir), 5 + 10 + 3000 * 3);
  ok(tree_size(a) == 5 && tree_size("/nonexistent-berth") == 0, "a file, a missing path");
  rm_rf(dir);
  free(a);
  free(sub);
  free(l);
}

static void test_filters(void) {
  struct filters f;
  struct berth_err e = {0};
  ok(filters_parse("{\"name\":{\"^/w\":true,\"x\":false},\"label\":[\"a=1\",\"b\"]}", &f, &e) ==
             0 &&
         f.n == 2,
     "filters: both shapes, a false value kept");
  ok(filters_match(&f, "name", "/web") && filters_match(&f, "name", "box") &&
         !filters_match(&f, "name", "web"),
     "filters: name as an expression or an exact value");
  json_t *l = json_pack("{s:s,s:s}", "a", "1", "b", "");
  json_t *l2 = json_pack("{s:s}", "a", "2");
  ok(filters_labels(&f, "label", l) && !filters_labels(&f, "label", l2), "filters: label lists");
  ok(filters_exact(&f, "status", "x") && filters_prefix(&f, "id", "x"), "a key not given: true");
  const char *const accepted[] = {"name", NULL};
  ok(filters_check(&f, accepted, &e) < 0 && !strcmp(e.msg, "Invalid filter 'label'"),
     "filters: an unknown key in docker's words (%s)", e.msg);
  filters_free(&f);
  ok(filters_parse("nojson", &f, &e) < 0 && e.code == BERTH_EINTERNAL, "filters: bad JSON, 500");
  ok(filters_parse("{\"a\":\"b\"}", &f, &e) < 0 &&
         !strcmp(e.msg, "json: cannot unmarshal string into Go value of type map[string]bool"),
     "filters: a value not a map: Go's words");
  ok(filters_parse(NULL, &f, &e) == 0 && f.n == 0, "filters: none");
  int64_t ns;
  ok(parse_go_duration("1h30m", &ns) == 0 && ns == 5400000000000LL, "Go duration 1h30m");
  ok(parse_go_duration("1.5s", &ns) == 0 && ns == 1500000000LL, "Go duration 1.5s");
  ok(parse_go_duration("-2ms", &ns) == 0 && ns == -2000000LL, "Go duration -2ms");
  ok(parse_go_duration("10", &ns) < 0 && parse_go_duration("", &ns) < 0 &&
         parse_go_duration("1x", &ns) < 0,
     "Go duration: a unit is needed");
  filters_parse("{\"until\":{\"2000-01-02T03:04:05Z\":true}}", &f, &e);
  ok(filters_until(&f, &ns, &e) == 0 && ns == 946782245000000000LL, "until: RFC 3339");
  filters_free(&f);
  filters_parse("{\"until\":{\"2000-01-02T03:04:05+01:00\":true}}", &f, &e);
  ok(filters_until(&f, &ns, &e) == 0 && ns == 946778645000000000LL, "until: with an offset");
  filters_free(&f);
  filters_parse("{\"until\":{\"946782245.5\":true}}", &f, &e);
  ok(filters_until(&f, &ns, &e) == 0 && ns == 946782245500000000LL, "until: unix seconds");
  filters_free(&f);
  filters_parse("{\"until\":{\"abc\":true}}", &f, &e);
  ok(filters_until(&f, &ns, &e) < 0 &&
         !strcmp(e.msg, "failed to parse value as time or duration: \"abc\""),
     "until: docker's words for the rest");
  filters_free(&f);
  json_decref(l);
  json_decref(l2);
}

int main(void) {
  test_tree_size();
  test_filters();
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
