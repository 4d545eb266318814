/* sbuf.c - growable text buffer (see sbuf.h). */
#include "dash/sbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_init(sbuf *b) { memset(b, 0, sizeof *b); }

void sb_free(sbuf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

void sb_clear(sbuf *b)
{
    b->len = 0;
    if (b->s) b->s[0] = '\0';
}

static int grow(sbuf *b, size_t extra)
{
    if (b->oom) return -1;
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = 1;
        return -1;
    }
    b->s = s;
    b->cap = cap;
    return 0;
}

void sb_mem(sbuf *b, const char *s, size_t n)
{
    if (grow(b, n)) return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void sb_raw(sbuf *b, const char *s) { sb_mem(b, s, strlen(s)); }

void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        sb_mem(b, small, (size_t)n);
        return;
    }
    if (grow(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sb_str(sbuf *b, const char *s)
{
    sb_raw(b, "\"");
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"': sb_raw(b, "\\\""); break;
        case '\\': sb_raw(b, "\\\\"); break;
        case '\n': sb_raw(b, "\\n"); break;
        case '\r': sb_raw(b, "\\r"); break;
        case '\t': sb_raw(b, "\\t"); break;
        default:
            if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&')
                sb_printf(b, "\\u%04x", *p); /* also keeps markup out of the page */
            else
                sb_mem(b, (const char *)p, 1);
        }
    }
    sb_raw(b, "\"");
}

void sb_num(sbuf *b, double v)
{
    if (!isfinite(v))
        sb_raw(b, "null");
    else
        sb_printf(b, "%.*g", b->digits ? b->digits : 7, v);
}

void sb_key(sbuf *b, const char *key)
{
    if (b->len && b->s[b->len - 1] != '{' && b->s[b->len - 1] != '[') sb_raw(b, ",");
    sb_str(b, key);
    sb_raw(b, ":");
}

void sb_knum(sbuf *b, const char *key, double v)
{
    sb_key(b, key);
    sb_num(b, v);
}

void sb_kint(sbuf *b, const char *key, long long v)
{
    sb_key(b, key);
    sb_printf(b, "%lld", v);
}

void sb_kstr(sbuf *b, const char *key, const char *v)
{
    sb_key(b, key);
    sb_str(b, v);
}

void sb_karr(sbuf *b, const char *key, const float *v, int n)
{
    sb_key(b, key);
    sb_raw(b, "[");
    for (int i = 0; i < n; i++) {
        if (i) sb_raw(b, ",");
        if (isfinite(v[i]))
            sb_printf(b, "%.7g", (double)v[i]); /* display values: 7 digits whatever b->digits */
        else
            sb_raw(b, "null");
    }
    sb_raw(b, "]");
}
