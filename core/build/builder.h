/* Builds: a Dockerfile run as docker's classic builder runs it (builder.c,
 * steps.c).  Every RUN in a container made by the container code; every
 * COPY/ADD a layer of its own, written from the build context straight into
 * the store; every other instruction a config-only image (history
 * "empty_layer").  A step is reused when an image with the same parent and
 * the same history line exists (the line carries what the step depends on:
 * the expanded arguments, the build args a RUN sees, a checksum of what a
 * COPY copies).  No HTTP in here: core/api/build.c parses and renders. */
#ifndef BERTH_BUILD_BUILDER_H
#define BERTH_BUILD_BUILDER_H

#include <jansson.h>

#include "../daemon.h"

/* where the build says what it does: the text of docker's legacy builder
 * ("Step 1/3 : FROM busybox\n", " ---> 1234\n", a RUN's output), and aux
 * records ({"ID": "sha256:…"}) */
struct build_out {
  void (*text)(void *ctx, const char *s, size_t len);
  void (*aux)(void *ctx, json_t *aux); /* steals aux */
  bool (*gone)(void *ctx);             /* the client went away: the build is cancelled */
  void *ctx;
};

struct build_opts {
  const char *dockerfile; /* in the context; NULL: "Dockerfile" */
  json_t *tags;           /* strings, or NULL */
  json_t *buildargs;      /* object of strings (a null value: take the environment's? no: unset) */
  json_t *labels;         /* object of strings, added to the final image */
  const char *target;     /* stop after this stage, or NULL */
  const char *network;    /* RUN's network mode, or NULL (the default network) */
  bool nocache, pull, quiet, forcerm;
};

/* Build from the context whose directory ctxfd is (O_PATH; the caller's);
 * *id the final image.  Errors
 * are docker's ("The command '/bin/sh -c false' returned a non-zero code: 1",
 * "dockerfile parse error line N: …"). */
int build_image(struct daemon *d, int ctxfd, const struct build_opts *o,
                const struct build_out *out, char id[DIGEST_LEN + 1], struct berth_err *err);

/* What can be refused before the build's output begins (dockerd answers
 * these with an HTTP error, not in the stream): the Dockerfile found and
 * parsed, df_check's refusals. */
int build_check(int ctxfd, const struct build_opts *o, struct berth_err *err);

/* the context tar read from fd (plain or compressed; entries that would
 * leave it refused) into a new directory under <data-root>/build: its path
 * (the caller removes it with rm_rf) */
char *build_receive(struct daemon *d, int fd, struct berth_err *err);
/* A context by reference (berth's own CLI on this host, as root): the
 * directory path as process pid sees it, opened inside that process's root
 * and read in place, nothing copied.  An O_PATH fd, or -code with err. */
int build_context_of(pid_t pid, const char *path, struct berth_err *err);

#endif
