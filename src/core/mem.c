/* mem.c - large buffers on transparent huge pages.
 *
 * Fresh memory is mapped page by page at its first touch, and on this
 * project's machine (a VM) each 4 KiB page fault costs microseconds: MNIST's
 * training set as floats (188 MB) was most of a one-epoch W1 run's 2 s.
 * A block of 8 MiB or more is aligned to 2 MiB and asked for transparent
 * huge pages (where the kernel gives them only on request, as Debian's
 * default "madvise" does): one fault per 2 MiB. Freed with free(). */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)

void *mlpc_big_alloc(size_t bytes, int zero)
{
    int huge = bytes >= 4 * HUGE_PAGE;
    void *p = NULL;
    if (posix_memalign(&p, huge ? HUGE_PAGE : 64, bytes ? bytes : 1) != 0) return NULL;
#ifdef MADV_HUGEPAGE
    if (huge) madvise(p, bytes / HUGE_PAGE * HUGE_PAGE, MADV_HUGEPAGE);
#endif
    if (zero) memset(p, 0, bytes);
    return p;
}
