/* Image references, parsed and normalised the way Docker does:
 *   busybox            -> docker.io/library/busybox:latest
 *   user/app:1         -> docker.io/user/app:1
 *   host:5000/a/b      -> host:5000/a/b:latest
 *   name@sha256:<hex>  -> digest reference (no default tag)  */
#ifndef BERTH_REFERENCE_H
#define BERTH_REFERENCE_H

#include <stdbool.h>

#include "../util/util.h"

struct image_ref {
  char *domain; /* "docker.io", "localhost:5000" */
  char *path;   /* "library/busybox" */
  char *tag;    /* NULL when a digest is given without a tag */
  char *digest; /* "sha256:<hex>" or NULL */
};

/* Parse s; default_tag adds "latest" when there is neither tag nor digest.
 * Errors use Docker's wording ("invalid reference format..."). */
int ref_parse(const char *s, bool default_tag, struct image_ref *out, struct berth_err *err);
void ref_free(struct image_ref *r);
/* "docker.io/library/busybox" */
char *ref_repo_canonical(const struct image_ref *r);
/* "busybox", "user/app", "host:5000/a/b" */
char *ref_repo_familiar(const struct image_ref *r);
/* Familiar with ":tag" or "@digest": "busybox:latest" */
char *ref_familiar(const struct image_ref *r);
/* Canonical with ":tag" or "@digest" */
char *ref_canonical(const struct image_ref *r);
/* Familiar form of a stored canonical reference string. */
char *ref_familiarize(const char *canonical);
/* The name moby's "No such image: X" gives for what a client asked:
 * the familiar reference with the default tag ("busybox:latest"), or s
 * itself when it is no reference.  A new string. */
char *ref_not_found_name(const char *s);
/* True if s is a valid tag. */
bool ref_valid_tag(const char *s);

#endif
