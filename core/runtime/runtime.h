/* The isolation code: namespaces, mounts, pivot_root, /dev, identity,
 * capabilities, no_new_privs, seccomp.  Used by berth-shim to create a
 * container's init and by berthd to exec into a running container. */
#ifndef BERTH_RUNTIME_H
#define BERTH_RUNTIME_H

#include <jansson.h>
#include <sys/types.h>

#include "../util/idmap.h"
#include "../util/util.h"

struct rt_mount {
  char *source;
  char *target; /* inside the container */
  char *type;   /* NULL: bind */
  char *options;
  bool readonly;
  bool idmap; /* a named volume, in a user namespace: seen through its mapping */
  bool tree;  /* fd is a detached tree of the source (the shim's, rt_mntns_template) */
  /* a bind's propagation as docker names it (rprivate, rslave, shared…);
   * NULL: rprivate, docker's default */
  const char *propagation;
  int fd; /* the source, opened, id-mapped or cloned beforehand (idmap, tree); else -1 */
};

struct rt_spec {
  char *id;
  char *rootfs; /* mounted rootfs on the host */
  char *bundle; /* container dir: hosts, hostname, resolv.conf */
  char **args;  /* argv, NULL-terminated */
  char **env;   /* NULL-terminated */
  char *cwd;
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  size_t n_groups;
  char *hostname;
  char *domainname; /* --domainname: the uts namespace's NIS domain name, or NULL */
  bool tty;
  bool open_stdin;
  bool host_network; /* share the host's netns */
  bool host_ipc;     /* the host's ipc namespace (and its /dev/shm) */
  bool host_uts;     /* the host's uts namespace: its hostname, none set */
  bool host_pid;     /* the host's pid namespace: the process is not PID 1, and
                      * what it leaves behind is killed with it (the shim) */
  char *netns_path;  /* or join this one (--network container:<id>) */
  char *pidns_path;  /* --pid container:<id>: the shim's clone puts the init in it */
  char *ipcns_path;  /* --ipc container:<id>: the shim joins it before its clone */
  enum rt_shm {
    RT_SHM_OWN,   /* a tmpfs of the init's (--shm-size) */
    RT_SHM_BOUND, /* a mount among the mounts (--ipc host, shareable, container:) */
    RT_SHM_NONE,  /* --ipc none: no /dev/shm */
  } shm;
  bool netns_ahead; /* or the shim joins one made ahead, lo up (rt_netns_ahead; not in the JSON) */
  bool privileged;
  bool readonly_rootfs;
  bool no_new_privs;
  bool seccomp; /* Docker's default profile */
  char *
      seccomp_profile; /* a profile in docker's JSON format instead (--security-opt seccomp=FILE) */
  char *seccomp_bpf_path; /* the filter berthd compiled, a file of BPF: installed as it is */
  void *seccomp_bpf;      /* that file's contents, read by rt_spec_from_json (not in the JSON) */
  size_t seccomp_bpf_len;
  json_t *limits; /* shm_size, rlimits [[res, soft, hard]], oom_score_adj, sysctls; or NULL */
  json_t *
      cgroup_hiers; /* the host's cgroup mounts, [[name, type, opts]…] (rt_cgroup_hiers); or NULL */
  uint64_t caps;    /* effective/permitted/bounding set (bits) */
  struct rt_mount *mounts;
  size_t n_mounts;
  bool init;           /* --init: not supported without an init binary; refused earlier */
  struct idmap userns; /* --userns-remap: the mapping (size 0: no user namespace) */
  int bundle_fds[3];   /* in a user namespace: hosts, hostname, resolv.conf, opened beforehand */
  int rootfs_tree;     /* the rootfs as a detached tree (cloned from a template), or -1 */
};

/* Parse the spec berthd writes (spec.json); *json: the whole of it, for
 * the parts the typed spec leaves out (the caller's) */
int rt_spec_load(const char *path, struct rt_spec *s, json_t **json, struct berth_err *err);
int rt_spec_from_json(json_t *j, struct rt_spec *s, struct berth_err *err);
json_t *rt_spec_to_json(const struct rt_spec *s);
void rt_spec_free(struct rt_spec *s);

/* Docker's default capability set, and name <-> bit. */
uint64_t rt_default_caps(void);
int rt_cap_from_name(const char *name); /* "NET_ADMIN" or "CAP_NET_ADMIN"; -1 if unknown */
uint64_t rt_all_caps(void);
/* Apply a set: the bounding set (drop what is not in caps), then effective,
 * permitted and inheritable (caps.c).  0 or -1 with errno. */
