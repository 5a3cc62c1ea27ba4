/* libFuzzer: the Dockerfile parser and the builder's word rules
 * (core/build/dockerfile.c) — parse, then expand every instruction's
 * original text with a few variables. */
#include "../../core/build/dockerfile.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct dockerfile df;
  struct berth_err err = {0};
  if (df_parse((const char *)data, size, &df, &err) == 0) {
    df_check(&df, &err);
    df_free(&df);
  }
  char *s = strndup((const char *)data, size);
  if (!s) return 0;
  json_t *vars = json_pack("{s:s,s:s}", "A", "1", "HOME", "/root");
  for (int esc = 0; esc < 2; esc++) {
    char e = esc ? '`' : '\\';
    size_t n = 0;
    char **w = df_words(s, e, vars, &n, &err);
    if (w) df_words_free(w, n);
    free(df_expand(s, e, vars, &err));
    json_t *obj = json_object();
    df_pairs("ENV", s, e, vars, true, obj, &err);
    json_decref(obj);
  }
  json_decref(vars);
  free(s);
  return 0;
}
