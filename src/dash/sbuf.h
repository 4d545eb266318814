/* sbuf.h - a growable text buffer for JSON: the dashboard's events and the
 * CLI's metrics lines and reports. */
#ifndef MLPC_DASH_SBUF_H
#define MLPC_DASH_SBUF_H

#include <stddef.h>

typedef struct sbuf {
    char *s;
    size_t len, cap;
    int oom;    /* set once an allocation failed; later appends are ignored */
    int digits; /* significant digits of sb_num (0: 7; the CLI's metrics use 9) */
} sbuf;

void sb_init(sbuf *b);
void sb_free(sbuf *b);
void sb_clear(sbuf *b);
void sb_raw(sbuf *b, const char *s);
void sb_mem(sbuf *b, const char *s, size_t n);
void sb_printf(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* A JSON string literal (quoted and escaped). */
void sb_str(sbuf *b, const char *s);
/* A number with b->digits (default 7) significant digits, or null when it is
 * NaN or infinite. */
void sb_num(sbuf *b, double v);
/* ,"key":value helpers (the comma is left out after '{' or '['). */
void sb_key(sbuf *b, const char *key);
void sb_knum(sbuf *b, const char *key, double v);
void sb_kint(sbuf *b, const char *key, long long v);
void sb_kstr(sbuf *b, const char *key, const char *v);
/* ,"key":[a,b,...] of n floats */
void sb_karr(sbuf *b, const char *key, const float *v, int n);

#endif
