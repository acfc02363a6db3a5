/* SPDX-License-Identifier: MIT */
/* A standalone main() for libFuzzer harnesses, so the corpus can be replayed as a regression
 * test with any compiler: runs LLVMFuzzerTestOneInput() once per file given on the command
 * line, and once per regular file inside each directory given (not recursive). Fails if no
 * input was found, so a wrong corpus path does not pass silently. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DRIVER_MAX_INPUT (16u * 1024u * 1024u)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open: %s\n", path, strerror(errno));
        return -1;
    }
    uint8_t *buf = malloc(DRIVER_MAX_INPUT + 1);
    if (!buf) {
        fclose(f);
        fprintf(stderr, "out of memory\n");
        return -1;
    }
    size_t n = fread(buf, 1, DRIVER_MAX_INPUT + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > DRIVER_MAX_INPUT) {
        fprintf(stderr, "%s: %s\n", path, bad ? "read error" : "larger than 16 MiB");
        free(buf);
        return -1;
    }
    /* exactly n bytes, in their own allocation, so ASan catches reads past the end */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned ran = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
            failed++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (run_file(argv[i]) == 0)
                ran++;
            else
                failed++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) {
            fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
            failed++;
            continue;
        }
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            size_t len = strlen(argv[i]) + strlen(de->d_name) + 2;
            char *path = malloc(len);
            if (!path) {
                failed++;
                break;
            }
            snprintf(path, len, "%s/%s", argv[i], de->d_name);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                if (run_file(path) == 0)
                    ran++;
                else
                    failed++;
            }
            free(path);
        }
        closedir(d);
    }
    fprintf(stderr, "%u inputs run, %u could not be read\n", ran, failed);
    return (failed || ran == 0) ? 1 : 0;
}
