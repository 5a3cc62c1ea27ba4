/* push, login, logout; credentials in docker's config.json format:
 * ~/.berth/config.json, falling back to ~/.docker/config.json for reading.
 *   {"auths": {"myreg:5000": {"auth": base64("user:pass")}}} */
#include <sys/stat.h>

#include "../core/image/reference.h"
#include "cli.h"

/* docker's key for Docker Hub */
#define HUB_KEY "https://index.docker.io/v1/"

static char *config_path(bool docker) {
  const char *home = getenv("HOME");
  return xasprintf("%s/%s/config.json", home && *home ? home : "/root",
                   docker ? ".docker" : ".berth");
}

static const char *auth_key(const char *host) {
  return !strcmp(host, "docker.io") ? HUB_KEY : host;
}

char *registry_auth_header(const char *host) {
  for (int docker = 0; docker < 2; docker++) {
    cleanup_free char *p = config_path(docker);
    json_t *cfg = json_load_file(p, 0, NULL);
    const char *a = json_string_value(
        json_object_get(json_object_get(json_object_get(cfg, "auths"), auth_key(host)), "auth"));
    if (a) {
      cleanup_free char *plain = base64_decode(a, NULL);
      char *colon = strchr(plain, ':');
      if (colon) {
        *colon = 0;
        json_t *j = json_pack("{s:s,s:s,s:s}", "username", plain, "password", colon + 1,
                              "serveraddress", host);
        char *txt = json_dumps(j, JSON_COMPACT);
        cleanup_free char *b = base64_encode(txt, strlen(txt), true);
        free(txt);
        json_decref(j);
        json_decref(cfg);
        return xasprintf("X-Registry-Auth: %s", b);
      }
    }
    json_decref(cfg);
  }
  return NULL;
}

int cmd_push(int argc, char **argv) {
  bool quiet = false, all = false;
  const struct flag flags[] = {
      {"all-tags", 'a', F_BOOL, &all, "Push all tags of an image to the repository"},
      {"quiet", 'q', F_BOOL, &quiet, "Suppress verbose output"},
      {0}};
  PARSE("berth push [OPTIONS] NAME[:TAG]", flags);
  if (npos != 1) {
    die_usage("berth push [OPTIONS] NAME[:TAG]", "\"berth push\" requires exactly 1 argument.");
    free(pos);
    return 1;
  }
  struct image_ref r;
  struct berth_err err = {0};
  if (ref_parse(pos[0], false, &r, &err) < 0) {
    fprintf(stderr, "%s\n", err.msg);
    free(pos);
    return 1;
  }
  free(pos);
  if (!r.tag && !r.digest && !all) {
    printf("Using default tag: latest\n");
    r.tag = xstrdup("latest");
  }
  cleanup_free char *repo = ref_repo_canonical(&r);
  cleanup_free char *path =
      r.tag ? xasprintf("/images/%s/push?tag=%s", repo, r.tag) : xasprintf("/images/%s/push", repo);
  cleanup_free char *auth = registry_auth_header(r.domain);
  ref_free(&r);
  return post_json_stream(path, auth, quiet);
}

static int save_config(json_t *cfg) {
  cleanup_free char *p = config_path(false);
  cleanup_free char *dir = xstrdup(p);
  *strrchr(dir, '/') = 0;
  mkdir(dir, 0700);
  char *text = json_dumps(cfg, JSON_INDENT(1) | JSON_SORT_KEYS);
  int r = write_file_atomic(p, text, strlen(text), 0600);
  free(text);
  if (r < 0) fprintf(stderr, "Error saving credentials: %s: %s\n", p, strerror(-r));
  return r;
}

