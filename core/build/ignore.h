/* .dockerignore, with docker's rules (ignore.c): one pattern a line, '#'
 * comments, blank lines skipped, a leading '!' re-includes, each pattern
 * cleaned and taken relative to the context's root, Go's filepath.Match
 * syntax per path component (* ? [..] and '\\' escapes) plus "**" for any
 * number of directories; a pattern that matches a directory matches what is
 * below it; the last pattern that matches a path decides. */
#ifndef BERTH_BUILD_IGNORE_H
#define BERTH_BUILD_IGNORE_H

#include <stdbool.h>

struct ignore;
struct ignore *ignore_parse(const char *text); /* text may be NULL: nothing ignored */
/* path: relative to the context, '/'-separated, without "./" */
bool ignore_match(const struct ignore *ig, const char *path);
void ignore_free(struct ignore *ig);

#endif
