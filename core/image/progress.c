#include "progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void xfer_status(const struct xfer_progress *p, const char *id, const char *fmt, ...) {
  if (!p || !p->status) return;
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  p->status(p->ctx, id, text);
}

void xfer_bytes(const struct xfer_progress *p, const char *action, const char *id, uint64_t cur,
                uint64_t total) {
  if (p && p->bytes) p->bytes(p->ctx, action, id, cur, total);
}

void xfer_stream(const struct xfer_progress *p, const char *fmt, ...) {
  if (!p || !p->stream) return;
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  p->stream(p->ctx, text);
}

void xfer_aux(const struct xfer_progress *p, json_t *aux) {
  if (p && p->aux)
    p->aux(p->ctx, aux);
  else
    json_decref(aux);
}
