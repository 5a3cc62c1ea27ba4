/* libFuzzer: image references (core/image/reference.c) — parse with and
 * without the default tag, then render every form of a parsed one. */
#include "../../core/image/reference.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = strndup((const char *)data, size);
  if (!s) return 0;
  for (int def = 0; def < 2; def++) {
    struct image_ref r;
    struct berth_err err = {0};
    if (ref_parse(s, def, &r, &err) < 0) continue;
    char *forms[] = {ref_repo_canonical(&r), ref_repo_familiar(&r), ref_familiar(&r),
                     ref_canonical(&r)};
    for (size_t i = 0; i < 4; i++) {
      char *back = ref_familiarize(forms[i]);
      free(back);
      free(forms[i]);
    }
    ref_free(&r);
  }
  ref_valid_tag(s);
  free(s);
  return 0;
}
