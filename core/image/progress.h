/* What a long image operation (pull, push, load, import) tells a person.
 * The engines call these; one renderer (api/jsonmessage.c) turns them into
 * docker's JSON message stream, and a test can record them.  An engine
 * serialises its calls (its download threads share one sink), so a sink
 * need not be thread-safe.  A NULL sink or NULL member is allowed. */
#ifndef BERTH_IMAGE_PROGRESS_H
#define BERTH_IMAGE_PROGRESS_H

#include <jansson.h>
#include <stdint.h>

struct xfer_progress {
  void *ctx;
  /* a status line about one layer (id: 12 hex) or the whole (id NULL) */
  void (*status)(void *ctx, const char *id, const char *text);
  /* bytes moved for a layer: "Downloading", "Pushing", "Loading layer" */
  void (*bytes)(void *ctx, const char *action, const char *id, uint64_t cur, uint64_t total);
  /* a line of output, as docker's {"stream": ...} (load: "Loaded image: x\n") */
  void (*stream)(void *ctx, const char *text);
  /* extra data, as docker's {"aux": ...} (push: Tag, Digest, Size); steals */
  void (*aux)(void *ctx, json_t *aux);
};

void xfer_status(const struct xfer_progress *p, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void xfer_bytes(const struct xfer_progress *p, const char *action, const char *id, uint64_t cur,
                uint64_t total);
void xfer_stream(const struct xfer_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void xfer_aux(const struct xfer_progress *p, json_t *aux);

#endif
