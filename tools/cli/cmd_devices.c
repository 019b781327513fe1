// latentcl devices — the OpenCL devices this machine offers.
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "latentcl/device.h"

static void print_json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

int cmd_devices(int argc, char **argv) {
    const cli_opt opts[] = {{"--json", OPT_FLAG, &g_cli.json, "one JSON object per device", NULL},
                            {NULL}};
    int code;
    if (cli_parse("devices", "[--json]", "List every OpenCL device; * marks the default.", argc,
                  argv, 1, opts, NULL, 0, NULL, &code))
        return code;
    lc_device_info *list = NULL;
    int count = 0;
    lc_status s = lc_device_list(&list, &count);
    if (s != LC_OK) return cli_report(s);
    int chosen = -1;
    // The default honours $LATENTCL_DEVICE, as every other verb does.
    if (lc_device_resolve(&chosen, list, count, NULL) != LC_OK) chosen = -1;
    if (!g_cli.json)
        printf("%-3s %-28s %-34s %-4s %5s %10s %6s %5s %5s\n", "idx", "platform", "device", "type",
               "CUs", "memory", "local", "fp64", "fp16");
    for (int i = 0; i < count; i++) {
        const lc_device_info *d = &list[i];
        const char *type = d->is_gpu ? "gpu" : d->is_cpu ? "cpu" : "acc";
        if (g_cli.json) {
            printf("{\"index\":%d,\"platform\":", d->index);
            print_json_string(d->platform);
            printf(",\"device\":");
            print_json_string(d->name);
            printf(",\"driver\":");
            print_json_string(d->driver);
            printf(",\"type\":\"%s\",\"compute_units\":%u,\"global_mem_bytes\":%llu,"
                   "\"local_mem_bytes\":%llu,\"max_work_group\":%zu,\"fp64\":%s,\"fp16\":%s,"
                   "\"native_kernels\":%s,\"default\":%s}\n",
                   type, d->compute_units, (unsigned long long)d->global_mem,
                   (unsigned long long)d->local_mem, d->max_work_group, d->fp64 ? "true" : "false",
                   d->fp16 ? "true" : "false", d->native_kernels ? "true" : "false",
                   i == chosen ? "true" : "false");
        } else {
            printf("%-3d %-28.28s %-34.34s %-4s %5u %7.1f GB %3llu KB %5s %5s%s\n", d->index,
                   d->platform, d->name, type, d->compute_units, (double)d->global_mem / 1e9,
                   (unsigned long long)(d->local_mem / 1024), d->fp64 ? "yes" : "no",
                   d->fp16 ? "yes" : "no", i == chosen ? "  *" : "");
        }
    }
    free(list);
    return 0;
}
