/* libFuzzer: .dockerignore (core/build/ignore.c) — the input's first line
 * is a path to match, the rest the patterns. */
#include "../../core/build/ignore.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = strndup((const char *)data, size);
  if (!s) return 0;
  char *nl = strchr(s, '\n');
  const char *patterns = nl ? nl + 1 : "";
  if (nl) *nl = 0;
  struct ignore *ig = ignore_parse(patterns);
  ignore_match(ig, s);
  ignore_match(ig, "a/b/c");
  ignore_free(ig);
  free(s);
  return 0;
}
