/* What berth-shim's files share. */
#ifndef BERTH_SHIM_H
#define BERTH_SHIM_H

#include <jansson.h>

/* shim_host.c: the log driver's configuration as berthd resolved it
 * ({key: text}, borrowed for the shim's lifetime) */
void shim_host_config(json_t *config);

#endif
