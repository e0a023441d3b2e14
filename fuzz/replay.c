/* replay.c - runs a fuzz target's LLVMFuzzerTestOneInput over files without libFuzzer, so
   any compiler can build it (make test builds every target with gcc, clang, gcc -m32 and
   gcc -DWS_NO_SIMD, all under ASan+UBSan, and replays fuzz/corpus/<target>/ through it).

   Usage: replay_<target> FILE_OR_DIR...   (directories: every regular file in them)
   Prints "replay_<target>: N inputs" and exits 0; a failing target check aborts, and a
   sanitizer report ends the run, naming the input on stderr just before it.

   Built with FZ_TARGETS(X) defined as X(name) for each target, it is one driver for them
   all, each target's entry point renamed fz_one_<name> (fuzz/fuzz.mk: one program per
   build links every target, so make check compiles ws.h once per build, not per target):
   Usage: replay_<build> TARGET FILE_OR_DIR...   prints "TARGET: N inputs". */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef FZ_TARGETS
#define FZ_DECLARE(t) int fz_one_##t(const uint8_t *data, size_t size);
FZ_TARGETS(FZ_DECLARE)
static const struct fz_target {
    const char *name;
    int (*one)(const uint8_t *data, size_t size);
} targets[] = {
#define FZ_ENTRY(t) { #t, fz_one_##t },
    FZ_TARGETS(FZ_ENTRY)
};
static int (*one)(const uint8_t *data, size_t size);
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#define one LLVMFuzzerTestOneInput
#endif

static long count;

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;
    if (!f) { perror(path); return -1; }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        perror(path);
        fclose(f);
        return -1;
    }
    /* exactly n bytes on the heap: AddressSanitizer sees a read past the input */
    buf = (uint8_t *)malloc(n ? (size_t)n : 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    fprintf(stderr, "%s\n", path);
    one(buf, (size_t)n);
    free(buf);
    count++;
    return 0;
}

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path) {
    struct stat st;
    DIR *d;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    int rc = 0;
    if (stat(path, &st) != 0) { perror(path); return -1; }
    if (!S_ISDIR(st.st_mode)) return run_file(path);
    if (!(d = opendir(path))) { perror(path); return -1; }
    while ((e = readdir(d)) != NULL) {          /* sorted, so runs are reproducible */
        char *full;
        if (e->d_name[0] == '.') continue;
        full = (char *)malloc(strlen(path) + strlen(e->d_name) + 2);
        if (!full) { closedir(d); return -1; }
        sprintf(full, "%s/%s", path, e->d_name);
        if (n == cap) {
            char **m = (char **)realloc(names, (cap = cap ? 2 * cap : 64) * sizeof *names);
            if (!m) { free(full); closedir(d); return -1; }
            names = m;
        }
        names[n++] = full;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp);
    for (i = 0; i < n; i++) {
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode) && run_file(names[i]) < 0) rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv) {
    const char *name = strrchr(argv[0], '/');
    int i = 1, rc = 0;
#ifdef FZ_TARGETS
    size_t k;
    for (k = 0; argc > 1 && k < sizeof targets / sizeof targets[0]; k++)
        if (strcmp(argv[1], targets[k].name) == 0) one = targets[k].one;
    if (argc < 3 || !one) {
        fprintf(stderr, "usage: %s TARGET FILE_OR_DIR...\n  targets:", argv[0]);
        for (k = 0; k < sizeof targets / sizeof targets[0]; k++)
            fprintf(stderr, " %s", targets[k].name);
        fprintf(stderr, "\n");
        return 2;
    }
    name = argv[1];
    i = 2;
#else
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    name = name ? name + 1 : argv[0];
#endif
    for (; i < argc; i++)
        if (run_path(argv[i]) < 0) rc = 1;
    printf("%s: %ld inputs\n", name, count);
    return rc;
}
