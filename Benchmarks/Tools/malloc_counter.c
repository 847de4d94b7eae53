// Counts heap allocations of a process (LD_PRELOAD): SIGUSR2 writes the count so far to
// /tmp/malloc_count.<pid>. Used by Benchmarks/count-allocations.sh for allocations per call.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static atomic_ulong count;
static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);

static void dump(int sig) {
    (void)sig;
    char path[64];
    snprintf(path, sizeof path, "/tmp/malloc_count.%d", (int)getpid());
    FILE *f = fopen(path, "w");
    if (f) { fprintf(f, "%lu\n", (unsigned long)atomic_load(&count)); fclose(f); }
}

__attribute__((constructor)) static void init(void) {
    signal(SIGUSR2, dump);
}

// dlsym may itself call calloc: serve those from a small static buffer.
static char bootstrap[4096];
static size_t bootstrap_used;

void *malloc(size_t size) {
    if (!real_malloc) real_malloc = dlsym(RTLD_NEXT, "malloc");
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    return real_malloc(size);
}

void *calloc(size_t n, size_t size) {
    if (!real_calloc) {
        size_t total = n * size;
        if (bootstrap_used + total <= sizeof bootstrap) {
            void *p = bootstrap + bootstrap_used;
            bootstrap_used += (total + 15) & ~(size_t)15;
            return p;
        }
        real_calloc = dlsym(RTLD_NEXT, "calloc");
    }
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    return real_calloc(n, size);
}

void *realloc(void *p, size_t size) {
    if (!real_realloc) real_realloc = dlsym(RTLD_NEXT, "realloc");
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    return real_realloc(p, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    if (!real_posix_memalign) real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    return real_posix_memalign(out, alignment, size);
}

void free(void *p) {
    static void (*real_free)(void *);
    if (p >= (void *)bootstrap && p < (void *)(bootstrap + sizeof bootstrap)) return;
    if (!real_free) real_free = dlsym(RTLD_NEXT, "free");
    real_free(p);
}
