/* Process and GPU monitors of nnbench serve (serve_sys.h). */
#define _GNU_SOURCE
#include "serve_sys.h"

#include "device.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

double nnb_sys_process_cpu_s(void) {
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return -1;
    char buf[2048];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    unsigned long utime = 0, stime = 0;
    /* After ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15). */
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? (double)(utime + stime) / (double)hz : -1;
}

/* The few NVML entry points used, declared here (nvml.h is not part of the toolkit here). */
typedef int nvml_return;
typedef void *nvml_device;
typedef struct nvml_utilization {
    unsigned int gpu, memory;
} nvml_utilization;
typedef struct nvml_memory {
    unsigned long long total, free, used;
} nvml_memory;

typedef struct nvml_api {
    void *lib;
    nvml_return (*init)(void);
    nvml_return (*shutdown)(void);
    nvml_return (*handle)(const char *, nvml_device *); /* by PCI bus id */
    nvml_return (*utilization)(nvml_device, nvml_utilization *);
    nvml_return (*memory)(nvml_device, nvml_memory *);
} nvml_api;

struct nnb_sys_sampler {
    double wall0_ms, cpu0_s;
    int gpu;
    nvml_api nvml;
    nvml_device dev;
    pthread_t thread;
    int running, stop, samples;
    double util_sum, util_max, mem_max_mib;
    pthread_mutex_t lock;
};

static int load_nvml(nvml_api *a) {
    a->lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!a->lib)
        return -1;
    *(void **)&a->init = dlsym(a->lib, "nvmlInit_v2");
    *(void **)&a->shutdown = dlsym(a->lib, "nvmlShutdown");
    *(void **)&a->handle = dlsym(a->lib, "nvmlDeviceGetHandleByPciBusId_v2");
    *(void **)&a->utilization = dlsym(a->lib, "nvmlDeviceGetUtilizationRates");
    *(void **)&a->memory = dlsym(a->lib, "nvmlDeviceGetMemoryInfo");
    if (!a->init || !a->shutdown || !a->handle || !a->utilization || !a->memory || a->init() != 0) {
        dlclose(a->lib);
        a->lib = NULL;
        return -1;
    }
    return 0;
}

static void *nvml_main(void *arg) {
    nnb_sys_sampler *m = arg;
    for (;;) {
        pthread_mutex_lock(&m->lock);
        int stop = m->stop;
        pthread_mutex_unlock(&m->lock);
        if (stop)
            break;
        nvml_utilization u;
        nvml_memory mem;
        if (m->nvml.utilization(m->dev, &u) == 0 && m->nvml.memory(m->dev, &mem) == 0) {
            m->samples++;
            m->util_sum += u.gpu;
            if (u.gpu > m->util_max)
                m->util_max = u.gpu;
            double used = (double)mem.used / (1024.0 * 1024.0);
            if (used > m->mem_max_mib)
                m->mem_max_mib = used;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

nnb_sys_sampler *nnb_sys_sampler_start(int gpu, int device) {
    nnb_sys_sampler *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    pthread_mutex_init(&m->lock, NULL);
    m->wall0_ms = nnb_cpu_now_ms();
    m->cpu0_s = nnb_sys_process_cpu_s();
    /* NVML numbers devices its own way and ignores CUDA_VISIBLE_DEVICES: find the CUDA device by its PCI bus id */
    char bus_id[32];
    if (gpu && nnb_cuda_pci_bus_id(device, bus_id, sizeof bus_id) == 0 && load_nvml(&m->nvml) == 0) {
        if (m->nvml.handle(bus_id, &m->dev) == 0)
            m->running = pthread_create(&m->thread, NULL, nvml_main, m) == 0;
        m->gpu = 1;
    }
    return m;
}

void nnb_sys_sampler_stop(nnb_sys_sampler *m, nnb_serve_summary *s) {
    s->cpu_util_percent = s->gpu_util_mean = s->gpu_util_max = s->gpu_mem_peak_mib = -1;
    struct rusage ru;
    s->peak_rss_mib = getrusage(RUSAGE_SELF, &ru) == 0 ? (double)ru.ru_maxrss / 1024.0 : -1;
    if (!m)
        return;
    double wall_s = (nnb_cpu_now_ms() - m->wall0_ms) / 1e3, cpu1 = nnb_sys_process_cpu_s();
    if (m->cpu0_s >= 0 && cpu1 >= 0 && wall_s > 0)
        s->cpu_util_percent = 100.0 * (cpu1 - m->cpu0_s) / wall_s;
    if (m->running) {
        pthread_mutex_lock(&m->lock);
        m->stop = 1;
        pthread_mutex_unlock(&m->lock);
        pthread_join(m->thread, NULL);
        if (m->samples) {
            s->gpu_util_mean = m->util_sum / m->samples;
            s->gpu_util_max = m->util_max;
            s->gpu_mem_peak_mib = m->mem_max_mib;
        }
    }
    if (m->gpu && m->nvml.lib) {
        m->nvml.shutdown();
        dlclose(m->nvml.lib);
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
}
