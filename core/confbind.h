/* Driver configuration values (struct berth_conf_key) from text: the one
 * parser of booleans, integers and sizes, shared by berthd's host table
 * (daemon.conf, defaults) and berth-shim's (the values berthd resolved),
 * so a driver gets the same values in both processes. */
#ifndef BERTH_CONFBIND_H
#define BERTH_CONFBIND_H

#include <berth/plugin.h>
#include <stdbool.h>

/* "512", "64k", "1.5m", "1g", "10MB": bytes; -1 if not a size (or 2^64 and over) */
int conf_parse_size(const char *s, uint64_t *out);
/* Store the value of text into target at k->offset.  -code with err. */
int conf_bind_text(const struct berth_conf_key *k, void *target, const char *text,
                   struct berth_err *err);
/* The bound value back as canonical text ("true", "65536", the string);
 * false when there is none (a string key with no value). */
bool conf_canonical(const struct berth_conf_key *k, const void *target, char *out, size_t len);

/* Key i of a plugin's table, copied into a zeroed struct of this build's
 * size: tables are walked with the element size the plugin was built with
 * (keys[0].struct_size), so a table from another minor is read right.
 * -1 when the table's element size is too small to be a 1.0 key. */
int conf_key_at(const struct berth_conf_key *keys, size_t i, struct berth_conf_key *out,
                struct berth_err *err);

#endif
