/* A container's output to clients: attach (live, through the shim) and
 * logs (the log driver's store, followed).  Both run on a thread of the
 * HTTP layer's and write docker's stream format to an fd. */
#ifndef BERTH_CTR_STREAM_H
#define BERTH_CTR_STREAM_H

#include "../util/util.h"

struct daemon;
struct container;

/* attach.c.  ctr_attach_new takes over the caller's reference to c (NULL
 * and a 400 for bad detach keys: the caller keeps it).  Made before the
 * 101 goes out: a start that comes next waits for this attach. */
struct ctr_attach;
struct ctr_attach *ctr_attach_new(struct daemon *d, struct container *c, bool in, bool out,
                                  bool err, const char *detach_keys, struct berth_err *e);
bool ctr_attach_tty(const struct ctr_attach *a);
/* the session (an api_hijack_fn), then the free (its ctx_free) */
void ctr_attach_run(int sock, const char *extra, size_t extra_len, void *a);
void ctr_attach_free(void *a);

/* docker's detach keys in a stdin stream (attach and exec): the bytes to
 * pass on go to out (room for n + 16), a partial match held back until it
 * can no longer match; *hit when the whole sequence came (what follows it
 * is dropped). */
struct detach_match {
  unsigned char keys[16];
  size_t n_keys, matched;
};
size_t detach_scan(struct detach_match *m, const unsigned char *in, size_t n, unsigned char *out,
                   bool *hit);

/* logs.c */
struct ctr_logs {
  struct daemon *d;
  struct container *c; /* a reference, put by ctr_logs_stream */
  bool follow, out, err, timestamps, tty;
  bool details;               /* each line after the attributes its --log-opt labels/env name */
  int64_t since, until, tail; /* ns, ns, lines (-1 all) */
  int poll_ms;                /* follow: how soon an exit is seen; 0: 100 ms */
  bool (*gone)(int fd);       /* follow: has fd's reader gone? NULL: fd's own hang-up */
};
/* 501 if the container's log driver cannot be read; 400 without a stream */
int ctr_logs_check(struct daemon *d, struct container *c, const struct ctr_logs *l,
                   struct berth_err *err);
/* Write the log (framed unless tty) to fd until it ends, or with follow
 * until the container has stopped and the log is drained or fd closes.
 * Frees l (an api_producer_fn). */
void ctr_logs_stream(int fd, void *l);

#endif
