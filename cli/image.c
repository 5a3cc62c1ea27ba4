#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "../core/image/reference.h"
#include "cli.h"

int cmd_images(int argc, char **argv) {
  bool all = false, quiet = false, no_trunc = false, digests = false;
  const char *format = NULL;
  struct strlist filt = {0};
  const struct flag flags[] = {
      {"all", 'a', F_BOOL, &all, "Show all images (default hides intermediate images)"},
      {"quiet", 'q', F_BOOL, &quiet, "Only show image IDs"},
      {"no-trunc", 0, F_BOOL, &no_trunc, "Don't truncate output"},
      {"digests", 0, F_BOOL, &digests, "Show digests"},
      {"filter", 'f', F_LIST, &filt, "Filter output based on conditions provided"},
      {"format", 0, F_STRING, &format, "Format output using a custom template"},
      {0}};
  PARSE("berth images [OPTIONS] [REPOSITORY[:TAG]]", flags);
  json_t *filters = json_object();
  for (size_t i = 0; i < filt.n; i++) {
    if (!strchr(filt.v[i], '=')) {
      fprintf(stderr,
              "invalid argument \"%s\" for \"-f, --filter\" flag: bad format of filter (expected "
              "name=value)\n",
              filt.v[i]);
      return 125;
    }
    add_filter(filters, filt.v[i]);
  }
  free(filt.v);
  if (npos > 1) {
    die_usage("berth images [OPTIONS] [REPOSITORY[:TAG]]",
              "\"berth images\" requires at most 1 argument.");
    return 125;
  }
  if (npos == 1) {
    json_t *m = json_object();
    json_object_set_new(m, pos[0], json_true());
    json_object_set_new(filters, "reference", m);
  }
  free(pos);
  cleanup_free char *fq = query_filters(filters);
  json_decref(filters);
  cleanup_free char *path = xasprintf("/images/json?all=%d%s", all ? 1 : 0, fq);
  json_t *list = NULL;
  if (api_call("GET", path, NULL, &list, NULL) < 0) return 1;
  json_t *rows = json_array();
  time_t now = time(NULL);
  size_t i;
  json_t *im;
  json_array_foreach(list, i, im) {
    const char *id = json_string_value(json_object_get(im, "Id"));
    cleanup_free char *sid = short_id(id, no_trunc);
    if (quiet) {
      bool seen = false;
      size_t k;
      json_t *r;
      json_array_foreach(rows, k, r) if (!strcmp(json_string_value(json_object_get(r, "ID")), sid))
          seen = true;
      if (!seen) json_array_append_new(rows, json_pack("{s:s}", "ID", sid));
      continue;
    }
    char size[32], since[64], created_at[64];
    human_size((double)json_integer_value(json_object_get(im, "Size")), size, sizeof size);
    int64_t created = json_integer_value(json_object_get(im, "Created"));
    human_duration(now - created, since, sizeof since);
    strcat(since, " ago");
    go_time_string(created * 1000000000, created_at, sizeof created_at);
    json_t *tags = json_object_get(im, "RepoTags");
    json_t *dig = json_object_get(im, "RepoDigests");
    size_t ntags = json_array_size(tags);
    for (size_t t = 0; t < (ntags ? ntags : 1); t++) {
      const char *rt = ntags ? json_string_value(json_array_get(tags, t)) : NULL;
      cleanup_free char *repo = NULL;
      const char *tag = "<none>";
      if (rt) {
        repo = xstrdup(rt);
        char *slash = strrchr(repo, '/');
        char *colon = strrchr(slash ? slash : repo, ':');
        if (colon) {
          *colon = 0;
          tag = rt + (colon - repo) + 1;
        }
      } else {
        repo = xstrdup("<none>");
      }
      const char *digest = "<none>";
      size_t k;
      json_t *d;
      json_array_foreach(dig, k, d) {
        const char *ds = json_string_value(d);
        const char *at = strchr(ds, '@');
        if (at && !strncmp(ds, repo, (size_t)(at - ds)) && strlen(repo) == (size_t)(at - ds))
          digest = at + 1;
      }
      json_t *row = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "Repository", repo, "Tag",
                              tag, "ID", sid, "Digest", digest, "CreatedSince", since, "CreatedAt",
                              created_at, "Size", size, "VirtualSize", size, "SharedSize", "N/A");
      json_array_append_new(rows, row);
    }
  }
  static const char *const headers[][2] = {{"Repository", "REPOSITORY"},
                                           {"Tag", "TAG"},
                                           {"ID", "IMAGE ID"},
                                           {"Digest", "DIGEST"},
                                           {"CreatedSince", "CREATED"},
                                           {"CreatedAt", "CREATED AT"},
                                           {"Size", "SIZE"},
                                           {NULL, NULL}};
  const char *def =
      digests
          ? "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
          : "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
  print_rows(rows, quiet ? "{{.ID}}" : format, def, headers, false);
  json_decref(rows);
  json_decref(list);
  return 0;
}

