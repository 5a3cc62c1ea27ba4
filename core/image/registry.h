/* Images to and from registries, through the registry driver (pure
 * transport, driver.h): the core owns manifests, platform selection,
 * digests, retries, concurrency and progress.  Callable without HTTP (the
 * API streams the progress; the builder's FROM will pull). */
#ifndef BERTH_IMAGE_REGISTRY_H
#define BERTH_IMAGE_REGISTRY_H

#include <berth/registry.h>
#include <jansson.h>

#include "../util/util.h"
#include "progress.h"
#include "reference.h"

struct daemon;
struct drv_reg;

#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* registry.c, for pull.c too: every manifest type berth reads, and a
 * config blob fetched into memory (out, host_buf_free) and checked
 * against its digest ("image config verification failed ..."). */
extern const char *const registry_accept_all[];
int registry_get_config(struct drv_reg *s, const char *digest, struct berth_buf *out,
                        struct berth_err *err);

/* pull.c.  platform "os/arch[/variant]" (NULL: the host's); auth NULL:
 * anonymous.  The image id goes to id_out (may be NULL).  A reference
 * with neither tag nor digest pulls every tag the registry lists. */
int image_pull(struct daemon *d, const struct image_ref *ref, const char *platform,
               const struct berth_reg_auth *auth, const struct xfer_progress *pr,
               char id_out[DIGEST_LEN + 1], struct berth_err *err);
/* GET /distribution/{name}/json: the descriptor and platforms */
json_t *image_distribution_inspect(struct daemon *d, const struct image_ref *ref,
                                   const struct berth_reg_auth *auth, struct berth_err *err);

/* push.c: the image named name[:tag] (as given by the client) */
/* What a push of name (and tag) sends: the tag asked for or named ("" for
 * "as asked"), or with neither every tag of the repository (push -a, as
 * docker's); NULL with a 400 for a bad name or a 404 when nothing is there */
char **image_push_tags(struct daemon *d, const char *name, const char *tag, size_t *n,
                       struct berth_err *err);
int image_push(struct daemon *d, const char *name, const char *tag,
               const struct berth_reg_auth *auth, const struct xfer_progress *pr,
               struct berth_err *err);

/* login and search, through the driver's optional ops */
int registry_login(struct daemon *d, const char *server, const char *user, const char *pass,
                   char host_out[256], struct berth_err *err);
json_t *registry_search(struct daemon *d, const char *term, int64_t limit,
                        const struct berth_reg_auth *auth, struct berth_err *err);

#endif
