/* Image configs: the JSON shapes clients read (Config, ContainerConfig),
 * and Dockerfile-style changes for import and commit. */
#ifndef BERTH_IMAGECONF_H
#define BERTH_IMAGECONF_H

#include <jansson.h>

#include "../util/util.h"

/* A container Config object with every key Docker returns, filled from src
 * (may be NULL).  New reference. */
json_t *imageconf_container_config(json_t *src);
/* Apply one change line ("CMD [\"sh\"]", "ENV A=1", ...) to a config's
 * "config" object. */
int imageconf_apply_change(json_t *config, const char *line, struct berth_err *err);

#endif
