/* GET /images/json and POST /images/prune: the store's images as docker
 * lists and prunes them, docker's filters applied (daemon/images). */
#ifndef BERTH_IMAGE_LIST_H
#define BERTH_IMAGE_LIST_H

#include "../util/filters.h"
#include "store.h"

/* the image's tags (or digests), familiar; caller holds s->lock */
json_t *image_tags_json(struct image_store *s, const char *id, bool digests);
/* docker's image summary (the listing's entries, system df's); caller
 * holds s->lock */
json_t *image_summary_json(struct image_store *s, struct image *im);

/* the listing, newest first; all: the intermediate images of a build too.
 * Filters dangling, label, before, since, reference. */
json_t *image_list(struct image_store *s, struct filters *f, bool all, struct berth_err *err);
/* {"ImagesDeleted", "SpaceReclaimed"}; filters dangling (false: every
 * image no container uses), label, label!, until */
json_t *image_prune(struct image_store *s, struct filters *f, struct berth_err *err);

#endif
