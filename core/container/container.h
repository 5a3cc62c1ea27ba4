/* Containers: records, persistence, names, the state machine, and the
 * lifecycle driven through berth-shim.  One lock guards the table; one
 * condition variable announces every state change. */
#ifndef BERTH_CONTAINER_H
#define BERTH_CONTAINER_H

#include <jansson.h>
#include <pthread.h>

#include "../network/network.h"
#include "../util/util.h"

struct daemon;
struct ctr_opts;

enum ctr_status {
  CTR_CREATED,
  CTR_RUNNING,
  CTR_PAUSED,
  CTR_RESTARTING,
  CTR_REMOVING,
  CTR_EXITED,
  CTR_DEAD
};

struct container {
  char id[65];
  char *summary;         /* ps's cached JSON, without State and Status (ctr_summary_append) */
  uint64_t summary_gen;  /* the ctr_summaries_changed generation it was made in */
  uint64_t summary_net;  /* and net_generation's */
  char *name;            /* with the leading '/' */
  json_t *config;        /* Config, as stored: for inspect */
  json_t *host_config;   /* HostConfig, as stored: for inspect */
  struct ctr_opts *opts; /* both, typed (config.h): what the code reads */
  json_t *net_config;    /* NetworkingConfig */
  json_t *mounts;        /* docker's MountPoints, made at create (mounts.c) */
  char image_id[72];
  int64_t created_ns;
  char rw_id[65];   /* storage id of the read-write layer */
  char *parent_sid; /* storage id of the image's top layer, NULL if none */

  enum ctr_status status;
  pid_t pid;
  int exit_code;
  bool oom_killed;
  char error[512];
  int64_t started_ns, finished_ns;
  int restart_count;
  bool stopped_by_user; /* for unless-stopped and on-failure */
  uint64_t exits;       /* increments at every exit, for wait next-exit */
  bool removed;
  bool unsaved;  /* its last ctr_save failed (a full disk): ctr_save_unsaved tries again */
  bool removing; /* a remove owns the container */

  /* where its layer is mounted: NULL before the first mount; replaced by a
   * start (under ctr_lock), kept after an unmount (mounted says whether it
   * is).  A pointer: a 4 KiB buffer here was a quarter of what each
   * container costs berthd */
  char *rootfs;
  bool mounted;
  bool unmounting;    /* unmount_rootfs under way (the exit monitor's or rm's) */
  int pending_attach; /* attach clients waiting for the shim */
  uint64_t shim_gen;  /* increments when a new shim is ready */
  bool shim_ready;
  bool start_in_progress;
  enum { AHEAD_NONE, AHEAD_MAKING, AHEAD_READY } ahead; /* a start made ahead (lifecycle.c) */
  pid_t ahead_pid;                                      /* its init, held before its exec */
  pid_t ahead_tid;                                      /* the thread making it (nice 10) */
  int refs;
  struct net_endpoint *eps; /* its addresses and plumbing while it runs (netctr.h) */
  size_t n_eps;
  bool net_busy;       /* netctr.c is changing them */
  json_t *ports;       /* its published ports while it runs: NetworkSettings.Ports */
  char netns_of[65];   /* --network container:<id>: whose namespace it joins, at start */
  json_t *health;      /* State.Health (health.c); NULL without a health check */
  uint64_t health_gen; /* a new one ends the running health monitor */
};

/* docker's State.Running: the process is there, paused or not */
static inline bool ctr_is_running(const struct container *c) {
  return c->status == CTR_RUNNING || c->status == CTR_PAUSED;
}

/* table */
void ctr_init(struct daemon *d);
/* network namespaces made ahead (netns.c), lo up: take one (an fd the
 * caller owns) for a container with a network of its own, or -1 (none
 * ready: its init makes its own) */
void ctr_netns_start(void);
int ctr_netns_take(void);
/* the mount namespace shims clone inits from (mntns.c): made in the
 * background at start-up; -1 until then, or if it cannot be made */
void ctr_mntns_start(struct daemon *d);
int ctr_mntns_fd(void);
void ctr_lock(void);
void ctr_unlock(void);
void ctr_broadcast(void);
/* wait on the state condition with ctr_lock held; timeout_ms < 0: forever.
 * Returns false on timeout. */
bool ctr_wait(int timeout_ms);
/* berthd is going down: waits and pending attaches give up. */
extern volatile bool ctr_stopping;
void ctr_shutdown(void);
/* lookup by full id, unique id prefix, name or /name; takes a reference */
struct container *ctr_get(const char *ref);
void ctr_put(struct container *c);
/* its process's pid while it runs (or is paused), 0 otherwise: what a
 * container that joins its namespaces needs (--pid/--ipc/--network
 * container:) */
pid_t ctr_running_pid(struct container *c);
struct container **ctr_list(size_t *n); /* references; free with ctr_put each + free */

/* The table and the names, for container.c and lifecycle.c; _locked: with
 * ctr_lock held. */
