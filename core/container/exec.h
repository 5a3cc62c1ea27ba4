/* exec: processes started inside a running container.  The table of exec
 * instances has its own lock; a record lives, reference-counted, until
 * its container is removed (at most EXEC_KEEP_DONE finished ones per
 * container are kept for inspect).  berthd builds the spec and starts
 * berth-shim's exec helper from the sealed copy of the shim
 * (shim/launch.c); the helper joins the container and runs the process
 * (shim/shim_exec.c).  berthd itself never enters a container. */
#ifndef BERTH_EXEC_H
#define BERTH_EXEC_H

#include <jansson.h>
#include <sys/types.h>

#include "../util/util.h"

struct container;

#define EXEC_KEEP_DONE 64

/* What POST /containers/{id}/exec asks for. */
struct exec_opts {
  json_t *cmd; /* array of strings, not empty */
  json_t *env; /* array of "K=V" or NULL */
  const char *user, *workdir;
  bool tty, attach_stdin, attach_stdout, attach_stderr, privileged;
  const char *detach_keys; /* NULL or "": docker's ctrl-p,ctrl-q */
  const char *ref;         /* the container as the client named it, or NULL */
};

enum exec_state { EXEC_CREATED, EXEC_STARTING, EXEC_RUNNING, EXEC_DONE };

struct exec_proc {
  char id[65];
  struct container *c; /* a reference */
  json_t *cmd, *env;
  char *user, *workdir;
  bool tty, attach_stdin, attach_stdout, attach_stderr, privileged;
  char *detach_keys;      /* as given, for inspect */
  unsigned char keys[16]; /* parsed */
  size_t n_keys;
  int64_t created_ns;
  /* under the exec lock */
  enum exec_state state;
  int exit_code;
  pid_t pid;
  int pty;
  int refs;
};

/* 409 unless the container runs; the new id in id_out. */
int exec_create(struct container *c, const struct exec_opts *o, char id_out[65],
                struct berth_err *err);
/* By full id or a unique prefix of 12+; takes a reference (NULL: 404). */
struct exec_proc *exec_get(const char *id);
void exec_put(struct exec_proc *e);
int exec_exit_code(struct exec_proc *e); /* once exec_finish has recorded it */
/* The container is being removed: its exec records leave the table. */
void exec_forget_container(const struct container *c);
size_t exec_count(void);
/* Is pid one of c's running exec helpers?  They sit in the container's
 * cgroup while their process runs, but are berth's, not the container's:
 * top leaves them out, as docker's shows no runc or shim process. */
bool exec_is_helper(const struct container *c, pid_t pid);
/* How many of them run now: stats' PIDS leaves them out, as top does. */
size_t exec_helpers_running(const struct container *c);

json_t *exec_inspect_json(struct exec_proc *e);
void exec_resize(struct exec_proc *e, int h, int w);

/* A started exec: the helper and the ends of its stdio. */
struct exec_io {
  int in_w, out_r, err_r, pty, errp_r;
  int status_r;     /* the helper's report of the process's wait status */
  pid_t pid;        /* the helper; 0 once reaped */
  int64_t trace_t0; /* BERTH_TRACE: when the helper was spawned */
};

/* Claim the start (409 "already running" for the second caller), then
 * spawn the helper.  On a spawn failure the exec is recorded as done with
 * 126 and -code returned. */
int exec_start(struct exec_proc *e, bool attach, struct exec_io *io, struct berth_err *err);
/* the start request's Tty (docker-py sends it there), before the start */
void exec_set_tty(struct exec_proc *e, bool tty);
/* Record the exit code (the helper's report, else its own exit), then
 * reap the helper: exec_record and exec_reap, for a caller with nothing
 * to do between them. */
void exec_finish(struct exec_proc *e, struct exec_io *io);
void exec_record(struct exec_proc *e, struct exec_io *io);
void exec_reap(struct exec_io *io);

/* Stream a started exec over sock until it ends: stdout/stderr framed
 * (unless raw) and, when with_stdin, the socket's input (extra first) to
 * the process.  Records the exit before the stream closes. */
void exec_session(int sock, const char *extra, size_t extra_len, struct exec_proc *e,
                  struct exec_io *io, bool raw, bool with_stdin);
/* The message of a start that failed, as docker sends it after the 101. */
void exec_session_error(int sock, const char *msg, bool raw);

#endif
