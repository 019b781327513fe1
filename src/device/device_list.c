// Enumerating OpenCL devices and resolving a --device spec to one of them.
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "device/device_internal.h"

static void get_str(cl_device_id d, cl_device_info what, char *out, size_t cap) {
    out[0] = '\0';
    if (clGetDeviceInfo(d, what, cap, out, NULL) != CL_SUCCESS) out[0] = '\0';
    out[cap - 1] = '\0';
}

static void fill_info(lc_device_info *info, cl_platform_id p, cl_device_id d) {
    memset(info, 0, sizeof *info);
    clGetPlatformInfo(p, CL_PLATFORM_NAME, sizeof info->platform, info->platform, NULL);
    clGetPlatformInfo(p, CL_PLATFORM_VERSION, sizeof info->platform_version, info->platform_version,
                      NULL);
    info->platform[sizeof info->platform - 1] = '\0';
    info->platform_version[sizeof info->platform_version - 1] = '\0';
    get_str(d, CL_DEVICE_NAME, info->name, sizeof info->name);
    get_str(d, CL_DRIVER_VERSION, info->driver, sizeof info->driver);
    get_str(d, CL_DEVICE_VERSION, info->version, sizeof info->version);
    cl_device_type type = 0;
    clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    info->is_gpu = (type & CL_DEVICE_TYPE_GPU) != 0;
    info->is_cpu = (type & CL_DEVICE_TYPE_CPU) != 0;
    cl_uint cu = 0;
    clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
    info->compute_units = cu;
    cl_ulong v = 0;
    clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof v, &v, NULL);
    info->global_mem = v;
    v = 0;
    clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof v, &v, NULL);
    info->local_mem = v;
    v = 0;
    clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof v, &v, NULL);
    info->max_alloc = v;
    size_t wg = 0;
    clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
    info->max_work_group = wg;
    char ext[8192];
    get_str(d, CL_DEVICE_EXTENSIONS, ext, sizeof ext);
    info->fp64 = strstr(ext, "cl_khr_fp64") != NULL;
    info->fp16 = strstr(ext, "cl_khr_fp16") != NULL;
    cl_device_exec_capabilities caps = 0;
    clGetDeviceInfo(d, CL_DEVICE_EXECUTION_CAPABILITIES, sizeof caps, &caps, NULL);
    info->native_kernels = (caps & CL_EXEC_NATIVE_KERNEL) != 0;
}

static lc_status no_platform(void) {
    return lc_fail(LC_ERR_NO_PLATFORM,
                   "no OpenCL platform found; install one (on Debian, `apt-get install "
                   "pocl-opencl-icd` gives a CPU device)");
}

// Calls fn(platform, device, user) for every device in a stable order.
typedef int (*device_visit_fn)(cl_platform_id p, cl_device_id d, void *user);
static lc_status visit_devices(device_visit_fn fn, void *user) {
    cl_uint np = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &np);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (err == CL_SUCCESS && np == 0))
        return no_platform();
    if (err != CL_SUCCESS) return lc_cl_fail(err, "clGetPlatformIDs", "counting platforms");
    cl_platform_id *plats = calloc(np, sizeof *plats);
    if (!plats) return lc_fail(LC_ERR_NOMEM, "out of memory listing platforms");
    err = clGetPlatformIDs(np, plats, NULL);
    if (err != CL_SUCCESS) {
        free(plats);
        return lc_cl_fail(err, "clGetPlatformIDs", "listing platforms");
    }
    for (cl_uint i = 0; i < np; i++) {
        cl_uint nd = 0;
        err = clGetDeviceIDs(plats[i], CL_DEVICE_TYPE_ALL, 0, NULL, &nd);
        if (err == CL_DEVICE_NOT_FOUND || nd == 0) continue;
        if (err != CL_SUCCESS) continue; // a broken platform must not hide the others
        cl_device_id *devs = calloc(nd, sizeof *devs);
        if (!devs) {
            free(plats);
            return lc_fail(LC_ERR_NOMEM, "out of memory listing devices");
        }
        if (clGetDeviceIDs(plats[i], CL_DEVICE_TYPE_ALL, nd, devs, NULL) == CL_SUCCESS)
            for (cl_uint j = 0; j < nd; j++)
                if (fn(plats[i], devs[j], user)) {
                    free(devs);
                    free(plats);
                    return LC_ERR_NOMEM;
                }
        free(devs);
    }
    free(plats);
    return LC_OK;
}

