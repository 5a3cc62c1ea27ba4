/* berth, the command line client.  Mirrors the docker CLI's commands,
 * flags and output; talks to berthd over the Engine API. */
#ifndef BERTH_CLI_H
#define BERTH_CLI_H

#include <jansson.h>
#include <stdbool.h>

#include "../core/util/util.h"

#define CLI_API_PREFIX "/v1.43"

/* ---- client.c ---- */
struct http_resp {
  long status;
  char *body;
  size_t len;
  char *content_type;
  char *path_stat; /* X-Docker-Container-Path-Stat (cp) */
};

/* Called with each chunk of a streamed body; return 0 to go on. */
typedef int (*body_sink)(const char *data, size_t len, void *ctx);

struct http_req {
  const char *method;
  const char *path; /* with query string, without the version prefix */
  const char *body; /* NULL: none */
  size_t body_len;
  const char *content_type;
  int upload_fd;  /* >= 0: send this fd as a chunked body */
  body_sink sink; /* NULL: buffer the body in resp */
  void *sink_ctx;
  const char *const *headers; /* NULL-terminated "Name: value" */
};

void client_init(const char *host);
const char *client_host(void);
/* Returns 0 with resp filled (any HTTP status), or -1 after printing a
 * connection error. */
int http_do(const struct http_req *req, struct http_resp *resp);
void http_resp_free(struct http_resp *r);
/* GET/POST/DELETE with an optional JSON body; prints "Error response from
 * daemon: ..." and returns -1 on a status >= 400 (NULL out = ignore body). */
int api_call(const char *method, const char *path, json_t *body, json_t **out, long *status);
/* GET of a listing (a JSON array of objects), keeping only the members
 * named in keep of each (jpick.h): what a table shows */
int api_get_list(const char *path, const char *const *keep, json_t **out);
/* Between the two, jansson allocates from an arena freed only when the
 * process ends (client.c): for the values of a big listing */
void json_arena_begin(void);
void json_arena_end(void);
/* api_call with extra "Name: value" headers (NULL-terminated, may be NULL) */
int api_call_headers(const char *method, const char *path, json_t *body, const char *const *headers,
                     json_t **out, long *status);
/* The daemon's message from an error response. */
char *resp_error_message(const struct http_resp *r);
char *url_escape(const char *s);

/* ---- format.c ---- */
/* tmpl (Go's text/template, template.h) run on row, malloc'd; a template
 * that does not parse or run ends the process with docker's message */
char *template_render(const char *tmpl, json_t *row);
/* docker's GetTimestamp for --since/--until: "seconds.nanos" of an RFC 3339
 * time (or a date), a unix time, or a Go duration ago; NULL when bad */
char *timestamp_arg(const char *v);
/* a Go duration ("1m30s", "500ms", "0") in ns; -1 when bad */
/* A table printed like Go's tabwriter (padding 3). */
/* What a command holds until the process ends (a listing's rows): freed
 * only in sanitizer builds, for their leak check, as git's UNLEAK (freeing
 * 1,000 containers' rows was 5% of `ps -a`) */
#ifdef __SANITIZE_ADDRESS__
#define FREE_AT_EXIT(stmt) stmt
#else
#define FREE_AT_EXIT(stmt) ((void)0)
#endif

struct table;
struct table *table_new(void);
void table_add(struct table *t, const char *row_tab_separated);
void table_print(struct table *t, FILE *f);
/* The template a row is rendered with: --format, or the default (a
 * "table" prefix says a table, a bare "table" is the default's; "json" is
 * {{json .}}) */
const char *row_template(const char *format, const char *default_format, bool *is_table);
/* Print rows with --format (table prefix supported) or the default table
 * format; headers maps field names to column titles. */
void print_rows(json_t *rows, const char *format, const char *default_format,
                const char *const headers[][2], bool quiet_field_only);
void human_size(double n, char *out, size_t len);
/* Go's Time.String of ns since the epoch, local time: "2026-12-04
 * 20:11:34.233135518 +0000 UTC" (no fraction when it is 0) */
void go_time_string(int64_t ns, char *out, size_t len);
/* docker's .Labels of a listing: "k=v,k2=v2" (a new string) */
json_t *labels_joined(json_t *labels);
/* rows in the order docker lists networks and volumes: by Name, digits
 * as numbers (sortorder.NaturalLess) */
void sort_by_name(json_t *rows);
void print_json_indented(json_t *j);