void ctr_table_add(struct container *c);
void ctr_table_add_locked(struct container *c);
void ctr_table_remove_locked(struct container *c);
void ctr_name_reserve_locked(const char *name);
void ctr_name_release_locked(const char *name);
bool ctr_name_taken_locked(const char *name, const struct container *except, char id_out[65]);

const char *ctr_status_name(enum ctr_status s);
/* `ps`: the container's summary as JSON appended to *buf (of *len bytes,
 * grown with xrealloc).  All but State and Status (made fresh) is kept as
 * text until ctr_summaries_changed: ctr_save and every change of a network
 * call it, so a listing with nothing changed costs a copy per container. */
void ctr_summary_append(struct daemon *d, struct container *c, char **buf, size_t *len);
void ctr_summaries_changed(void);
/* text appended to such a buffer (NULL and 0 to begin with) */
void ctr_append_text(char **buf, size_t *len, const char *s);
char *ctr_status_text(const struct container *c); /* "Up 2 seconds" ... */

/* GET /containers/json (list.c): the listing as JSON text, newest first,
 * docker's filters applied; NULL and docker's error for a bad filter */
struct filters;
struct ctr_list_query {
  bool all, size;
  int64_t limit;
  struct filters *f;
};
char *ctr_listing(struct daemon *d, const struct ctr_list_query *q, struct berth_err *err);

/* Docker's 400s for a create body: every field of the right JSON type,
 * values in range.  Normalises a string Cmd/Entrypoint to a one-element
 * array, as docker's strslice does. (validate.c) */
int ctr_validate_create(json_t *body, struct berth_err *err);

/* lifecycle: each returns 0 or -code with err; caller holds no lock */
int ctr_create(struct daemon *d, const char *name, json_t *body, char out_id[65], json_t *warnings,
               struct berth_err *err);
/* 0 started, 1 already running (304) */
int ctr_start(struct daemon *d, struct container *c, struct berth_err *err);
/* a start made ahead undone (its init killed before its exec, its rootfs
 * unmounted): by whatever changes a created container other than its
 * start (rename, update, a network, cp, export, commit) */
void ctr_ahead_drop(struct daemon *d, struct container *c);
struct rt_user;
struct ctr_opts;
/* o's --group-add added to ru's groups, names looked up under rootfd */
int ctr_add_groups(int rootfd, const struct ctr_opts *o, struct rt_user *ru, struct berth_err *err);
/* 0 stopped, 1 was not running (304) */
int ctr_stop(struct daemon *d, struct container *c, int timeout, const char *signal,
             struct berth_err *err);
int ctr_kill(struct daemon *d, struct container *c, const char *signal, struct berth_err *err);
/* the tty's size (its shim's), and the resize event */
void ctr_resize(struct daemon *d, struct container *c, int h, int w);
/* stop (when running), then start */
int ctr_restart(struct daemon *d, struct container *c, int timeout, const char *signal,
                struct berth_err *err);
int ctr_remove(struct daemon *d, struct container *c, bool force, bool volumes,
               struct berth_err *err);
int ctr_pause(struct daemon *d, struct container *c, bool pause, struct berth_err *err);
int ctr_rename(struct daemon *d, struct container *c, const char *name, struct berth_err *err);
int ctr_save(struct daemon *d, struct container *c);
/* The same record, replaced by rename; fsynced only when durable (ctr_save
 * always).  Without: it survives a crash of berthd (the page cache does),
 * not a power cut.  For states a power cut undoes anyway: "running" (its
 * processes die with the machine; the record of create, which is durable,
 * stands) and the exit of a --rm container (whose record goes next; a
 * berthd restart removes it if that was cut short). */
int ctr_save_record(struct daemon *d, struct container *c, bool durable);
/* docker's update: resources (applied to a running container's cgroup)
 * and the restart policy */
int ctr_update(struct daemon *d, struct container *c, json_t *body, json_t *warnings,
               struct berth_err *err);

/* An event of this container (events.h): its labels, image and name, and
 * extra's attributes (stolen, may be NULL).  Without ctr_lock held. */
void ctr_event(struct container *c, const char *action, json_t *extra);
/* What dockerd adds to a start's or exec's runtime error that says "not a
 * directory" (its translateContainerdStartErr): the hint, else "". */
const char *ctr_enotdir_hint(const char *msg);
/* top (top.c): {"Titles", "Processes"} of ps with the client's arguments
 * (-ef when none), the container's processes only; NULL with err set (not
 * running 409, arguments ps is not given 400) */
json_t *ctr_top(struct container *c, const char *ps_args, struct berth_err *err);

/* health checks (health.c): start probing a started container (resume:
 * after a berthd restart, keeping its status); a new start or the exit
 * ends the probing.  ctr_health_locked: "starting", "healthy",
 * "unhealthy" or "none", with ctr_lock held. */
void ctr_health_start(struct daemon *d, struct container *c, bool resume);
const char *ctr_health_locked(const struct container *c);

/* seccomp (seccomp_cache.c): the filter of a profile (NULL: the daemon's
 * default) and capability set, compiled once, as the path of a file of
 * its BPF for a spec; NULL when it cannot be (the runtime then builds it).
 * init: the files' directory, under the exec-root (before the first).
 * set_default: the daemon.conf seccomp-profile's text (compiled now: an
 * error if it does not), NULL for the built-in. */
