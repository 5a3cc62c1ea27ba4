/* A JSON array of objects read keeping only some members of each (jpick.c):
 * the listing bodies (GET /containers/json) carry much the CLI never
 * shows (NetworkSettings, HostConfig...), and building all of it with
 * jansson took 18 ms for 1,000 containers. */
#ifndef BERTH_CLI_JPICK_H
#define BERTH_CLI_JPICK_H

#include <jansson.h>
#include <stddef.h>

/* The array in text[0..len) with each element reduced to the members named
 * in keep (NULL-terminated); an element that is not an object is kept
 * whole.  NULL when the text is not a JSON array. */
json_t *jpick_array(const char *text, size_t len, const char *const *keep);

#endif