int rt_caps_bound(uint64_t caps);
int rt_caps_set(uint64_t caps);
/* Load a profile in docker's JSON format, or the built-in default
 * (seccomp.c; profile NULL); caps decide the rules that depend on them. */
extern const char rt_seccomp_default_json[]; /* conf/seccomp-default.json, compiled in */
/* the paths masked and made read-only in a container that is not
 * privileged, NULL-terminated */
extern const char *const rt_masked_paths[];
/* docker's PATH for a process whose environment has none */
#define RT_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
extern const char *const rt_readonly_paths[];
/* the filter as BPF (for a spec: berthd compiles once per profile and
 * capability set), and its installation by the container's process */
char *rt_seccomp_compile(const char *profile, uint64_t caps, size_t *len, struct berth_err *err);
int rt_seccomp_install(const void *bpf, size_t len, struct berth_err *err);
/* Before the container's init unshares its cgroup namespace: its cgroups'
 * paths, which /sys/fs/cgroup then binds (rt_container_init). */
void rt_cgroup_remember(void);
/* In the init: wait for the byte on fd that says it is in its cgroup,
 * remember that cgroup, unshare the cgroup namespace (exits on failure) */
void rt_enter_cgroup(int fd, int err_fd);
/* The host's cgroup hierarchies under /sys/fs/cgroup, read from
 * mountinfo once per process (a copy): berthd puts them in every spec, so
 * a container's init does not read a mountinfo that grows with every
 * running container's rootfs. */
json_t *rt_cgroup_hiers(void);
int rt_seccomp_load(const char *profile, uint64_t caps, struct berth_err *err);
/* docker's default set with HostConfig.CapAdd/CapDrop applied ("ALL" too) */
uint64_t rt_caps_from_names(char *const *add, size_t n_add, char *const *drop, size_t n_drop);

/* A network namespace made ahead, with lo up, for a container's own
 * network: the calling thread unshares one, opens it and goes back to
 * own (its namespace, opened before).  The fd, or -code; *stranded: the
 * thread could not go back and must not use the network again. */
int rt_netns_ahead(int own, bool *stranded, struct berth_err *err);
/* A bind's propagation word (rt_mount.propagation) as mount(2)'s flags:
 * MS_PRIVATE, MS_SLAVE or MS_SHARED, with MS_REC for the r- words; 0 for
 * a word that is none of them. */
unsigned long rt_propagation_flags(const char *word);
/* dockerd's checks at start (mntns.c): a shared bind's source must lie on
 * a shared mount, a slave's on a shared or slave one ("path X is mounted
 * on Y but it is not a shared mount"), as seen in the caller's namespace */
int rt_check_propagation(const struct rt_mount *m, struct berth_err *err);

/* The mount namespace a container's init is cloned from (mntns.c): a
 * private copy of the calling thread's, without any mount but "/", /proc,
 * /sys, the cgroup hierarchies, /dev and the mounts the paths in keep lie
 * on (each must then be what it is here).  Unshares the calling thread's
 * fs and mount namespace: call it on a thread of its own.  Returns an fd
 * of the namespace; *n_detached: the mounts left out. */
int rt_mntns_template(const char *const *keep, size_t n_keep, size_t *n_detached,
                      struct berth_err *err);

/* The container side of a create: everything from mounts to execve.  Runs
 * in the cloned child (pid 1 of the new pid namespace).  start_fd is read
 * once before exec (the START from berthd); err_fd receives a message if
 * anything before it fails, or one NUL byte once all that can fail is
 * done (runc's order: set-up, filter, identity, the program found); an
 * exec that fails after START is the container's (exit 1, the message on
 * its stderr).
 * pty_sock, when the container has a tty, receives the pty master.
 * Never returns. */
struct rt_child_io {
  int start_fd;
  int err_fd;
  /* >= 0: the init's first mounts (proc, sys) overlap its cgroup's making;
   * before the cgroup mounts it waits for a byte here (the shim placed it
   * in its cgroup; EOF: it did not), then unshares its cgroup namespace.
   * -1: done before */
  int cgroup_fd;
  int pty_sock; /* -1 without a tty */
  int stdio[3]; /* without a tty: fds for 0,1,2 */
};
__attribute__((noreturn)) void rt_container_init(const struct rt_spec *s,
                                                 const struct rt_child_io *io);

