/*
 * A scratch folder per test for the unit tests that write files: setup()
 * makes it (under $TMPDIR), teardown() removes it (kept when DNSPROP_KEEP is
 * set, to look at the files), path_of() names a file in it, slurp_path()
 * reads a whole file. Include it in one test program only once.
 */
#ifndef DNSPROP_TEST_SCRATCH_H
#define DNSPROP_TEST_SCRATCH_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/dnsprop-test.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    if (getenv("DNSPROP_KEEP") != NULL)
        return 0;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* DIR/name, in a static buffer: valid until the next call. */
static char *path_of(const char *name)
{
    static char p[400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

/* The whole file, NUL-terminated, malloc'd (caller frees); NULL when it
 * cannot be read. */
static char *slurp_path(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (f == NULL)
        return NULL;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    assert_non_null(buf);
    *len = fread(buf, 1, (size_t)st.st_size, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

#endif
