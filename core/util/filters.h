/* The filters= of a listing or a prune, as docker's api/types/filters has
 * them: parsed once from the query into keys and their values, checked
 * against what the listing accepts, and matched the way docker matches
 * (exact, prefix, regular expression, label lists).  Messages and HTTP
 * classes are dockerd 20.10's. */
#ifndef BERTH_FILTERS_H
#define BERTH_FILTERS_H

#include <jansson.h>
#include <regex.h>

#include "util.h"

struct filter_key {
  char *name;
  char **vals;
  size_t n;
  regex_t *re; /* compiled at the first filters_match, one per value */
  bool *re_ok; /* false: the value is not a valid expression (it never matches) */
};

struct filters {
  struct filter_key *keys;
  size_t n;
};

/* filters= as docker's clients send it, {"key": {"value": true}}, or the
 * older {"key": ["value"]}; NULL or "" is no filter.  A value's boolean
 * is not looked at (docker's neither).  Bad JSON: -1, a 500 as dockerd's. */
int filters_parse(const char *query, struct filters *f, struct berth_err *err);
void filters_free(struct filters *f);

/* -1 and "Invalid filter '<key>'" (400) for a key not in accepted
 * (NULL-terminated) */
int filters_check(const struct filters *f, const char *const *accepted, struct berth_err *err);

const struct filter_key *filters_get(const struct filters *f, const char *key);
static inline bool filters_has(const struct filters *f, const char *key) {
  return filters_get(f, key) != NULL;
}
/* docker's Get printed by %s: "[a b]" */
char *filters_text(const struct filters *f, const char *key);

/* Each is true when key has no value; else as named: a value equal to s
 * (ExactMatch), a value s starts with (FuzzyMatch), a value equal or an
 * extended regular expression found in s (Match). */
bool filters_exact(const struct filters *f, const char *key, const char *s);
bool filters_prefix(const struct filters *f, const char *key, const char *s);
bool filters_match(struct filters *f, const char *key, const char *s);
/* MatchKVList: every value "k" or "k=v" names a label of labels (an
 * object of strings) with that value */
bool filters_labels(const struct filters *f, const char *key, json_t *labels);

/* A prune's: label (all must match) and label! (none may); until, as
 * docker's GetTimestamp takes it (a Go duration back from now, a date or
 * RFC 3339 time, unix seconds), in ns; INT64_MAX when absent. */
bool filters_prune_labels(const struct filters *f, json_t *labels);
int filters_until(const struct filters *f, int64_t *until_ns, struct berth_err *err);

#endif
