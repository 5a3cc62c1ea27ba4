/* libFuzzer: --format templates (cli/template.c) — the input is the
 * template, run on a document with maps, lists, nulls and numbers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../cli/template.h"

static const char doc[] =
    "{\"Name\":\"/c\",\"Labels\":{\"a\":\"1\",\"b\":\"x=y\"},\"List\":[1,\"two\",null,2.5,"
    "{\"k\":[true,false]}],\"Nil\":null,\"N\":-7,\"R\":1e300,\"S\":\"\"}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static json_t *root;
  if (!root) root = json_loads(doc, 0, NULL);
  char *src = strndup((const char *)data, size);
  if (!src) return 0;
  char *err = NULL;
  struct template *t = template_parse(src, &err);
  free(err);
  err = NULL;
  if (t) {
    free(template_exec(t, root, &err));
    free(err);
    err = NULL;
    free(template_exec_as(t, root, true, &err));
    free(err);
  }
  template_free(t);
  free(src);
  return 0;
}