void ctr_seccomp_init(const char *exec_root);
const char *ctr_seccomp_bpf_path(const char *profile, uint64_t caps);
int ctr_seccomp_set_default(const char *text, struct berth_err *err);

/* paths */
char *ctr_dir(struct daemon *d, const char *id);
char *ctr_socket(struct daemon *d, const char *id);
char *ctr_log_path(struct daemon *d, const char *id);
/* The log driver a container writes with: its --log-driver, or the
 * daemon's default; NULL for "none" (or a driver not loaded). */
struct loaded_plugin *ctr_log_driver(struct daemon *d, const struct ctr_opts *o);

/* network connect/disconnect, on created and running containers (netctr.c):
 * ENOTFOUND for an unknown network, EFORBIDDEN when already (or not) on it */
int ctr_net_connect(struct daemon *d, struct container *c, const char *net, json_t *endpoint_config,
                    struct berth_err *err);
int ctr_net_disconnect(struct daemon *d, struct container *c, const char *net,
                       struct berth_err *err);

/* volumes (mounts.c): the ids of the containers using one; in use or not */
json_t *ctr_volume_users(const char *name);
bool ctr_volume_in_use(const char *name);

/* docker's diff: [{"Path", "Kind" (0 C, 1 A, 2 D)}] by path; ENOTSUP
 * when the storage driver has no changes (fs.c) */
json_t *ctr_changes(struct daemon *d, struct container *c, struct berth_err *err);
int ctr_fill_init_layer(int rootfd, void *arg, struct berth_err *err); /* fs.c */

/* docker commit (commit.c): a new image from the container's changes,
 * tagged ref when given */
struct image_ref;
struct ctr_commit {
  json_t *config;       /* the request's Config over the container's, or NULL */
  const char **changes; /* Dockerfile lines (-c), as import takes them */
  size_t n_changes;
  const char *author, *comment; /* "" when not given */
  bool pause;
  const struct image_ref *ref; /* NULL: untagged */
};
int ctr_commit(struct daemon *d, struct container *c, const struct ctr_commit *o,
               char id[DIGEST_LEN + 1], struct berth_err *err);
/* only the layer of its changes, on top of its image's (builds make the
 * config themselves); *chain its chain id */
int ctr_commit_layer(struct daemon *d, struct container *c, bool pause, char chain[DIGEST_LEN + 1],
                     struct berth_err *err);

/* docker export: a producer writing the container's root as a tar (its
 * layer mounted with a reference of its own until the producer ends; the
 * producer frees ctx) */
typedef void (*ctr_producer_fn)(int fd, void *ctx);
int ctr_export(struct daemon *d, struct container *c, ctr_producer_fn *producer, void **ctx,
               struct berth_err *err);

/* docker's container prune (list.c): the stopped ones the filters (label,
 * label!, until) take, removed; {"ContainersDeleted": [...],
 * "SpaceReclaimed": what their layers held}, NULL for a bad filter */
json_t *ctr_prune(struct daemon *d, struct filters *f, struct berth_err *err);

/* JSON */
json_t *ctr_inspect_json(struct daemon *d, struct container *c, bool size);
/* The cgroup's figures for stats (cpu, memory, pids: docker's members),
 * berth's running exec helpers left out of the pids. */
json_t *ctr_cgroup_stats(struct container *c);
json_t *ctr_summary_json(struct daemon *d, struct container *c, bool size);

/* Restore at start-up: reconnect running containers' shims, record exits
 * that happened while berthd was down, apply restart policies. */
void ctr_restore(struct daemon *d);
/* Save again every record whose last save failed (berthd's housekeeping,
 * every 10 s): a full disk loses no state once space is freed. */
void ctr_save_unsaved(struct daemon *d);
/* a loaded container has sid as its read-write layer (store_sweep_pending) */
bool ctr_layer_owned(const char *sid);

/* does it run in a user namespace (daemon.conf userns-remap, and not
 * --userns=host)? */
bool ctr_remapped(struct daemon *d, struct container *c);
/* its read-write layer mounted (a reference more), id-mapped when mapped
 * (the way a remapped container runs), at path */
int ctr_mount_layer(struct daemon *d, struct container *c, bool mapped, char *path,
                    struct berth_err *err);

/* --ipc (ipc.c): a shareable container's /dev/shm, mounted by berthd at
 * start (ctr_shm_mount, nothing for other modes) and unmounted when it
 * stops; a joiner's donor namespace and /dev/shm (ctr_ipc_join: NULLs
 * left unless IpcMode is container:<id>) */
char *ctr_shm_path(struct daemon *d, const char *id);
int ctr_shm_mount(struct daemon *d, struct container *c, const struct ctr_opts *o,
                  struct berth_err *err);
void ctr_shm_unmount(struct daemon *d, struct container *c);
int ctr_ipc_join(struct daemon *d, const struct ctr_opts *o, char **ns, char **shm,
                 struct berth_err *err);

#endif