/* ---- commands ---- */
struct command {
  const char *name;
  int (*fn)(int argc, char **argv);
  const char *help; /* NULL in a group: the top-level command's of the same fn */
};
/* c's help, or the top-level command's that runs the same function */
const char *command_help(const struct command *c);

/* ---- gen.c: completion and man pages from the command tables ---- */
struct gen_model;
struct flag;
extern struct gen_model *cli_gen; /* non-NULL while the tables are walked */
void gen_flags(const char *usage, const struct flag *flags);
int gen_group(const char *group, const struct command *sub, size_t n);
int gen_main(int argc, char **argv, const struct command *top, size_t n_top);
/* berth GROUP SUBCOMMAND ...: the subcommand named by argv[1], or the
 * group's usage (listing: the commands to show; NULL: every name in sub) */
int run_subcommand(const char *group, const struct command *sub, size_t n, const char *listing,
                   int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_plugin(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_network(int argc, char **argv);
int cmd_volume(int argc, char **argv);
int cmd_system(int argc, char **argv);
int cmd_images(int argc, char **argv);
int cmd_image(int argc, char **argv);
int cmd_image_inspect(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_tag(int argc, char **argv);
int cmd_rmi(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_save(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_container(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_restart(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_unpause(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_rename(int argc, char **argv);
int cmd_wait(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_update(int argc, char **argv);
int cmd_port(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_commit(int argc, char **argv);
int cmd_export(int argc, char **argv);
/* GET path into output (a temp file renamed) or stdout; 1 on failure,
 * said as "failed to <what>: ..." */
int download_to(const char *path, const char *output, const char *what);
int cmd_logs(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_exec(int argc, char **argv);
const char *client_socket_path(void);

/* A small flag parser: a table of flags per command. */
enum flag_type { F_BOOL, F_STRING, F_LIST, F_INT };
struct flag {
  const char *long_name;
  char short_name;
  enum flag_type type;
  void *dst; /* bool*, const char**, struct strlist*, long* */
  const char *help;
};
struct strlist {
  const char **v;
  size_t n;
};
/* Parse argv[1..]; leaves positional args in *pos (argv is permuted).
 * Prints docker-style errors and returns -1 on bad flags; 1 for --help. */
int parse_flags(int argc, char **argv, const struct flag *flags, const char *usage, int *npos,
                char ***pos);
void die_usage(const char *usage, const char *fmt, ...);
/* Set before parse_flags: everything after the first positional argument
 * is positional (run IMAGE CMD..., exec CONTAINER CMD...). */
extern bool flags_stop_at_positional;
/* In a command: parse argv against flags into npos/pos; --help or a bad
 * flag returns from the command (0 or 125). */
#define PARSE(usage_line, flags)                                                                   \
  int npos;                                                                                        \
  char **pos;                                                                                      \
  {                                                                                                \
    int pr_ = parse_flags(argc, argv, flags, usage_line, &npos, &pos);                             \
    flags_stop_at_positional = false;                                                              \
    if (pr_) return pr_ < 0 ? 125 : 0;                                                             \
  }

/* Print inspect results: each through --format, or the array indented. */
void print_inspect(json_t *results, const char *format);
/* GET <prefix>/<name> for each name, printed as inspect does; 1 if any failed */
int inspect_each(const char *prefix, char **names, int n, const char *format);
/* DELETE <prefix>/<name><query> for each name, printing each removed; 1 if any failed */
int remove_each(const char *prefix, const char *query, char **names, int n);
/* -o/--label KEY=VALUE lists as a JSON object of strings */
json_t *kv_map(const struct strlist *l);
/* path?filters=... from --filter values (and one more, or NULL) */
char *path_with_filters(const char *path, const struct strlist *filt, const char *extra);
/* a prune's question on stderr; true for y/Y */
bool confirm(const char *warning);
/* POST a request whose answer is the JSON message stream (pull, push),
 * rendered like docker's; auth_header may be NULL.  Returns the exit code. */
int post_json_stream(const char *path, const char *auth_header, bool quiet);

/* ---- the JSON message stream of load/import/pull/push (jsonstream.c) ---- */
/* Rendered like docker's jsonmessage: progress bars redrawn in place on a
 * terminal, "<id>: <status>" lines otherwise. */
struct jsonstream {
  char *buf;
  size_t len;
  bool tty;
  bool quiet;
  int error;
  json_t *ids; /* id -> line index, for in-place redraw */
  size_t lines;
};
int js_sink(const char *data, size_t len, void *ctx);

/* ---- mountopt.c: --mount into a HostConfig.Mounts entry (NULL: why says) ---- */
json_t *mount_spec(const char *arg, char *why, size_t len);
/* "32m" -> bytes (docker's RAMInBytes: binary units); -1 when bad */
int64_t parse_bytes(const char *s);

/* ---- tar.c: the tar cp writes and reads (no libarchive in the CLI) ---- */
#include <sys/types.h>
struct tar_link {
  dev_t dev;
  ino_t ino;
  char *name;
};
struct tar_writer {
  int fd;
  uint64_t bytes; /* written so far */
  struct tar_link *links;
  size_t n_links;
};
/* path (followed when follow) and everything below it, named name/... */
int tar_write_tree(struct tar_writer *w, const char *path, const char *name, bool follow);
/* the same, each entry written only when keep says so (the walk goes into
 * every directory all the same); name "": path's entries at the top */
typedef bool (*tar_keep_fn)(const char *name, void *ctx);
int tar_walk(struct tar_writer *w, const char *path, const char *name, bool follow,
             tar_keep_fn keep, void *ctx);
/* the one entry (a directory without what it holds) */
int tar_write_one(struct tar_writer *w, const char *path, const char *name, bool follow);
/* a regular file of len bytes from memory, mode 0644 */
int tar_write_data(struct tar_writer *w, const char *name, const char *data, size_t len);
int cmd_build(int argc, char **argv);
int tar_write_end(struct tar_writer *w);
struct tar_entry {
  char *name, *link;
  char type; /* '0' file, '1' hard link, '2' symlink, '3' '4' devices, '5' dir, '6' fifo */
  mode_t mode;
  uid_t uid;
  gid_t gid;
  uint64_t size;
  int64_t mtime;
  dev_t rdev;
  bool pax_size;
};
/* the next entry: 1, 0 at the end, -1 for a damaged archive */
int tar_next(int fd, struct tar_entry *e);
void tar_entry_free(struct tar_entry *e);
/* the entry's data into out (-1: skipped) */
int tar_copy_data(int fd, const struct tar_entry *e, int out);
int cmd_cp(int argc, char **argv);
/* ---- prune.c ---- */
/* POST a prune; print "Deleted <title>:" and what went under key; the
 * space reclaimed, or -1 after saying why */
long long prune_post(const char *path, const char *key, const char *title);
void prune_total(long long bytes); /* "Total reclaimed space: …" */
int cmd_container_prune(int argc, char **argv);
int cmd_image_prune(int argc, char **argv);
int cmd_system_prune(int argc, char **argv);

/* ---- registry.c ---- */
/* "X-Registry-Auth: ..." for host from ~/.berth/config.json (or
 * ~/.docker/config.json), or NULL. */
char *registry_auth_header(const char *host);
int cmd_push(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_logout(int argc, char **argv);
int cmd_search(int argc, char **argv);

/* ---- ids and filters for listings (format.c) ---- */
char *short_id(const char *id, bool no_trunc);
void add_filter(json_t *filters, const char *name_eq_value);
char *query_filters(json_t *filters); /* "&filters=..." or "" */

/* ---- hijack.c: raw HTTP on the daemon socket ---- */
int raw_connect(void);
/* Sends a request; reads the status line and headers.  Returns the status
 * or -1.  The connection stays open for the body or the hijacked stream. */
int raw_request(int fd, const char *method, const char *path, json_t *body, bool upgrade);
/* The two halves of raw_request, for requests on several connections at
 * once: send (0 or -1), then read the status and headers (the status or -1;
 * the last one read sets how raw_read_body de-chunks). */
int raw_send(int fd, const char *method, const char *path, json_t *body, bool upgrade);
int raw_status(int fd);
/* Reads the rest of a response body (chunked or not) until EOF. */
char *raw_read_body(int fd, size_t *len);
struct stream_opts {
  bool tty;        /* raw stream; otherwise 8-byte multiplexed frames */
  bool send_stdin; /* forward our stdin; half-close on EOF */
  const char *detach_keys;
  const char *resize_path; /* "/containers/ID/resize" or "/exec/ID/resize" */
  const char *kill_path;   /* sig-proxy: "/containers/ID/kill" */
};
/* Pumps a hijacked connection until the daemon closes it.  Returns 0,
 * 1 when the user detached, -1 on an error. */
int stream_hijacked(int fd, const struct stream_opts *o);
void send_resize(const char *resize_path);

#endif