/* clone() flags for a new container. */
int rt_clone_flags(const struct rt_spec *s);
/* /dev/shm's tmpfs options for a spec's limits (--shm-size, docker's 64 MiB
 * otherwise): the init's own tmpfs and the one berthd mounts for --ipc
 * shareable */
void rt_shm_options(json_t *limits, char *out, size_t len);
/* In a user namespace, the container's init is its root (the mapping's
 * host uid) from early on and can no longer open berthd's 0700 paths:
 * its bind sources are opened before that, by the init itself while it is
 * still host uid 0 (rt_userns_open_sources), and named volumes are
 * id-mapped trees the shim makes (rt_userns_map_volumes, which needs
 * CAP_SYS_ADMIN over the volumes' filesystem: before the clone). */
int rt_userns_map_volumes(struct rt_spec *s, struct berth_err *err);
void rt_userns_open_sources(struct rt_spec *s, int err_fd);
/* net.* sysctls of a network namespace the container joins (one it does
 * not own: the shim writes them, having joined it) */
int rt_apply_net_sysctls(const struct rt_spec *s, struct berth_err *err);

/* Join the namespaces of pid (mnt, uts, ipc, net, pid, cgroup) in the
 * calling process (which must be single-threaded: a fresh fork).  The pid
 * namespace applies to children forked afterwards. */
int rt_join(pid_t pid, struct berth_err *err);
/* Write one formatted message (at most 1 KiB) to a set-up error pipe. */
void rt_report(int err_fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Identity, caps, no_new_privs, seccomp, then exec; for exec processes
 * (an exec that fails: 126 or 127 and the message on err_fd, as docker
 * answers an exec). */
__attribute__((noreturn)) void rt_exec_process(const struct rt_spec *s, int err_fd);

/* Look a user up in the container's /etc/passwd and /etc/group ("name",
 * "uid", "uid:gid", "name:group"), both read inside the root at rootfd. */
struct rt_user {
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  size_t n_groups;
  char *home;
};
int rt_resolve_user_at(int rootfd, const char *user, struct rt_user *out, struct berth_err *err);
void rt_user_free(struct rt_user *u);
/* gid added to u's supplementary groups, unless there already */
void rt_user_add_group(struct rt_user *u, gid_t gid);
/* Every entry of the container's /etc/passwd (group: /etc/group) as (id,
 * name), in the file's order, read as rt_resolve_user_at reads it; NULL
 * and *n 0 when there is none or the file cannot be read (a tar's owner
 * names). */
struct rt_id_name {
  long id;
  char *name;
};
struct rt_id_name *rt_id_names_at(int rootfd, bool group, size_t *n);
void rt_id_names_free(struct rt_id_name *v, size_t n);

/* ---- paths inside a container root (inroot.c) ----
 * openat2 with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: symlinks and ".."
 * never leave the root.  Return an fd or -1 with errno. */
int rt_openat_in_root(int rootfd, const char *path, int flags, mode_t mode);
/* mkdir -p inside the root; an O_PATH fd of the directory, or -1. */
int rt_mkdir_in_root(int rootfd, const char *path, mode_t mode);
/* A mount target inside the root, created as a directory or an empty file
 * when missing; an O_PATH fd, or -code with err. */
int rt_target_in_root(int rootfd, const char *path, bool dir, struct berth_err *err);
/* mount(2) onto what fd refers to (through /proc/self/fd). */
int rt_mount_on_fd(const char *src, int fd, const char *type, unsigned long flags,
                   const char *data);
/* A regular file of at most max bytes, read inside the root (a FIFO, a
 * device or a larger file is refused, never blocked on); NUL-terminated. */
char *rt_read_in_root(int rootfd, const char *path, size_t max, size_t *len, struct berth_err *err);

/* ---- sealed executables (sealed.c) ---- */
/* A sealed, executable memfd copy of the file at path (close-on-exec). */
int rt_sealed_copy(const char *path, const char *name, struct berth_err *err);
bool rt_fd_is_sealed(int fd);
/* Returns 0 when this process already runs from a sealed copy; otherwise
 * re-executes itself from one (never returns on success), -1 on failure. */
int rt_ensure_sealed_self(char **argv, char **envp);

/* Send / receive one fd over a unix socket. */
int send_fd(int sock, int fd);
/* Is this a seccomp profile berth can load? (docker's JSON format) */
int rt_seccomp_check_profile(const char *json_text, struct berth_err *err);

/* the host's security modules (core/runtime/lsm.c) */
bool rt_apparmor_enabled(void);
bool rt_selinux_enabled(void);
int recv_fd(int sock);

#endif
