#include <ctype.h>
#include <sys/utsname.h>

#include "cli.h"

static const char *jstr(json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

int cmd_version(int argc, char **argv) {
  const char *format = NULL;
  const struct flag flags[] = {
      {"format", 'f', F_STRING, &format, "Format output using a custom template"}, {0}};
  int n;
  char **pos;
  int r = parse_flags(argc, argv, flags, "berth version [OPTIONS]", &n, &pos);
  if (r) return r < 0 ? 125 : 0;
  free(pos);
  json_t *server = NULL;
  int rc = api_call("GET", "/version", NULL, &server, NULL);
  json_t *client = json_pack("{s:s,s:s,s:s,s:s}", "Version", PACKAGE_VERSION, "ApiVersion", "1.43",
                             "Os", "linux", "Arch", host_arch());
  if (format) {
    json_t *all = json_pack("{s:o,s:O}", "Client", client, "Server", server ? server : json_null());
    char *s = template_render(format, all);
    printf("%s\n", s);
    free(s);
    json_decref(all);
    json_decref(server);
    return rc < 0 ? 1 : 0;
  }
  printf("Client:\n Version:           %s\n API version:       1.43\n Built with:        C\n "
         "OS/Arch:           linux/%s\n\n",
         PACKAGE_VERSION, jstr(client, "Arch"));
  json_decref(client);
  if (rc < 0) return 1;
  json_t *comp = json_array_get(json_object_get(server, "Components"), 0);
  json_t *det = json_object_get(comp, "Details");
  printf(
      "Server: %s\n Engine:\n  Version:          %s\n  API version:      %s (minimum version %s)\n"
      "  Plugin ABI:       %s\n  OS/Arch:          %s/%s\n  Kernel:           %s\n",
      jstr(json_object_get(server, "Platform"), "Name"), jstr(server, "Version"),
      jstr(server, "ApiVersion"), jstr(server, "MinAPIVersion"), jstr(det, "PluginABI"),
      jstr(server, "Os"), jstr(server, "Arch"), jstr(server, "KernelVersion"));
  json_decref(server);
  return 0;
}

int cmd_info(int argc, char **argv) {
  const char *format = NULL;
  const struct flag flags[] = {
      {"format", 'f', F_STRING, &format, "Format output using a custom template"}, {0}};
  int n;
  char **pos;
  int r = parse_flags(argc, argv, flags, "berth info [OPTIONS]", &n, &pos);
  if (r) return r < 0 ? 125 : 0;
  free(pos);
  json_t *i = NULL;
  if (api_call("GET", "/info", NULL, &i, NULL) < 0) return 1;
  if (format) {
    char *s = template_render(format, i);
    printf("%s\n", s);
    free(s);
    json_decref(i);
    return 0;
  }
  printf("Server:\n Containers: %lld\n  Running: %lld\n  Paused: %lld\n  Stopped: %lld\n Images: "
         "%lld\n",
         (long long)json_integer_value(json_object_get(i, "Containers")),
         (long long)json_integer_value(json_object_get(i, "ContainersRunning")),
         (long long)json_integer_value(json_object_get(i, "ContainersPaused")),
         (long long)json_integer_value(json_object_get(i, "ContainersStopped")),
         (long long)json_integer_value(json_object_get(i, "Images")));
  printf(" Server Version: %s\n Storage Driver: %s\n", jstr(i, "ServerVersion"), jstr(i, "Driver"));
  size_t k;
  json_t *row;
  json_array_foreach(json_object_get(i, "DriverStatus"), k, row)
      printf("  %s: %s\n", json_string_value(json_array_get(row, 0)),
             json_string_value(json_array_get(row, 1)));
  printf(" Logging Driver: %s\n Cgroup Driver: %s\n Cgroup Version: %s\n Default Network: %s\n",
         jstr(i, "LoggingDriver"), jstr(i, "CgroupDriver"), jstr(i, "CgroupVersion"),
         jstr(i, "DefaultNetwork"));
  printf(" Plugins (ABI %s):\n", jstr(i, "PluginABI"));
  json_array_foreach(json_object_get(json_object_get(i, "Plugins"), "Drivers"), k, row)
      printf("  %-8s %-12s %-8s ABI %s  %s (%s)\n", jstr(row, "Kind"), jstr(row, "Name"),
             jstr(row, "Version"), jstr(row, "ABI"), jstr(row, "Origin"), jstr(row, "Status"));
  printf(
      " Kernel Version: %s\n Operating System: %s\n OSType: %s\n Architecture: %s\n CPUs: %lld\n",
      jstr(i, "KernelVersion"), jstr(i, "OperatingSystem"), jstr(i, "OSType"),
      jstr(i, "Architecture"), (long long)json_integer_value(json_object_get(i, "NCPU")));
  char mem[32];
  double gib = (double)json_integer_value(json_object_get(i, "MemTotal")) / (1024.0 * 1024 * 1024);
  snprintf(mem, sizeof mem, "%.2fGiB", gib);
  printf(" Total Memory: %s\n Name: %s\n ID: %s\n Berth Root Dir: %s\n Debug Mode: %s\n", mem,
         jstr(i, "Name"), jstr(i, "ID"), jstr(i, "DockerRootDir"),
         json_is_true(json_object_get(i, "Debug")) ? "true" : "false");
  printf(" Security Options:\n");
  json_array_foreach(json_object_get(i, "SecurityOptions"), k, row) {
    char *opt = xstrdup(json_string_value(row) ?: ""), *save = NULL;
    for (char *kv = strtok_r(opt, ",", &save); kv; kv = strtok_r(NULL, ",", &save))
      if (str_has_prefix(kv, "name="))
        printf("  %s\n", kv + 5);
      else if (strchr(kv, '='))
        printf("   %c%.*s: %s\n", toupper((unsigned char)*kv), (int)(strchr(kv, '=') - kv - 1),
               kv + 1, strchr(kv, '=') + 1);
    free(opt);
  }
  if (*jstr(i, "AppArmor")) printf("  apparmor: %s\n", jstr(i, "AppArmor"));
  json_t *w = json_object_get(i, "Warnings");
  json_array_foreach(w, k, row) fprintf(stderr, "WARNING: %s\n", json_string_value(row));
  json_decref(i);
  return 0;
}

static int plugin_ls(int argc, char **argv) {
  const char *format = NULL;
  bool quiet = false;
  const struct flag flags[] = {
      {"format", 0, F_STRING, &format, "Format output using a custom template"},
      {"quiet", 'q', F_BOOL, &quiet, "Only display driver names"},
      {0}};
  int n;
  char **pos;
  int r = parse_flags(argc, argv, flags, "berth plugin ls [OPTIONS]", &n, &pos);
  if (r) return r < 0 ? 125 : 0;
  free(pos);
  json_t *i = NULL;
  if (api_call("GET", "/info", NULL, &i, NULL) < 0) return 1;
  json_t *rows = json_object_get(json_object_get(i, "Plugins"), "Drivers");
  static const char *const headers[][2] = {
      {"Kind", "KIND"}, {"Name", "NAME"},     {"Version", "VERSION"},
      {"ABI", "ABI"},   {"Origin", "ORIGIN"}, {"Status", "STATUS"},
      {NULL, NULL}};
  print_rows(rows, quiet ? "{{.Name}}" : format,
             "table {{.Kind}}\t{{.Name}}\t{{.Version}}\t{{.ABI}}\t{{.Origin}}\t{{.Status}}",
             headers, false);
  json_decref(i);
  return 0;
}

int cmd_plugin(int argc, char **argv) {
  static const struct command sub[] = {
      {"ls", plugin_ls, "List berth's drivers (storage, network, log, registry, volume)"},
      {"list", plugin_ls, "List berth's drivers (storage, network, log, registry, volume)"},
  };
  return run_subcommand("plugin", sub, ARRAY_SIZE(sub), "ls", argc, argv);
}

/* ---------------- system df ---------------- */

struct usage {
  int total, active;
  int64_t size, reclaimable;
};

static void usage_row(const char *type, const struct usage *u, bool pct) {
  char size[32], rec[32], rec_pct[48];
  human_size((double)u->size, size, sizeof size);
  human_size((double)u->reclaimable, rec, sizeof rec);
  if (pct)
    snprintf(rec_pct, sizeof rec_pct, "%s (%d%%)", rec,
             u->size ? (int)(u->reclaimable * 100 / u->size) : 0);
  else
    snprintf(rec_pct, sizeof rec_pct, "%s", rec);
  printf("%-16s%-10d%-10d%-10s%s\n", type, u->total, u->active, size, rec_pct);
}

static int64_t num_of(json_t *o, const char *k) {
  return json_integer_value(json_object_get(o, k));
}

/* docker's accounting: images used by a container are not reclaimable,
 * containers that do not run are, volumes no container uses are */
static void df_summary(json_t *df) {
  struct usage im = {0}, ct = {0}, vo = {0};
  size_t i;
  json_t *x;
  im.size = num_of(df, "LayersSize");
  json_array_foreach(json_object_get(df, "Images"), i, x) {
    im.total++;
    if (num_of(x, "Containers") > 0)
      im.active++;
    else
      im.reclaimable += num_of(x, "Size");
  }
  if (im.reclaimable > im.size) im.reclaimable = im.size;
  json_array_foreach(json_object_get(df, "Containers"), i, x) {
    ct.total++;
    ct.size += num_of(x, "SizeRw");
    if (!strcmp(jstr(x, "State"), "running"))
      ct.active++;
    else
      ct.reclaimable += num_of(x, "SizeRw");
  }
  json_array_foreach(json_object_get(df, "Volumes"), i, x) {
    json_t *u = json_object_get(x, "UsageData");
    vo.total++;
    vo.size += num_of(u, "Size");
    if (num_of(u, "RefCount") > 0)
      vo.active++;
    else
      vo.reclaimable += num_of(u, "Size");
  }
  struct usage cache = {0};
  printf("%-16s%-10s%-10s%-10s%s\n", "TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE");
  usage_row("Images", &im, true);
  usage_row("Containers", &ct, true);
  usage_row("Local Volumes", &vo, true);
  usage_row("Build Cache", &cache, false);
}

/* -v: each object on a line of its own */
static void df_verbose(json_t *df) {
  size_t i;
  json_t *x;
  char size[32];
  printf("Images space usage:\n\n%-40s%-15s%-12s%s\n", "REPOSITORY:TAG", "IMAGE ID", "SIZE",
         "CONTAINERS");
  json_array_foreach(json_object_get(df, "Images"), i, x) {
    json_t *tags = json_object_get(x, "RepoTags");
    human_size((double)num_of(x, "Size"), size, sizeof size);
    printf("%-40s%-15.12s%-12s%lld\n",
           json_array_size(tags) ? json_string_value(json_array_get(tags, 0)) : "<none>:<none>",
           jstr(x, "Id") + (strncmp(jstr(x, "Id"), "sha256:", 7) ? 0 : 7), size,
           (long long)num_of(x, "Containers"));
  }
  printf("\nContainers space usage:\n\n%-15s%-20s%-12s%-12s%s\n", "CONTAINER ID", "IMAGE", "SIZE",
         "STATUS", "NAMES");
  json_array_foreach(json_object_get(df, "Containers"), i, x) {
    human_size((double)num_of(x, "SizeRw"), size, sizeof size);
    printf("%-15.12s%-20s%-12s%-12s%s\n", jstr(x, "Id"), jstr(x, "Image"), size, jstr(x, "State"),
           json_string_value(json_array_get(json_object_get(x, "Names"), 0)) + 1);
  }
  printf("\nLocal Volumes space usage:\n\n%-66s%-10s%s\n", "VOLUME NAME", "LINKS", "SIZE");
  json_array_foreach(json_object_get(df, "Volumes"), i, x) {
    json_t *u = json_object_get(x, "UsageData");
    human_size((double)num_of(u, "Size"), size, sizeof size);
    printf("%-66s%-10lld%s\n", jstr(x, "Name"), (long long)num_of(u, "RefCount"), size);
  }
  printf("\nBuild cache usage: 0B\n");
}

static int system_df(int argc, char **argv) {
  bool verbose = false;
  const char *format = NULL;
  const struct flag flags[] = {
      {"verbose", 'v', F_BOOL, &verbose, "Show detailed information on space usage"},
      {"format", 0, F_STRING, &format, "Format output using a custom template"},
      {0}};
  PARSE("berth system df [OPTIONS]", flags);
  free(pos);
  json_t *df = NULL;
  if (api_call("GET", "/system/df", NULL, &df, NULL) < 0) return 1;
  if (format) {
    char *s = template_render(format, df);
    printf("%s\n", s);
    free(s);
  } else if (verbose) {
    df_verbose(df);
  } else {
    df_summary(df);
  }
  json_decref(df);
  return 0;
}

int cmd_system(int argc, char **argv) {
  static const struct command sub[] = {
      {"df", system_df, "Show berth disk usage"},
      {"events", cmd_events, NULL},
      {"info", cmd_info, NULL},
      {"prune", cmd_system_prune, "Remove unused data"},
  };
  return run_subcommand("system", sub, ARRAY_SIZE(sub), "df events info prune", argc, argv);
}
