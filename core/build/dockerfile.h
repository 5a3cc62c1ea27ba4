/* The Dockerfile, read as docker's classic builder reads it (dockerfile.c):
 * parser directives (escape, syntax), comments, line continuations, JSON
 * and shell forms, --flags; and the word rules the builder applies later
 * (variable substitution with ARG/ENV, quotes, key=value lists).  No HTTP
 * and no daemon in here: the builder (builder.c) calls it. */
#ifndef BERTH_BUILD_DOCKERFILE_H
#define BERTH_BUILD_DOCKERFILE_H

#include <jansson.h>

#include "../util/util.h"

struct df_flag {
  char *name, *value; /* --from=x: "from", "x" */
};

struct df_instr {
  int line;       /* where it starts */
  char *cmd;      /* the keyword, lower case: "run", "copy", ... */
  char *original; /* the line as written, continuations joined (history, errors) */
  char *rest;     /* what follows the keyword and the flags, trimmed */
  bool json;      /* rest was a JSON array of strings: in args */
  char **args;    /* json: the array; else NULL */
  size_t n_args;
  struct df_flag *flags;
  size_t n_flags;
};

struct dockerfile {
  char escape; /* '\\' or '`' */
  struct df_instr *v;
  size_t n;
};

/* Parse text; errors are docker's: "dockerfile parse error line N: ..."
 * (EINVAL).  An empty file is "the Dockerfile (Dockerfile) cannot be empty". */
int df_parse(const char *text, size_t len, struct dockerfile *out, struct berth_err *err);
void df_free(struct dockerfile *df);
/* the value of --name, or NULL */
const char *df_flag(const struct df_instr *in, const char *name);

/* Variables for substitution: a JSON object of strings (ENV over ARG, as
 * the builder merges them). */
/* One word list as the builder's shell lexer reads it: words split on
 * blanks outside quotes, quotes removed, $VAR ${VAR} ${VAR:-x} ${VAR:+x}
 * expanded (not inside single quotes), the escape character escaping.
 * NULL (with err) on an unterminated quote or a bad ${...}. */
char **df_words(const char *s, char escape, json_t *vars, size_t *n, struct berth_err *err);
void df_words_free(char **w, size_t n);
/* The same for one word (no splitting: blanks kept). */
char *df_expand(const char *s, char escape, json_t *vars, struct berth_err *err);
/* ENV/LABEL/ARG pairs (what: the instruction, for errors): "k=v k2='v 2'"
 * or the old "k v v v" form (ENV, LABEL only: allow_old), into obj (in
 * order). */
int df_pairs(const char *what, const char *s, char escape, json_t *vars, bool allow_old,
             json_t *obj, struct berth_err *err);
/* What dockerd's parser refuses before any step runs, in its words: an
 * instruction before the first FROM ("no build stage in current context"),
 * FROM's words as written, unknown flags, HEALTHCHECK's durations and
 * retries, ONBUILD ONBUILD/FROM/MAINTAINER, COPY/ADD with one argument,
 * SHELL not in JSON form, ENV and LABEL pairs ("failed to parse
 * Dockerfile: LABEL must have two arguments") */
int df_check(const struct dockerfile *df, struct berth_err *err);
/* One line of commit's or import's --change as an instruction, parsed and
 * checked as df_parse and df_check do one, its refusals in dockerd's words
 * for a change (no "dockerfile parse error line N: ").  df_free it. */
int df_parse_change(const char *text, struct dockerfile *out, struct berth_err *err);
/* A HEALTHCHECK instruction (df_check'ed) as the image config's
 * Healthcheck: Test (NONE, CMD, CMD-SHELL) and the flags given; NULL with
 * docker's error for another type */
json_t *df_healthcheck(const struct df_instr *in, struct berth_err *err);

#endif