int cmd_image_inspect(int argc, char **argv) {
  const char *format = NULL;
  const struct flag flags[] = {
      {"format", 'f', F_STRING, &format, "Format output using a custom template"}, {0}};
  PARSE("berth image inspect [OPTIONS] IMAGE [IMAGE...]", flags);
  if (npos < 1) {
    die_usage("berth image inspect [OPTIONS] IMAGE [IMAGE...]",
              "\"berth image inspect\" requires at least 1 argument.");
    free(pos);
    return 1;
  }
  json_t *out = json_array();
  int rc = 0;
  for (int i = 0; i < npos; i++) {
    cleanup_free char *esc = url_escape(pos[i]);
    cleanup_free char *path = xasprintf("/images/%s/json", pos[i]);
    struct http_req req = {.method = "GET", .path = path, .upload_fd = -1};
    struct http_resp resp;
    if (http_do(&req, &resp) < 0) return 1;
    if (resp.status == 200) {
      json_array_append_new(out, json_loadb(resp.body, resp.len, 0, NULL));
    } else {
      char *m = resp_error_message(&resp);
      if (resp.status == 404)
        fprintf(stderr, "Error: No such image: %s\n", pos[i]);
      else
        fprintf(stderr, "Error response from daemon: %s\n", m);
      free(m);
      rc = 1;
    }
    http_resp_free(&resp);
  }
  free(pos);
  print_inspect(out, format);
  json_decref(out);
  return rc;
}

int cmd_history(int argc, char **argv) {
  bool human = true, quiet = false, no_trunc = false;
  const char *format = NULL;
  const struct flag flags[] = {
      {"human", 'H', F_BOOL, &human, "Print sizes and dates in human readable format"},
      {"quiet", 'q', F_BOOL, &quiet, "Only show image IDs"},
      {"no-trunc", 0, F_BOOL, &no_trunc, "Don't truncate output"},
      {"format", 0, F_STRING, &format, "Format output using a custom template"},
      {0}};
  PARSE("berth history [OPTIONS] IMAGE", flags);
  if (npos != 1) {
    die_usage("berth history [OPTIONS] IMAGE", "\"berth history\" requires exactly 1 argument.");
    free(pos);
    return 1;
  }
  cleanup_free char *path = xasprintf("/images/%s/history", pos[0]);
  free(pos);
  json_t *list = NULL;
  if (api_call("GET", path, NULL, &list, NULL) < 0) return 1;
  json_t *rows = json_array();
  time_t now = time(NULL);
  size_t i;
  json_t *h;
  json_array_foreach(list, i, h) {
    const char *id = json_string_value(json_object_get(h, "Id"));
    cleanup_free char *sid = strcmp(id, "<missing>") ? short_id(id, no_trunc) : xstrdup(id);
    char since[64], size[32];
    int64_t created = json_integer_value(json_object_get(h, "Created"));
    if (human) {
      human_duration(now - created, since, sizeof since);
      strcat(since, " ago");
      human_size((double)json_integer_value(json_object_get(h, "Size")), size, sizeof size);
    } else {
      snprintf(since, sizeof since, "%lld", (long long)created);
      snprintf(size, sizeof size, "%lld",
               (long long)json_integer_value(json_object_get(h, "Size")));
    }
    const char *by = json_string_value(json_object_get(h, "CreatedBy"));
    cleanup_free char *shown =
        (!no_trunc && strlen(by) > 45) ? xasprintf("%.44s…", by) : xstrdup(by);
    json_array_append_new(rows, json_pack("{s:s,s:s,s:s,s:s,s:s}", "ID", sid, "CreatedSince", since,
                                          "CreatedBy", shown, "Size", size, "Comment",
                                          json_string_value(json_object_get(h, "Comment"))));
  }
  static const char *const headers[][2] = {
      {"ID", "IMAGE"},  {"CreatedSince", "CREATED"}, {"CreatedBy", "CREATED BY"},
      {"Size", "SIZE"}, {"Comment", "COMMENT"},      {NULL, NULL}};
  print_rows(rows, quiet ? "{{.ID}}" : format,
             "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}", headers,
             false);
  json_decref(rows);
  json_decref(list);
  return 0;
}

