/* Images in and out as tars (save, load, import), without HTTP. */
#ifndef BERTH_IMAGE_ARCHIVE_H
#define BERTH_IMAGE_ARCHIVE_H

#include "progress.h"
#include "reference.h"
#include "store.h"

/* save: collect the images (404 for a missing name), then write one tar
 * with docker's manifest.json and an OCI layout to fd. */
struct image_save;
struct image_save *image_save_new(void);
int image_save_add(struct image_store *s, struct image_save *c, const char *name,
                   struct berth_err *err);
void image_save_write(struct image_save *c, int fd);
void image_save_free(struct image_save *c);

/* load: the tar from fd extracted into a temporary directory (the path,
 * to be removed with rm_rf by the caller), then its images loaded. */
char *image_load_receive(struct image_store *s, int fd, struct berth_err *err);
int image_load_dir(struct image_store *s, const char *dir, const struct xfer_progress *pr,
                   struct berth_err *err);

/* import: the rootfs tar from fd as a layer (its chain id out) ... */
int image_import_receive(struct image_store *s, int fd, char chain[DIGEST_LEN + 1],
                         struct berth_err *err);
/* ... then a layer already added from the tar (chain), made an image with
 * docker's --change lines and message, tagged ref when not NULL. */
int image_import(struct image_store *s, const char *chain, const char *const *changes,
                 size_t n_changes, const char *message, const struct image_ref *ref,
                 char id[DIGEST_LEN + 1], struct berth_err *err);

#endif
