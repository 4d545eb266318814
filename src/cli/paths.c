/* paths.c - outputs never destroy inputs: an output path that is the same
 * file as an input (or as another output) is refused before anything is
 * written. "Same" is the same device and inode (stat follows symlinks; hard
 * links share the inode); an output that does not exist yet is compared by
 * its folder's device and inode and its file name. */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

typedef struct file_id {
    int kind; /* 0: unknown, 1: existing file (dev, ino), 2: missing file in folder (dev, ino) + name */
    dev_t dev;
    ino_t ino;
    const char *name; /* kind 2: the base name (points into path) */
} file_id;

static file_id identify(const char *path)
{
    file_id id;
    memset(&id, 0, sizeof id);
    struct stat st;
    if (!path || !*path || strcmp(path, "-") == 0) return id;
    if (stat(path, &st) == 0) {
        id.kind = 1;
        id.dev = st.st_dev;
        id.ino = st.st_ino;
        return id;
    }
    size_t n = strlen(path) + 1;
    char *copy = malloc(n);
    if (!copy) return id;
    memcpy(copy, path, n);
    const char *dir = dirname(copy);
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    if (*name && stat(dir, &st) == 0) {
        id.kind = 2;
        id.dev = st.st_dev;
        id.ino = st.st_ino;
        id.name = name;
    }
    free(copy);
    return id;
}

static int same(const file_id *a, const file_id *b)
{
    if (!a->kind || a->kind != b->kind || a->dev != b->dev || a->ino != b->ino) return 0;
    return a->kind == 1 || strcmp(a->name, b->name) == 0;
}

int cli_check_distinct(const cli_cmd *c, const cli_path *p, int n)
{
    file_id ids[32];
    if (n > 32) n = 32;
    for (int i = 0; i < n; i++) ids[i] = identify(p[i].path);
    for (int i = 0; i < n; i++) {
        if (!p[i].output) continue;
        for (int j = 0; j < n; j++) {
            if (j == i || (p[j].output && j < i)) continue;
            if (!same(&ids[i], &ids[j])) continue;
            if ((p[i].except && strcmp(p[i].except, p[j].flag) == 0) ||
                (p[j].except && strcmp(p[j].except, p[i].flag) == 0))
                continue;
            if (p[j].output)
                cli_error(c, "--%s %s and --%s %s are the same file: give each output its own",
                          p[i].flag, p[i].path, p[j].flag, p[j].path);
            else
                cli_error(c,
                          "--%s %s is the same file as the input %s%s %s: refusing to overwrite "
                          "an input",
                          p[i].flag, p[i].path, (p[j].flag[0] >= 'A' && p[j].flag[0] <= 'Z') ? "" : "--", p[j].flag,
                          p[j].path);
            return CLI_EXIT_USAGE;
        }
    }
    return 0;
}