int cmd_tag(int argc, char **argv) {
  const struct flag flags[] = {{0}};
  PARSE("berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", flags);
  if (npos != 2) {
    die_usage("berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
              "\"berth tag\" requires exactly 2 arguments.");
    free(pos);
    return 1;
  }
  struct image_ref r;
  struct berth_err err = {0};
  if (ref_parse(pos[1], true, &r, &err) < 0) {
    fprintf(stderr, "Error parsing reference: \"%s\" is not a valid repository/tag: %s\n", pos[1],
            err.msg);
    free(pos);
    return 1;
  }
  cleanup_free char *repo = ref_repo_canonical(&r);
  cleanup_free char *erepo = url_escape(repo);
  cleanup_free char *etag = url_escape(r.tag ? r.tag : "latest");
  cleanup_free char *path = xasprintf("/images/%s/tag?repo=%s&tag=%s", pos[0], erepo, etag);
  ref_free(&r);
  free(pos);
  return api_call("POST", path, NULL, NULL, NULL) < 0 ? 1 : 0;
}

int cmd_rmi(int argc, char **argv) {
  bool force = false, no_prune = false;
  const struct flag flags[] = {{"force", 'f', F_BOOL, &force, "Force removal of the image"},
                               {"no-prune", 0, F_BOOL, &no_prune, "Do not delete untagged parents"},
                               {0}};
  PARSE("berth rmi [OPTIONS] IMAGE [IMAGE...]", flags);
  if (npos < 1) {
    die_usage("berth rmi [OPTIONS] IMAGE [IMAGE...]",
              "\"berth rmi\" requires at least 1 argument.");
    free(pos);
    return 1;
  }
  int rc = 0;
  for (int i = 0; i < npos; i++) {
    cleanup_free char *path = xasprintf("/images/%s?force=%d&noprune=%d", pos[i], force, no_prune);
    struct http_req req = {.method = "DELETE", .path = path, .upload_fd = -1};
    struct http_resp resp;
    if (http_do(&req, &resp) < 0) return 1;
    if (resp.status >= 400) {
      char *m = resp_error_message(&resp);
      fprintf(stderr, "Error response from daemon: %s\n", m);
      free(m);
      if (!(force && resp.status == 404)) rc = 1;
    } else {
      json_t *list = json_loadb(resp.body, resp.len, 0, NULL);
      size_t k;
      json_t *e;
      json_array_foreach(list, k, e) {
        const char *u = json_string_value(json_object_get(e, "Untagged"));
        const char *d = json_string_value(json_object_get(e, "Deleted"));
        if (u) printf("Untagged: %s\n", u);
        if (d) printf("Deleted: %s\n", d);
      }
      json_decref(list);
    }
    http_resp_free(&resp);
  }
  free(pos);
  return rc;
}

