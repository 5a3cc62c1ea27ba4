/* cli/jpick.c: a listing reduced to the members kept, equal to what jansson
 * makes of the same members; malformed input refused, never read past. */
#include <stdlib.h>

#include "../../cli/jpick.h"
#include "tap.h"

static const char *const keep[] = {"Id", "Names", "Ports", "Labels", "Created", "Status", NULL};

/* jansson's whole parse with the other members deleted */
static json_t *reference(const char *text) {
  json_t *a = json_loads(text, 0, NULL);
  size_t i;
  json_t *o;
  json_array_foreach(a, i, o) {
    if (!json_is_object(o)) continue;
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(o, tmp, k, v) {
      int kept = 0;
      for (const char *const *w = keep; *w; w++)
        kept |= !strcmp(*w, k);
      if (!kept) json_object_del(o, k);
    }
  }
  return a;
}

static void same(const char *text, const char *name) {
  json_t *got = jpick_array(text, strlen(text), keep), *want = reference(text);
  ok(got && want && json_equal(got, want), "%s", name);
  json_decref(got);
  json_decref(want);
}

int main(void) {
  same("[]", "an empty list");
  same(" [ ] ", "an empty list with spaces");
  same("[{\"Id\":\"a\",\"Names\":[\"/x\"],\"Created\":1700000000,\"Ports\":[],\"Labels\":{},"
       "\"NetworkSettings\":{\"Networks\":{\"none\":{\"IPAMConfig\":null,\"Aliases\":[\"]\",\"}\"]}"
       "}},"
       "\"Status\":\"Up 2 seconds\"}]",
       "a summary: nested members skipped, brackets inside strings too");
  same("[{\"Id\":\"b\\\"q\\u00e9\\n\",\"Names\":[\"/a\",\"/b\\\\c\"],\"Created\":-5,"
       "\"Labels\":{\"k\":\"v\",\"e\":\"\"},\"Ports\":[{\"IP\":\"0.0.0.0\",\"PrivatePort\":80,"
       "\"PublicPort\":8080,\"Type\":\"tcp\"}]}]",
       "escapes, a negative number, labels and ports: as jansson decodes them");
  same("[{\"Status\":\"\\u65e5\\u672c\",\"Created\":1.5e3,\"Id\":null,\"Names\":[[\"n\"]]}, 3, "
       "\"s\"]",
       "unicode escapes, a real, null, nested arrays; elements that are not objects kept whole");
  same("[{\"Id\":\"x\"}, {}]", "an empty object");
  static const char *const bad[] = {"",
                                    "{}",
                                    "[",
                                    "[{\"Id\":\"x\"",
                                    "[{\"Id\":}]",
                                    "[{\"Id\" \"x\"}]",
                                    "[{\"Id\":\"x\"} {}]",
                                    "[\"unterminated]",
                                    "[{\"Names\":[\"a\"}]"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    json_t *r = jpick_array(bad[i], strlen(bad[i]), keep);
    ok(!r, "malformed: %s", bad[i]);
    json_decref(r);
  }
  /* the text ends where len says, not at a NUL: nothing past it is read */
  const char *t = "[{\"Id\":\"x\"}]garbage";
  json_t *r = jpick_array(t, 12, keep);
  ok(r && json_array_size(r) == 1, "reads only len bytes");
  json_decref(r);
  char *cut = strndup("[{\"Id\":\"x\"}]", 8); /* [{"Id":" with no terminator */
  r = jpick_array(cut, 8, keep);
  ok(!r, "a cut string is refused");
  free(cut);
  static const char *const lax[] = {"[{\"Other\":}]", "[{\"Other\":[1}]}]",
                                    "[{\"Other\":{\"a\":[}]}]"};
  for (size_t i = 0; i < sizeof lax / sizeof *lax; i++) {
    r = jpick_array(lax[i], strlen(lax[i]), keep);
    ok(!r, "malformed in a member not kept: refused all the same: %s", lax[i]);
    json_decref(r);
  }
  return done();
}