typedef struct {
    lc_device_info *list;
    int count, cap;
    int want; // for lookup: the index wanted
    cl_platform_id platform;
    cl_device_id device;
} visit_state;

static int collect(cl_platform_id p, cl_device_id d, void *user) {
    visit_state *st = user;
    if (st->want >= 0) {
        if (st->count == st->want) st->platform = p, st->device = d;
        st->count++;
        return 0;
    }
    if (lc_grow((void **)&st->list, &st->cap, st->count + 1, sizeof *st->list)) return 1;
    fill_info(&st->list[st->count], p, d);
    st->list[st->count].index = st->count;
    st->count++;
    return 0;
}

static int default_index(const lc_device_info *list, int count) {
    for (int i = 0; i < count; i++)
        if (list[i].is_gpu) return i;
    for (int i = 0; i < count; i++)
        if (list[i].is_cpu) return i;
    return count > 0 ? 0 : -1;
}

lc_status lc_device_list(lc_device_info **out, int *count) {
    *out = NULL;
    *count = 0;
    visit_state st = {.want = -1};
    lc_status s = visit_devices(collect, &st);
    if (s != LC_OK) {
        free(st.list);
        return s == LC_ERR_NOMEM ? lc_fail(s, "out of memory listing devices") : s;
    }
    if (st.count == 0) {
        free(st.list);
        return lc_fail(LC_ERR_NO_PLATFORM, "OpenCL platforms exist but offer no device; install "
                                           "one (on Debian, `apt-get install pocl-opencl-icd` "
                                           "gives a CPU device)");
    }
    int def = default_index(st.list, st.count);
    if (def >= 0) st.list[def].is_default = 1;
    *out = st.list;
    *count = st.count;
    return LC_OK;
}

static int contains_ci(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n) return 1;
    }
    return n == 0;
}

lc_status lc_device_resolve(int *index, const lc_device_info *list, int count, const char *spec) {
    if (!spec || !*spec) spec = getenv("LATENTCL_DEVICE");
    if (!spec || !*spec) {
        *index = default_index(list, count);
        if (*index < 0) return lc_fail(LC_ERR_NO_DEVICE, "no OpenCL device");
        return LC_OK;
    }
    if (!strcmp(spec, "gpu") || !strcmp(spec, "cpu")) {
        int want_gpu = spec[0] == 'g';
        for (int i = 0; i < count; i++)
            if (want_gpu ? list[i].is_gpu : list[i].is_cpu) {
                *index = i;
                return LC_OK;
            }
        return lc_fail(LC_ERR_NO_DEVICE, "no %s device (see `latentcl devices`)", spec);
    }
    char *end = NULL;
    long v = strtol(spec, &end, 10);
    if (end != spec && *end == '\0') {
        if (v < 0 || v >= count)
            return lc_fail(LC_ERR_NO_DEVICE, "no device %s (see `latentcl devices`)", spec);
        *index = (int)v;
        return LC_OK;
    }
    for (int i = 0; i < count; i++)
        if (contains_ci(list[i].name, spec)) {
            *index = i;
            return LC_OK;
        }
    return lc_fail(LC_ERR_NO_DEVICE, "no device matching '%s' (see `latentcl devices`)", spec);
}

// Used by lc_device_open: the platform and device handles of list index i.
lc_status lc_device_handles(cl_platform_id *p, cl_device_id *d, int index);
lc_status lc_device_handles(cl_platform_id *p, cl_device_id *d, int index) {
    visit_state st = {.want = index};
    LC_TRY(visit_devices(collect, &st));
    if (!st.device)
        return lc_fail(LC_ERR_NO_DEVICE, "no device %d (see `latentcl devices`)", index);
    *p = st.platform;
    *d = st.device;
    return LC_OK;
}
