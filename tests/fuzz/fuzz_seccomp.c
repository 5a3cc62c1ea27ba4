/* libFuzzer: seccomp profiles in docker's JSON format
 * (core/runtime/seccomp.c) — the check berthd makes of a profile, then the
 * whole build to BPF (never loaded). */
#include "../../core/runtime/runtime.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = strndup((const char *)data, size);
  if (!s) return 0;
  struct berth_err err = {0};
  if (rt_seccomp_check_profile(s, &err) == 0) {
    size_t len = 0;
    free(rt_seccomp_compile(s, rt_caps_from_names(NULL, 0, NULL, 0), &len, &err));
  }
  free(s);
  return 0;
}
