/* Go's text/template, the part docker's --format is written in (template.c):
 * text and {{actions}} with the {{- and -}} trims and comments; pipelines
 * of fields (.A.B, $, $x.A), literals, (sub pipelines) and functions; if /
 * else if / else, range (arrays, and maps in key order, with $i, $v :=),
 * with, and {{$x := ...}}; Go's functions (and or not len index print
 * printf println eq ne lt le gt ge) and docker's (json join split title
 * lower upper pad truncate).  The data is JSON: a member missing prints
 * <no value>, as with docker's raw fallback, rather than failing. */
#ifndef BERTH_CLI_TEMPLATE_H
#define BERTH_CLI_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>

struct template;

/* NULL and *err (malloc'd, Go's words: "template: :1: function \"x\" not
 * defined") when src does not parse */
struct template *template_parse(const char *src, char **err);
/* src run on dot, malloc'd; NULL and *err when it fails ("template: :1:
 * executing \"\" at <index .A 1>: error calling index: ...") */
char *template_exec(const struct template *t, json_t *dot, char **err);
/* header: a table's header row, as docker makes it (dot holds each field's
 * title; json, join, lower, upper, split, title, pad and truncate give their
 * operand back: "table {{json .Names}}" is headed NAMES, not "NAMES") */
char *template_exec_as(const struct template *t, json_t *dot, bool header, char **err);
void template_free(struct template *t);

#endif
