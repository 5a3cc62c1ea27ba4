/* Drivers linked into berthd.  They are loaded through the same validation
 * as .so plugins (plugin_validate). */
#include "plugin.h"

const struct berth_plugin *vfs_LTX_berth_plugin_entry(void);
const struct berth_plugin *none_LTX_berth_plugin_entry(void);
const struct berth_plugin *host_LTX_berth_plugin_entry(void);
const struct berth_plugin *json_file_LTX_berth_plugin_entry(void);
const struct berth_plugin *volume_local_LTX_berth_plugin_entry(void);

const struct builtin_plugin berth_builtin_plugins[] = {
    {BERTH_KIND_STORAGE, "vfs", vfs_LTX_berth_plugin_entry},
    {BERTH_KIND_NETWORK, "none", none_LTX_berth_plugin_entry},
    {BERTH_KIND_NETWORK, "host", host_LTX_berth_plugin_entry},
    {BERTH_KIND_LOGGER, "json-file", json_file_LTX_berth_plugin_entry},
    {BERTH_KIND_VOLUME, "local", volume_local_LTX_berth_plugin_entry},
};
const size_t berth_n_builtin_plugins = ARRAY_SIZE(berth_builtin_plugins);
