/* cpuinfo.c - the processor's model name from /proc/cpuinfo (core/cpuinfo.h). */
#include "core/cpuinfo.h"

#include <stdio.h>
#include <string.h>

int mlpc_cpu_model(char *buf, size_t cap)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return -1;
    char line[512];
    int n = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0) continue;
        char *p = strchr(line, ':');
        if (p) {
            p += 1 + strspn(p + 1, " \t");
            p[strcspn(p, "\n")] = '\0';
            for (char *q = p; *q; q++)
                if (*q == '\t') *q = ' ';
            if (cap > 0) snprintf(buf, cap, "%s", p);
            n = (int)strlen(p);
        }
        break;
    }
    fclose(f);
    return n;
}
