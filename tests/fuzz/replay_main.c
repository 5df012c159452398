/* ---------------------------------------------------------------------------
 * replay_main.c: runs a fuzz harness over saved inputs, without libFuzzer.
 *
 *   fuzz_NAME_replay PATH...    each PATH a file or a directory of inputs
 *
 * ctest runs it over tests/fuzz/corpus/NAME/ and tests/fuzz/regressions/NAME/
 * in the normal and the ASan tree, so every input a fuzzer found stays a
 * test, under gcc as well. Files whose names start with '.' or "README" are
 * not inputs. Exit 0 when every input ran through (a broken invariant or a
 * sanitizer aborts the process), 1 when a path cannot be read or holds no
 * input at all.
 * ---------------------------------------------------------------------------
 */
#include "th_fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Reads the file at path into a new buffer (*data, *size); -1 on error. */
static int
s_read_file(const char *path, uint8_t **data, size_t *size)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return -1;
    uint8_t *buf = NULL;
    size_t len = 0;
    size_t cap = 0;
    int rc = -1;
    for (;;) {
        if (cap - len < 4096) {
            uint8_t *grown = realloc(buf, cap + 65536);
            if (grown == NULL)
                goto cleanup;
            buf = grown;
            cap += 65536;
        }
        size_t got = fread(buf + len, 1, cap - len, file);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(file))
        goto cleanup;
    *data = buf;
    *size = len;
    buf = NULL;
    rc = 0;
cleanup:
    free(buf);
    fclose(file);
    return rc;
}

static int
s_replay_file(const char *path)
{
    uint8_t *data = NULL;
    size_t size = 0;
    if (s_read_file(path, &data, &size) != 0) {
        fprintf(stderr, "replay: could not read \"%s\": %s\n", path, strerror(errno));
        return -1;
    }
    /* Announced first, so the input that crashes is the last one named */
    printf("replay: %s (%zu bytes)\n", path, size);
    fflush(stdout);
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    return 0;
}

static int
s_compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Replays every input in dir, in name order; adds their number to *count. */
static int
s_replay_dir(const char *dir, size_t *count)
{
    DIR *handle = opendir(dir);
    if (handle == NULL) {
        fprintf(stderr, "replay: could not open directory \"%s\": %s\n", dir,
                strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    int rc = 0;
    struct dirent *entry;
    while ((entry = readdir(handle)) != NULL) {
        if (entry->d_name[0] == '.' || strncmp(entry->d_name, "README", 6) == 0)
            continue;
        char **grown = realloc(names, (n + 1) * sizeof *names);
        if (grown == NULL || (grown[n] = strdup(entry->d_name)) == NULL) {
            names = grown != NULL ? grown : names;
            rc = -1;
            break;
        }
        names = grown;
        n++;
    }
    closedir(handle);
    if (n > 0)
        qsort(names, n, sizeof *names, s_compare_names);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (s_replay_file(path) != 0)
            rc = -1;
        else
            (*count)++;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE-OR-DIRECTORY...\n", argv[0]);
        return 1;
    }
    size_t count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: no such file or directory \"%s\"\n", argv[i]);
            return 1;
        }
        int rc;
        if (S_ISDIR(st.st_mode)) {
            rc = s_replay_dir(argv[i], &count);
        } else {
            rc = s_replay_file(argv[i]);
            count += rc == 0;
        }
        if (rc != 0)
            return 1;
    }
    if (count == 0) {
        fprintf(stderr, "replay: no inputs found in the paths given\n");
        return 1;
    }
    printf("replay: %zu inputs replayed, no invariant broken\n", count);
    return 0;
}