int cmd_login(int argc, char **argv) {
  const char *user = NULL, *pass = NULL;
  bool pass_stdin = false;
  const struct flag flags[] = {
      {"username", 'u', F_STRING, &user, "Username"},
      {"password", 'p', F_STRING, &pass, "Password"},
      {"password-stdin", 0, F_BOOL, &pass_stdin, "Take the password from stdin"},
      {0}};
  PARSE("berth login [OPTIONS] [SERVER]", flags);
  const char *server = npos ? pos[0] : "docker.io";
  char line[1024];
  if (pass_stdin) {
    if (!fgets(line, sizeof line, stdin)) line[0] = 0;
    line[strcspn(line, "\r\n")] = 0;
    pass = line;
  }
  if (!user || !pass) {
    fprintf(stderr, "Error: Cannot perform an interactive login from a non TTY device\n");
    free(pos);
    return 1;
  }
  if (pass && !pass_stdin)
    fprintf(stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
  json_t *body = json_pack("{s:s,s:s,s:s}", "username", user, "password", pass, "serveraddress",
                           !strcmp(server, "docker.io") ? HUB_KEY : server);
  json_t *out = NULL;
  int r = api_call("POST", "/auth", body, &out, NULL);
  json_decref(body);
  json_decref(out);
  if (r < 0) {
    free(pos);
    return 1;
  }
  cleanup_free char *p = config_path(false);
  json_t *cfg = json_load_file(p, 0, NULL);
  if (!json_is_object(cfg)) {
    json_decref(cfg);
    cfg = json_object();
  }
  json_t *auths = json_object_get(cfg, "auths");
  if (!json_is_object(auths)) json_object_set_new(cfg, "auths", auths = json_object());
  cleanup_free char *up = xasprintf("%s:%s", user, pass);
  cleanup_free char *b = base64_encode(up, strlen(up), false);
  json_object_set_new(auths, auth_key(server), json_pack("{s:s}", "auth", b));
  r = save_config(cfg);
  json_decref(cfg);
  free(pos);
  if (r < 0) return 1;
  printf("Login Succeeded\n");
  return 0;
}

int cmd_logout(int argc, char **argv) {
  const struct flag flags[] = {{0}};
  PARSE("berth logout [SERVER]", flags);
  const char *server = npos ? pos[0] : "docker.io";
  cleanup_free char *p = config_path(false);
  json_t *cfg = json_load_file(p, 0, NULL);
  json_t *auths = json_object_get(cfg, "auths");
  if (!json_object_get(auths, auth_key(server))) {
    printf("Not logged in to %s\n", server);
    json_decref(cfg);
    free(pos);
    return 0;
  }
  json_object_del(auths, auth_key(server));
  printf("Removing login credentials for %s\n", server);
  int r = save_config(cfg);
  json_decref(cfg);
  free(pos);
  return r < 0 ? 1 : 0;
}

int cmd_search(int argc, char **argv) {
  long limit = 25;
  bool no_trunc = false;
  const char *format = NULL;
  struct strlist filt = {0};
  const struct flag flags[] = {
      {"limit", 0, F_INT, &limit, "Max number of search results"},
      {"no-trunc", 0, F_BOOL, &no_trunc, "Don't truncate output"},
      {"filter", 'f', F_LIST, &filt, "Filter output based on conditions provided"},
      {"format", 0, F_STRING, &format, "Pretty-print search using a Go template"},
      {0}};
  PARSE("berth search [OPTIONS] TERM", flags);
  if (npos != 1) {
    die_usage("berth search [OPTIONS] TERM", "\"berth search\" requires exactly 1 argument.");
    free(pos);
    free(filt.v);
    return 1;
  }
  json_t *filters = json_object();
  for (size_t i = 0; i < filt.n; i++)
    add_filter(filters, filt.v[i]);
  free(filt.v);
  cleanup_free char *fq = query_filters(filters);
  json_decref(filters);
  cleanup_free char *et = url_escape(pos[0]);
  cleanup_free char *path = xasprintf("/images/search?term=%s&limit=%ld%s", et, limit, fq);
  /* the stored login of the registry searched ("host:5000/term"), as
   * docker's search sends it */
  const char *slash = strchr(pos[0], '/');
  cleanup_free char *host =
      slash && (memchr(pos[0], '.', (size_t)(slash - pos[0])) ||
                memchr(pos[0], ':', (size_t)(slash - pos[0])) || !strncmp(pos[0], "localhost/", 10))
          ? strndup(pos[0], (size_t)(slash - pos[0]))
          : xstrdup("docker.io");
  cleanup_free char *auth = registry_auth_header(host);
  const char *hdrs[] = {auth, NULL};
  free(pos);
  json_t *list = NULL;
  if (api_call_headers("GET", path, NULL, auth ? hdrs : NULL, &list, NULL) < 0) return 1;
  json_t *rows = json_array();
  size_t i;
  json_t *e;
  json_array_foreach(list, i, e) {
    const char *desc = json_string_value(json_object_get(e, "description")) ?: "";
    char *d = (!no_trunc && strlen(desc) > 45) ? xasprintf("%.44s…", desc) : xstrdup(desc);
    json_array_append_new(
        rows,
        json_pack("{s:s,s:s,s:I,s:s,s:s}", "Name",
                  json_string_value(json_object_get(e, "name")) ?: "", "Description", d,
                  "StarCount", json_integer_value(json_object_get(e, "star_count")), "IsOfficial",
                  json_is_true(json_object_get(e, "is_official")) ? "[OK]" : "", "IsAutomated",
                  json_is_true(json_object_get(e, "is_automated")) ? "[OK]" : ""));
    free(d);
  }
  static const char *const headers[][2] = {
      {"Name", "NAME"},           {"Description", "DESCRIPTION"}, {"StarCount", "STARS"},
      {"IsOfficial", "OFFICIAL"}, {"IsAutomated", "AUTOMATED"},   {NULL, NULL}};
  print_rows(rows, format,
             "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}\t{{.IsAutomated}}",
             headers, false);
  json_decref(rows);
  json_decref(list);
  return 0;
}
