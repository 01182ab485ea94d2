/*
 * Shared bits of the libFuzzer targets: a NUL-terminated copy of the input
 * (most parsers here take C strings), the entry point's prototype, and the
 * scratch folders of the targets that read a file from a folder.
 */
#ifndef DNSPROP_FUZZ_H
#define DNSPROP_FUZZ_H

#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A malloc'd copy of data with a NUL after it (the caller frees); NULL when
 * out of memory. Embedded NULs stay, so C-string parsers see a prefix. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        return NULL;
    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Stops the fuzzer (abort: libFuzzer records the input) when a documented
 * postcondition of the code under test does not hold. */
#define FUZZ_ASSERT(cond)                                                                          \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* Empties and removes a scratch folder of plain files (faster than rm -rf);
 * nothing when it is not there. */
static inline void fuzz_rm_rf(const char *d)
{
    DIR *dir = opendir(d);
    if (dir == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            unlinkat(dirfd(dir), e->d_name, 0) != 0)
            abort();
    closedir(dir);
    if (rmdir(d) != 0)
        abort();
}

#define FUZZ_PATHLEN 128

/* The scratch folder of fuzz_source_folder ("" until made). */
static char fuzz_scratch[FUZZ_PATHLEN / 2];

/* At exit: the scratch folder and what the last input left in it. */
static inline void fuzz_scratch_remove(void)
{
    char d[FUZZ_PATHLEN];
    snprintf(d, sizeof d, "%s/src", fuzz_scratch);
    fuzz_rm_rf(d);
    snprintf(d, sizeof d, "%s/dst", fuzz_scratch);
    fuzz_rm_rf(d);
    rmdir(fuzz_scratch);
}

/* A source folder holding the input as its file NAME, and no target folder
 * yet: src and dst (FUZZ_PATHLEN bytes each) get their paths, both in one
 * scratch folder TMPDIR/dnsprop-fuzz-TAG.XXXXXX made on the first call, used
 * again for every input (what the last input left is removed first) and
 * removed at exit. */
static inline void fuzz_source_folder(const char *tag, const char *name, const uint8_t *data,
                                      size_t size, char *src, char *dst)
{
    char path[FUZZ_PATHLEN + 32];
    if (fuzz_scratch[0] == '\0') {
        const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        snprintf(fuzz_scratch, sizeof fuzz_scratch, "%s/dnsprop-fuzz-%s.XXXXXX", tmp, tag);
        if (mkdtemp(fuzz_scratch) == NULL)
            abort();
        atexit(fuzz_scratch_remove);
    }
    snprintf(src, FUZZ_PATHLEN, "%s/src", fuzz_scratch);
    snprintf(dst, FUZZ_PATHLEN, "%s/dst", fuzz_scratch);
    fuzz_rm_rf(src);
    fuzz_rm_rf(dst);
    if (mkdir(src, 0755) != 0)
        abort();
    snprintf(path, sizeof path, "%s/%s", src, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size))
        abort();
    close(fd);
}

#endif
