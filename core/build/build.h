/* What builder.c and steps.c share: the state of a build and of its stages. */
#ifndef BERTH_BUILD_BUILD_H
#define BERTH_BUILD_BUILD_H

#include "builder.h"
#include "dockerfile.h"
#include "ignore.h"

struct bstage {
  char name[256];          /* FROM … AS name, lower case; "" none */
  char id[DIGEST_LEN + 1]; /* its image so far; "" for scratch before any step */
  json_t *img;             /* that image's JSON (config, rootfs, history, …) */
  json_t *args;            /* the ARGs declared in it, with their values */
  bool cmd_set;            /* CMD given in this stage (ENTRYPOINT keeps it) */
};

struct build {
  struct daemon *d;
  const struct build_opts *o;
  const struct build_out *out;
  int ctxfd; /* O_PATH of the context's root */
  struct ignore *ig;
  struct dockerfile df;
  json_t *meta_args; /* ARGs before the first FROM */
  json_t *used_args; /* build args some ARG took */
  struct bstage *st;
  size_t n_st;
  int step, n_steps;
  bool cancel_logged; /* berthd's log says once why the build ended */
};

void bsay(struct build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 0, or an error once the client went away or berthd stops (as docker's
 * "context canceled"): checked before each step and while a RUN waits */
int bcancelled(struct build *b, struct berth_err *err);
/* the variables a step's words see: the stage's ARGs, then its ENV over them */
json_t *bvars(struct bstage *s);
/* the image's config object (made when missing) */
json_t *bconfig(struct bstage *s);
/* "<the SHELL in force> #(nop) ": how docker's history begins a step that
 * ran nothing (the caller frees it) */
char *bnop(struct bstage *s);
/* s becomes image id (its JSON loaded from the store) */
int bstage_set(struct build *b, struct bstage *s, const char *id, struct berth_err *err);
/* an image made earlier by the same step: the child of s's image whose last
 * history line is created_by; true and s moved onto it ("Using cache") */
bool bcache(struct build *b, struct bstage *s, const char *created_by);
/* a new image: s's with the config as it is now and one more history line
 * (diff_id: the layer it adds, or NULL for a config-only step) */
int bcommit(struct build *b, struct bstage *s, const char *created_by, const char *diff_id,
            struct berth_err *err);

/* an image of nothing: FROM scratch */
json_t *bscratch(void);
/* CMD/ENTRYPOINT/RUN's command: the JSON array, or SHELL + the text */
json_t *bcommand(struct bstage *s, const struct df_instr *in);
/* a config-only instruction (ENV, LABEL, CMD, …, WORKDIR): cached or made */
int bmeta_step(struct build *b, struct bstage *s, const struct df_instr *in, struct berth_err *err);

/* steps.c */
int step_run(struct build *b, struct bstage *s, const struct df_instr *in, struct berth_err *err);
int step_copy(struct build *b, struct bstage *s, const struct df_instr *in, bool add,
              struct berth_err *err);
/* WORKDIR's directory, made in a layer when the image lacks it; line: the
 * step's history line */
int step_mkdir(struct build *b, struct bstage *s, const char *dir, const char *line,
               struct berth_err *err);

#endif
