/* Handlers shared between the image API files. */
#ifndef BERTH_API_IMAGES_H
#define BERTH_API_IMAGES_H

#include "../daemon.h"
#include "../image/list.h"
#include "routes.h"

json_t *image_inspect_json(struct daemon *d, struct image *im); /* caller holds images.lock */

/* transfer.c: save, load, import */
int image_save(struct api_request *req);
int image_load(struct api_request *req);
int image_load_consume(struct api_request *req, int fd);
int image_create(struct api_request *req);
int image_create_consume(struct api_request *req, int fd);
/* registry.c: POST /images/create?fromImage= */
int api_image_pull(struct api_request *req, const char *from);

#endif
