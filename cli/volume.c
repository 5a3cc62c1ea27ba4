/* berth volume create|ls|inspect|rm|prune, with docker's flags, columns and
 * messages. */
#include "cli.h"

static int vol_ls(int argc, char **argv) {
  bool quiet = false;
  const char *format = NULL;
  struct strlist filt = {0};
  const struct flag flags[] = {{"quiet", 'q', F_BOOL, &quiet, "Only display volume names"},
                               {"format", 0, F_STRING, &format, "Format output using a template"},
                               {"filter", 'f', F_LIST, &filt, "Provide filter values"},
                               {0}};
  PARSE("berth volume ls [OPTIONS]", flags);
  free(pos);
  cleanup_free char *path = path_with_filters("/volumes", &filt, NULL);
  json_t *out = NULL;
  if (api_call("GET", path, NULL, &out, NULL) < 0) return 1;
  json_t *rows = json_object_get(out, "Volumes");
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) { /* docker's formatter's fields */
    json_object_set_new(r, "Labels", labels_joined(json_object_get(r, "Labels")));
    json_object_set_new(r, "Links", json_string("N/A"));
    json_object_set_new(r, "Size", json_string("N/A"));
  }
  sort_by_name(rows);
  static const char *const headers[][2] = {{"Driver", "DRIVER"}, {"Name", "VOLUME NAME"},
                                           {"Scope", "SCOPE"},   {"Mountpoint", "MOUNTPOINT"},
                                           {"Labels", "LABELS"}, {"Links", "LINKS"},
                                           {"Size", "SIZE"},     {NULL, NULL}};
  print_rows(rows, quiet ? "{{.Name}}" : format, "table {{.Driver}}\t{{.Name}}", headers, false);
  json_decref(out);
  return 0;
}

static int vol_create(int argc, char **argv) {
  const char *driver = "local", *name = NULL;
  struct strlist opts = {0}, labels = {0};
  const struct flag flags[] = {
      {"driver", 'd', F_STRING, &driver, "Specify volume driver name (default \"local\")"},
      {"name", 0, F_STRING, &name, "Specify volume name"},
      {"opt", 'o', F_LIST, &opts, "Set driver specific options"},
      {"label", 0, F_LIST, &labels, "Set metadata for a volume"},
      {0}};
  PARSE("berth volume create [OPTIONS] [VOLUME]", flags);
  if (npos > 1 || (npos == 1 && name && strcmp(name, pos[0]))) {
    die_usage("berth volume create [OPTIONS] [VOLUME]",
              npos > 1 ? "\"berth volume create\" requires at most 1 argument."
                       : "conflicting options: either specify --name or provide positional arg, "
                         "not both");
    free(pos);
    return 1;
  }
  if (npos == 1) name = pos[0];
  /* what the docker CLI sends: no DriverOpts or Labels when none given */
  json_t *body =
      json_pack("{s:s,s:s,s:o*,s:o*}", "Name", name ? name : "", "Driver", driver, "DriverOpts",
                opts.n ? kv_map(&opts) : NULL, "Labels", labels.n ? kv_map(&labels) : NULL);
  free(pos);
  json_t *out = NULL;
  int r = api_call("POST", "/volumes/create", body, &out, NULL);
  json_decref(body);
  if (r < 0) return 1;
  printf("%s\n", json_string_value(json_object_get(out, "Name")) ?: "");
  json_decref(out);
  return 0;
}

static int vol_inspect(int argc, char **argv) {
  const char *format = NULL;
  const struct flag flags[] = {
      {"format", 'f', F_STRING, &format, "Format output using a custom template"}, {0}};
  PARSE("berth volume inspect [OPTIONS] VOLUME [VOLUME...]", flags);
  if (npos < 1) {
    die_usage("berth volume inspect [OPTIONS] VOLUME [VOLUME...]",
              "\"berth volume inspect\" requires at least 1 argument.");
    free(pos);
    return 1;
  }
  int rc = inspect_each("/volumes", pos, npos, format);
  free(pos);
  return rc;
}

static int vol_rm(int argc, char **argv) {
  bool force = false;
  const struct flag flags[] = {
      {"force", 'f', F_BOOL, &force, "Force the removal of one or more volumes"}, {0}};
  PARSE("berth volume rm [OPTIONS] VOLUME [VOLUME...]", flags);
  if (npos < 1) {
    die_usage("berth volume rm [OPTIONS] VOLUME [VOLUME...]",
              "\"berth volume rm\" requires at least 1 argument.");
    free(pos);
    return 1;
  }
  int rc = remove_each("/volumes", force ? "?force=1" : "", pos, npos);
  free(pos);
  return rc;
}

static int vol_prune(int argc, char **argv) {
  bool force = false, all = false;
  struct strlist filt = {0};
  const struct flag flags[] = {{"force", 'f', F_BOOL, &force, "Do not prompt for confirmation"},
                               {"all", 'a', F_BOOL, &all,
                                "Remove all unused volumes, not just "
                                "anonymous ones"},
                               {"filter", 0, F_LIST, &filt, "Provide filter values"},
                               {0}};
  PARSE("berth volume prune [OPTIONS]", flags);
  free(pos);
  if (!force && !confirm("WARNING! This will remove anonymous local volumes not used by at least "
                         "one container."))
    return 0;
  cleanup_free char *path = path_with_filters("/volumes/prune", &filt, all ? "all=true" : NULL);
  long long n = prune_post(path, "VolumesDeleted", "Volumes");
  if (n < 0) return 1;
  prune_total(n);
  return 0;
}

int cmd_volume(int argc, char **argv) {
  static const struct command sub[] = {
      {"ls", vol_ls, "List volumes"},
      {"list", vol_ls, "List volumes"},
      {"create", vol_create, "Create a volume"},
      {"inspect", vol_inspect, "Display detailed information on one or more volumes"},
      {"rm", vol_rm, "Remove one or more volumes"},
      {"remove", vol_rm, "Remove one or more volumes"},
      {"prune", vol_prune, "Remove all unused local volumes"},
  };
  return run_subcommand("volume", sub, ARRAY_SIZE(sub), "ls create inspect rm prune", argc, argv);
}