static int upload_stream(const char *path, int fd, struct jsonstream *js) {
  struct http_req req = {.method = "POST",
                         .path = path,
                         .content_type = "application/x-tar",
                         .upload_fd = fd,
                         .sink = js_sink,
                         .sink_ctx = js};
  struct http_resp resp;
  if (http_do(&req, &resp) < 0) return 1;
  int rc = 0;
  if (resp.status >= 400) {
    char *m = resp_error_message(&resp);
    fprintf(stderr, "Error response from daemon: %s\n", m);
    free(m);
    rc = 1;
  } else if (js->len) {
    js_sink("\n", 1, js);
  }
  http_resp_free(&resp);
  free(js->buf);
  json_decref(js->ids);
  return rc ? rc : js->error;
}

int cmd_load(int argc, char **argv) {
  const char *input = NULL;
  bool quiet = false;
  const struct flag flags[] = {
      {"input", 'i', F_STRING, &input, "Read from tar archive file, instead of STDIN"},
      {"quiet", 'q', F_BOOL, &quiet, "Suppress the load output"},
      {0}};
  PARSE("berth load [OPTIONS]", flags);
  free(pos);
  int fd = 0;
  if (input) {
    fd = open(input, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      fprintf(stderr, "open %s: %s\n", input, strerror(errno));
      return 1;
    }
  } else if (isatty(0)) {
    fprintf(stderr, "requested load from stdin, but stdin is empty\n");
    return 1;
  }
  struct jsonstream js = {.tty = isatty(1), .ids = json_object()};
  int rc =
      upload_stream(quiet || !js.tty ? "/images/load?quiet=1" : "/images/load?quiet=0", fd, &js);
  if (fd) close(fd);
  return rc;
}

static int save_sink(const char *data, size_t len, void *ctx) {
  return write_all_fd(*(int *)ctx, data, len);
}

int cmd_save(int argc, char **argv) {
  const char *output = NULL;
  const struct flag flags[] = {
      {"output", 'o', F_STRING, &output, "Write to a file, instead of STDOUT"}, {0}};
  PARSE("berth save [OPTIONS] IMAGE [IMAGE...]", flags);
  if (npos < 1) {
    die_usage("berth save [OPTIONS] IMAGE [IMAGE...]",
              "\"berth save\" requires at least 1 argument.");
    free(pos);
    return 1;
  }
  if (!output && isatty(1)) {
    fprintf(stderr, "cowardly refusing to save to a terminal. Use the -o flag or redirect\n");
    free(pos);
    return 1;
  }
  char *path = xstrdup("/images/get?");
  for (int i = 0; i < npos; i++) {
    cleanup_free char *e = url_escape(pos[i]);
    char *n = xasprintf("%s%snames=%s", path, i ? "&" : "", e);
    free(path);
    path = n;
  }
  free(pos);
  int rc = download_to(path, output, "save image");
  free(path);
  return rc;
}

int download_to(const char *path, const char *output, const char *what) {
  int fd = 1;
  cleanup_free char *tmp = output ? xasprintf("%s.tmp-berth", output) : NULL;
  if (output && (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
    fprintf(stderr, "failed to %s: invalid output path: %s\n", what, strerror(errno));
    return 1;
  }
  struct http_req req = {
      .method = "GET", .path = path, .upload_fd = -1, .sink = save_sink, .sink_ctx = &fd};
  struct http_resp resp;
  int rc = http_do(&req, &resp) < 0 ? 1 : 0;
  if (rc == 0 && resp.status >= 400) {
    char *m = resp_error_message(&resp);
    fprintf(stderr, "Error response from daemon: %s\n", m);
    free(m);
    rc = 1;
  }
  http_resp_free(&resp);
  if (output) {
    if (rc == 0 && (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, output) < 0)) {
      fprintf(stderr, "failed to %s: %s\n", what, strerror(errno));
      rc = 1;
    }
    if (rc) {
      close(fd);
      unlink(tmp);
    }
  }
  return rc;
}

