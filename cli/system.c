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
  json_t *w = json_object_get(i, "Warnings");
  json_array_foreach(w, k, row) fprintf(stderr, "WARNING: %s\n", json_string_value(row));
  json_decref(i);
  return 0;
}

int cmd_plugin(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[1], "ls") && strcmp(argv[1], "list"))) {
    fprintf(stderr, "Usage:  berth plugin ls [--format FORMAT] [-q]\n");
    return 1;
  }
  const char *format = NULL;
  bool quiet = false;
  const struct flag flags[] = {
      {"format", 0, F_STRING, &format, "Format output using a custom template"},
      {"quiet", 'q', F_BOOL, &quiet, "Only display driver names"},
      {0}};
  int n;
  char **pos;
  int r = parse_flags(argc - 1, argv + 1, flags, "berth plugin ls [OPTIONS]", &n, &pos);
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
