/* docker's JSON message stream (reference §7.1): the one renderer of the
 * image engines' progress (image/progress.h) onto a streamed reply. */
#ifndef BERTH_API_JSONMESSAGE_H
#define BERTH_API_JSONMESSAGE_H

#include "../image/progress.h"
#include "api.h"

struct jsonmessage {
  int fd;
  bool quiet; /* load -q: no progress bars */
};
/* A sink writing to jm->fd. */
struct xfer_progress jsonmessage_sink(struct jsonmessage *jm);
/* {"errorDetail":{"message":msg},"error":msg} */
void jsonmessage_error(int fd, const char *msg);
/* the progress object: status, id, progressDetail, docker's bar */
json_t *jsonmessage_progress(const char *status, const char *id, uint64_t cur, uint64_t total);

#endif
