/* libFuzzer: a container create body as the Engine API receives it
 * (core/container/validate.c, config.c) — docker's type checks, then the
 * typed options berth runs a container from. */
#include "../../core/container/config.h"
#include "../../core/container/container.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* the container table is not part of what is fuzzed: its lock, for
 * ctr_opts_get/set, which this target does not reach */
void ctr_lock(void) {}
void ctr_unlock(void) {}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_t *body = json_loadb((const char *)data, size, 0, NULL);
  if (!json_is_object(body)) {
    json_decref(body);
    return 0;
  }
  struct berth_err err = {0};
  if (ctr_validate_create(body, &err) == 0) {
    json_t *hc = json_object_get(body, "HostConfig");
    struct ctr_opts *o = ctr_opts_parse(body, json_is_object(hc) ? hc : NULL, &err);
    ctr_opts_put(o);
  }
  json_decref(body);
  return 0;
}