int cmd_import(int argc, char **argv) {
  struct strlist changes = {0};
  const char *message = NULL, *platform = NULL;
  const struct flag flags[] = {
      {"change", 'c', F_LIST, &changes, "Apply Dockerfile instruction to the created image"},
      {"message", 'm', F_STRING, &message, "Set commit message for imported image"},
      {"platform", 0, F_STRING, &platform, "Set platform if server is multi-platform capable"},
      {0}};
  PARSE("berth import [OPTIONS] file|-  [REPOSITORY[:TAG]]", flags);
  if (npos < 1 || npos > 2) {
    die_usage("berth import [OPTIONS] file|- [REPOSITORY[:TAG]]",
              "\"berth import\" requires at least 1 and at most 2 arguments.");
    free(pos);
    return 1;
  }
  char *path = xstrdup("/images/create?fromSrc=-");
  if (npos == 2) {
    cleanup_free char *e = url_escape(pos[1]);
    char *n = xasprintf("%s&repo=%s", path, e);
    free(path);
    path = n;
  }
  if (message) {
    cleanup_free char *e = url_escape(message);
    char *n = xasprintf("%s&message=%s", path, e);
    free(path);
    path = n;
  }
  for (size_t i = 0; i < changes.n; i++) {
    cleanup_free char *e = url_escape(changes.v[i]);
    char *n = xasprintf("%s&changes=%s", path, e);
    free(path);
    path = n;
  }
  free(changes.v);
  int fd = 0;
  if (strcmp(pos[0], "-")) {
    fd = open(pos[0], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      fprintf(stderr, "open %s: %s\n", pos[0], strerror(errno));
      free(pos);
      free(path);
      return 1;
    }
  }
  free(pos);
  struct jsonstream js = {.tty = isatty(1), .ids = json_object()};
  int rc = upload_stream(path, fd, &js);
  free(path);
  if (fd) close(fd);
  return rc;
}

int cmd_pull(int argc, char **argv) {
  bool quiet = false, all = false;
  const char *platform = NULL;
  const struct flag flags[] = {
      {"all-tags", 'a', F_BOOL, &all, "Download all tagged images in the repository"},
      {"quiet", 'q', F_BOOL, &quiet, "Suppress verbose output"},
      {"platform", 0, F_STRING, &platform, "Set platform if server is multi-platform capable"},
      {0}};
  PARSE("berth pull [OPTIONS] NAME[:TAG|@DIGEST]", flags);
  if (npos != 1) {
    die_usage("berth pull [OPTIONS] NAME[:TAG|@DIGEST]",
              "\"berth pull\" requires exactly 1 argument.");
    free(pos);
    return 1;
  }
  struct image_ref r;
  struct berth_err err = {0};
  if (ref_parse(pos[0], !all, &r, &err) < 0) {
    fprintf(stderr, "%s\n", err.msg);
    free(pos);
    return 1;
  }
  free(pos);
  cleanup_free char *repo = ref_repo_canonical(&r);
  cleanup_free char *erepo = url_escape(repo);
  const char *tag = r.digest ? r.digest : r.tag;
  cleanup_free char *eplat = platform ? url_escape(platform) : NULL;
  cleanup_free char *path =
      xasprintf("/images/create?fromImage=%s%s%s%s%s", erepo, tag ? "&tag=" : "", tag ? tag : "",
                eplat ? "&platform=" : "", eplat ? eplat : "");
  cleanup_free char *full = ref_canonical(&r);
  cleanup_free char *auth = registry_auth_header(r.domain);
  ref_free(&r);
  int rc = post_json_stream(path, auth, quiet);
  if (rc == 0) printf("%s\n", full); /* as docker pull does */
  return rc;
}

int cmd_image(int argc, char **argv) {
  static const struct command sub[] = {
      {"ls", cmd_images, NULL},
      {"list", cmd_images, NULL},
      {"inspect", cmd_image_inspect, "Display detailed information on one or more images"},
      {"history", cmd_history, NULL},
      {"tag", cmd_tag, NULL},
      {"rm", cmd_rmi, NULL},
      {"remove", cmd_rmi, NULL},
      {"load", cmd_load, NULL},
      {"save", cmd_save, NULL},
      {"import", cmd_import, NULL},
      {"pull", cmd_pull, NULL},
      {"push", cmd_push, NULL},
      {"prune", cmd_image_prune, "Remove unused images"},
      {"build", cmd_build, NULL},
  };
  return run_subcommand("image", sub, ARRAY_SIZE(sub),
                        "ls inspect history tag rm load save import pull push prune build", argc,
                        argv);
}
