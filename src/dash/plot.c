/* plot.c - `mlpc plot`: the dashboard's figures drawn with cairo into a PNG,
 * SVG or PDF file. Seven panels in a 3 x 3 grid (loss, accuracy or MSE,
 * learning rate, throughput, epoch time, weight RMS and gradient RMS per
 * layer) and a legend; runs are told apart by colour, validation curves are
 * dashed, layers in the RMS panels by colour with one dash pattern per run. */
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dash/dash.h"
#include "dash/plot_int.h"

/* the page's 24 colours (web/app.js) */
static const double PALETTE[DPLOT_COLORS][3] = {
    {0.122, 0.467, 0.706}, {1.000, 0.498, 0.055}, {0.173, 0.627, 0.173}, {0.839, 0.153, 0.157},
    {0.580, 0.404, 0.741}, {0.549, 0.337, 0.294}, {0.890, 0.467, 0.761}, {0.498, 0.498, 0.498},
    {0.737, 0.741, 0.133}, {0.090, 0.745, 0.812}, {0.224, 0.231, 0.475}, {0.678, 0.286, 0.290},
    {0.388, 0.475, 0.224}, {0.549, 0.427, 0.192}, {0.482, 0.255, 0.451}, {0.192, 0.510, 0.741},
    {0.902, 0.333, 0.051}, {0.192, 0.639, 0.329}, {0.459, 0.420, 0.694}, {0.388, 0.388, 0.388},
    {0.420, 0.682, 0.839}, {0.992, 0.553, 0.235}, {0.455, 0.769, 0.463}, {0.871, 0.620, 0.839}};


int dash_nice_ticks(double lo, double hi, int max, double *ticks)
{
    if (!(hi > lo) || max < 2) {
        ticks[0] = lo;
        return 1;
    }
    double raw = (hi - lo) / (max - 1);
    double mag = pow(10.0, floor(log10(raw)));
    double r = raw / mag, step;
    if (r <= 1.0)
        step = mag;
    else if (r <= 2.0)
        step = 2 * mag;
    else if (r <= 5.0)
        step = 5 * mag;
    else
        step = 10 * mag;
    int n = 0;
    for (double t = ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9 && n < max; t += step)
        ticks[n++] = fabs(t) < step * 1e-9 ? 0.0 : t;
    return n;
}

static void set_dash(cairo_t *cr, int dash, double lw)
{
    double d[4];
    switch (dash % 4) {
    case 1: d[0] = 6 * lw; d[1] = 4 * lw; cairo_set_dash(cr, d, 2, 0); break;
    case 2: d[0] = 1.5 * lw; d[1] = 3 * lw; cairo_set_dash(cr, d, 2, 0); break;
    case 3: d[0] = 7 * lw; d[1] = 3 * lw; d[2] = 1.5 * lw; d[3] = 3 * lw; cairo_set_dash(cr, d, 4, 0); break;
    default: cairo_set_dash(cr, NULL, 0, 0);
    }
}

static void tick_label(char *buf, size_t cap, double v, double step, int logy)
{
    if (logy) {
        snprintf(buf, cap, "%g", v);
        return;
    }
    if (v == 0) {
        snprintf(buf, cap, "0");
        return;
    }
    double a = fabs(v);
    if (a >= 1e5 || a < 1e-3) {
        snprintf(buf, cap, "%.2g", v);
        return;
    }
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (dec > 6) dec = 6;
    snprintf(buf, cap, "%.*f", dec, v);
}

/* Copies s with every byte that is not part of valid UTF-8 replaced by '?':
 * cairo stops drawing altogether after invalid UTF-8. */
static void utf8_clean(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p && o + 5 < cap) {
        int n = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
        int ok = n > 0;
        for (int i = 1; ok && i < n; i++) ok = (p[i] >> 6) == 2;
        if (!ok) {
            out[o++] = '?';
            p++;
            continue;
        }
        for (int i = 0; i < n; i++) out[o++] = (char)p[i];
        p += n;
    }
    out[o] = '\0';
}

void dplot_text(cairo_t *cr, double x, double y, const char *s_in, double ax, double ay)
{
    char s[512];
    utf8_clean(s_in, s, sizeof s);
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - ax * e.width - e.x_bearing, y - ay * e.height - e.y_bearing);
    cairo_show_text(cr, s);
}

/* a line drawn as dots only (a scatter) */
static void plot_dots(cairo_t *cr, const line *l, double xlo, double xhi, double a, double b,
                      int logy, double px, double py, double pw, double ph, double r)
{
    for (int k = 0; k < l->n; k++) {
        double xv = l->x[k], yv = l->y[(size_t)k * l->stride];
        if (!isfinite(xv) || !isfinite(yv) || (logy && yv <= 0)) continue;
        double X = px + (xv - xlo) / (xhi - xlo) * pw;
        double Y = py + ph - ((logy ? log10(yv) : yv) - a) / (b - a) * ph;
        cairo_new_sub_path(cr);
        cairo_arc(cr, X, Y, r, 0, 2 * M_PI);
    }
    cairo_fill(cr);
}

/* the panel's curves, clipped to the plot area (x from xlo to xhi, y from a
 * to b, log10 when logy) */
static void draw_curves(cairo_t *cr, const panel *p, double xlo, double xhi, double a, double b,
                        int logy, double px, double py, double pw, double ph, double fs)
{
#define MX(v) (px + ((v) - xlo) / (xhi - xlo) * pw)
#define MY(v) (py + ph - ((logy ? log10(v) : (v)) - a) / (b - a) * ph)
    cairo_save(cr);
    cairo_rectangle(cr, px, py, pw, ph);
    cairo_clip(cr);
    double lw = fs / 7.0;
    cairo_set_line_width(cr, lw);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    for (int i = 0; i < p->n; i++) {
        const line *l = &p->lines[i];
        const double *c = PALETTE[l->color % DPLOT_COLORS];
        cairo_set_source_rgb(cr, c[0], c[1], c[2]);
        set_dash(cr, l->dash, lw);
        if (l->dots) {
            plot_dots(cr, l, xlo, xhi, a, b, logy, px, py, pw, ph, lw * 2.2);
            continue;
        }
        int pen = 0, pts = 0;
        double lx = 0, ly = 0;
        for (int k = 0; k < l->n; k++) {
            double xv = l->x[k], yv = l->y[(size_t)k * l->stride];
            if (!isfinite(xv) || !isfinite(yv) || (logy && yv <= 0)) continue; /* gaps are spanned */
            lx = MX(xv);
            ly = MY(yv);
            if (!pen)
                cairo_move_to(cr, lx, ly);
            else
                cairo_line_to(cr, lx, ly);
            pen = 1;
            pts++;
        }
        cairo_stroke(cr);
        if (pts == 1) { /* a single epoch: a dot */
            cairo_arc(cr, lx, ly, lw * 1.8, 0, 2 * M_PI);
            cairo_fill(cr);
        }
    }
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_restore(cr);
#undef MX
#undef MY
}

/* The plot area of a panel and its data ranges (y in log10 when logy). */
typedef struct {
    double px, py, pw, ph, xlo, xhi, a, b;
    int logy;
} frame;

#define MX(v) (f->px + ((v) - f->xlo) / (f->xhi - f->xlo) * f->pw)
#define MY(v) (f->py + f->ph - ((f->logy ? log10(v) : (v)) - f->a) / (f->b - f->a) * f->ph)

/* x and y ranges over the finite (and, for log, positive) values; 0 when
 * there are none. */
static int data_range(const panel *p, frame *f)
{
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int i = 0; i < p->n; i++) {
        const line *l = &p->lines[i];
        for (int k = 0; k < l->n; k++) {
            double xv = l->x[k], yv = l->y[(size_t)k * l->stride];
            if (!isfinite(xv) || !isfinite(yv) || (p->logy && yv <= 0)) continue;
            if (xv < xlo) xlo = xv;
            if (xv > xhi) xhi = xv;
            if (yv < ylo) ylo = yv;
            if (yv > yhi) yhi = yv;
        }
    }
    if (!(xlo <= xhi)) return 0;
    if (xhi == xlo) {
        xlo -= 0.5;
        xhi += 0.5;
    }
    f->xlo = xlo;
    f->xhi = xhi;
    f->logy = p->logy;
    double a = ylo, b = yhi;
    if (f->logy) {
        a = log10(ylo);
        b = log10(yhi);
        if (b - a < 1e-9) {
            a -= 0.5;
            b += 0.5;
        }
        double pad = (b - a) * 0.05;
        a -= pad;
        b += pad;
    } else {
        if (b - a < 1e-12 * (fabs(a) + 1)) {
            a -= fabs(a) * 0.05 + 1e-6;
            b += fabs(b) * 0.05 + 1e-6;
        }
        double pad = (b - a) * 0.06;
        a -= pad;
        b += pad;
        if (ylo >= 0 && a < 0) a = 0;
    }
    f->a = a;
    f->b = b;
    return 1;
}

/* x grid and tick labels (named axes: one per integer x) and the x label */
static void x_grid(cairo_t *cr, const panel *p, const frame *f, double y0, double h, double fs)
{
    double ticks[DPLOT_MAX_NAMES > 16 ? DPLOT_MAX_NAMES : 16];
    int nt = p->n_xnames ? p->n_xnames : dash_nice_ticks(f->xlo, f->xhi, 7, ticks);
    char lab[48];
    for (int i = 0; i < nt; i++) {
        if (p->n_xnames) ticks[i] = i;
        double X = MX(ticks[i]);
        cairo_set_source_rgb(cr, p->n_xnames ? 0.4 : 0.9, p->n_xnames ? 0.4 : 0.9, p->n_xnames ? 0.4 : 0.9);
        cairo_move_to(cr, X, f->py);
        cairo_line_to(cr, X, f->py + f->ph);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
        if (p->n_xnames)
            snprintf(lab, sizeof lab, "%s", p->xnames[i]);
        else
            tick_label(lab, sizeof lab, ticks[i], nt > 1 ? ticks[1] - ticks[0] : 1, 0);
        dplot_text(cr, X, f->py + f->ph + fs * 0.35, lab, 0.5, 0.0);
    }
    cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
    dplot_text(cr, f->px + f->pw / 2, y0 + h - fs * 0.2, p->xlabel ? p->xlabel : "epoch", 0.5, 1.0);
}

/* one y grid line and its label */
static void y_line(cairo_t *cr, const frame *f, double v, const char *lab, double fs)
{
    double Y = MY(v);
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, f->px, Y);
    cairo_line_to(cr, f->px + f->pw, Y);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    dplot_text(cr, f->px - fs * 0.35, Y, lab, 1.0, 0.5);
}

/* y grid and tick labels: powers of ten over a log axis of more than one
 * decade, else nice ticks */
static void y_grid(cairo_t *cr, const frame *f, double fs)
{
    char lab[48];
    if (f->logy && f->b - f->a > 1.0) {
        for (int e = (int)ceil(f->a); e <= (int)floor(f->b); e++) {
            double v = pow(10.0, e);
            tick_label(lab, sizeof lab, v, 1, 1);
            y_line(cr, f, v, lab, fs);
        }
        return;
    }
    double ticks[16];
    double lo = f->logy ? pow(10.0, f->a) : f->a, hi = f->logy ? pow(10.0, f->b) : f->b;
    int nt = dash_nice_ticks(lo, hi, 6, ticks);
    for (int i = 0; i < nt; i++) {
        if (f->logy && ticks[i] <= 0) continue;
        tick_label(lab, sizeof lab, ticks[i], nt > 1 ? ticks[1] - ticks[0] : 1, 0);
        y_line(cr, f, ticks[i], lab, fs);
    }
}
#undef MX
#undef MY

void dplot_panel(cairo_t *cr, const panel *p, double x0, double y0, double w, double h,
                       double fs)
{
    /* frame and title */
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_rectangle(cr, x0, y0, w, h);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, fs * 1.1);
    dplot_text(cr, x0 + w / 2, y0 + fs * 0.4, p->title, 0.5, 0.0);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, fs * 0.85);

    frame fr, *f = &fr;
    int have = data_range(p, f);
    f->px = x0 + fs * 4.6;
    f->py = y0 + fs * 2.0;
    f->pw = w - fs * 5.6;
    f->ph = h - fs * 4.4;
    cairo_set_line_width(cr, 1.0);
    cairo_set_source_rgb(cr, 0.55, 0.55, 0.55);
    cairo_rectangle(cr, f->px, f->py, f->pw, f->ph);
    cairo_stroke(cr);
    if (!have) {
        cairo_set_source_rgb(cr, 0.45, 0.45, 0.45);
        dplot_text(cr, f->px + f->pw / 2, f->py + f->ph / 2, "no data", 0.5, 0.5);
        return;
    }
    x_grid(cr, p, f, y0, h, fs);
    y_grid(cr, f, fs);
    draw_curves(cr, p, f->xlo, f->xhi, f->a, f->b, f->logy, f->px, f->py, f->pw, f->ph, fs);
}

void dplot_add(panel *p, const double *x, const double *y, int n, size_t stride, int color,
               int dash)
{
    if (p->n >= (int)(sizeof p->lines / sizeof p->lines[0])) return;
    line *l = &p->lines[p->n++];
    l->x = x;
    l->y = y;
    l->n = n;
    l->stride = stride;
    l->color = color;
    l->dash = dash;
    l->dots = 0;
}

static int any_finite(const double *v, int n, size_t stride)
{
    for (int i = 0; i < n; i++)
        if (isfinite(v[(size_t)i * stride])) return 1;
    return 0;
}

static void draw_legend(cairo_t *cr, const dash_runs *runs, int max_layers, double x0, double y0,
                        double w, double h, double fs)
{
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_rectangle(cr, x0, y0, w, h);
    cairo_fill(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, fs * 1.1);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    dplot_text(cr, x0 + fs, y0 + fs * 0.4, "Runs", 0.0, 0.0);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, fs * 0.9);
    double y = y0 + fs * 2.4, lw = fs / 7.0;
    int shown = 0;
    for (int i = 0; i < runs->n && y < y0 + h - fs * 4.5; i++, shown++) {
        const dash_series *s = &runs->s[i];
        const double *c = PALETTE[i % DPLOT_COLORS];
        cairo_set_source_rgb(cr, c[0], c[1], c[2]);
        cairo_set_line_width(cr, lw * 1.4);
        cairo_move_to(cr, x0 + fs, y);
        cairo_line_to(cr, x0 + fs * 3.2, y);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        char lab[200];
        snprintf(lab, sizeof lab, "%s  (%d epoch%s)", s->name, s->n, s->n == 1 ? "" : "s");
        dplot_text(cr, x0 + fs * 3.8, y, lab, 0.0, 0.5);
        y += fs * 1.45;
    }
    if (shown < runs->n) {
        char lab[64];
        snprintf(lab, sizeof lab, "... and %d more", runs->n - shown);
        dplot_text(cr, x0 + fs * 3.8, y, lab, 0.0, 0.5);
        y += fs * 1.45;
    }
    y += fs * 0.6;
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    dplot_text(cr, x0 + fs, y, "solid: training set   dashed: validation set", 0.0, 0.5);
    y += fs * 1.45;
    if (max_layers > 0) {
        dplot_text(cr, x0 + fs, y, "RMS panels: colour = layer", 0.0, 0.5);
        double x = x0 + fs * 15.0;
        for (int l = 0; l < max_layers && l < 10; l++) {
            const double *c = PALETTE[l % DPLOT_COLORS];
            cairo_set_source_rgb(cr, c[0], c[1], c[2]);
            cairo_rectangle(cr, x, y - fs * 0.35, fs * 0.7, fs * 0.7);
            cairo_fill(cr);
            cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
            char lab[16];
            snprintf(lab, sizeof lab, "L%d", l + 1);
            dplot_text(cr, x + fs * 0.9, y, lab, 0.0, 0.5);
            x += fs * 3.0;
        }
        y += fs * 1.45;
        if (runs->n > 1) { /* and the run by its dash pattern */
            cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
            dplot_text(cr, x0 + fs, y, "line pattern = run:", 0.0, 0.5);
            x = x0 + fs * 15.0;
            for (int i = 0; i < runs->n && i < 4 && x < x0 + w - fs * 8; i++) {
                cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
                cairo_set_line_width(cr, lw * 1.4);
                set_dash(cr, i, lw);
                cairo_move_to(cr, x, y);
                cairo_line_to(cr, x + fs * 2.2, y);
                cairo_stroke(cr);
                cairo_set_dash(cr, NULL, 0, 0);
                dplot_text(cr, x + fs * 2.6, y, runs->s[i].name, 0.0, 0.5);
                cairo_text_extents_t e;
                cairo_text_extents(cr, runs->s[i].name, &e);
                x += fs * 4.0 + e.x_advance;
            }
        }
    }
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    if (a < b) return 0;
    for (size_t i = 0; i < b; i++) {
        char c = s[a - b + i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != suf[i]) return 0;
    }
    return 1;
}

/* The file's surface by its extension (.png, .svg, .pdf), or NULL with a
 * message. */
cairo_surface_t *dplot_open(const char *path, int W, int H, char *err, size_t cap)
{
    int fmt = ends_with(path, ".png") ? 0 : ends_with(path, ".svg") ? 1 : ends_with(path, ".pdf") ? 2 : -1;
    if (fmt < 0) {
        snprintf(err, cap, "-o %s: use a .png, .svg or .pdf file name", path);
        return NULL;
    }
    cairo_surface_t *sf;
    if (fmt == 0)
        sf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    else if (fmt == 1)
        sf = cairo_svg_surface_create(path, W, H);
    else
        sf = cairo_pdf_surface_create(path, W, H);
    if (cairo_surface_status(sf) != CAIRO_STATUS_SUCCESS) {
        snprintf(err, cap, "-o %s: %s", path, cairo_status_to_string(cairo_surface_status(sf)));
        cairo_surface_destroy(sf);
        return NULL;
    }
    return sf;
}

/* Writes (PNG) or finishes (SVG, PDF) the file and frees the surface. */
int dplot_close(cairo_surface_t *sf, const char *path, char *err, size_t cap)
{
    cairo_status_t st = CAIRO_STATUS_SUCCESS;
    if (cairo_surface_get_type(sf) == CAIRO_SURFACE_TYPE_IMAGE) st = cairo_surface_write_to_png(sf, path);
    cairo_surface_finish(sf);
    if (st == CAIRO_STATUS_SUCCESS) st = cairo_surface_status(sf);
    cairo_surface_destroy(sf);
    if (st != CAIRO_STATUS_SUCCESS) {
        snprintf(err, cap, "-o %s: %s", path, cairo_status_to_string(st));
        return -1;
    }
    return 0;
}

int dash_plot(const dash_runs *runs, const char *path, const dash_plot_opts *o, char *err,
              size_t cap)
{
    int W = o && o->width > 0 ? o->width : 1500, H = o && o->height > 0 ? o->height : 960;
    int fmt = ends_with(path, ".png") ? 0 : ends_with(path, ".svg") ? 1 : ends_with(path, ".pdf") ? 2 : -1;
    if (fmt < 0) {
        snprintf(err, cap, "-o %s: use a .png, .svg or .pdf file name", path);
        return -1;
    }
    if (W < 300 || H < 200 || W > 20000 || H > 20000) {
        snprintf(err, cap, "--size %dx%d: between 300x200 and 20000x20000", W, H);
        return -1;
    }
    panel *P = calloc(7, sizeof *P);
    if (!P) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    int classify = 0, max_layers = 0;
    for (int i = 0; i < runs->n; i++) {
        if (!runs->s[i].regress) classify = 1;
        if (runs->s[i].n_layers > max_layers) max_layers = runs->s[i].n_layers;
    }
    P[0].title = o && o->log_loss ? "Loss (log scale)" : "Loss";
    P[0].logy = o && o->log_loss;
    P[1].title = classify ? "Accuracy" : "Mean squared error";
    P[2].title = "Learning rate";
    P[3].title = "Throughput (samples/s)";
    P[4].title = "Epoch time (s)";
    P[5].title = "Weight RMS per layer";
    P[6].title = "Gradient RMS per layer (last batch)";
    P[6].logy = 1;
    for (int i = 0; i < runs->n; i++) {
        const dash_series *s = &runs->s[i];
        dplot_add(&P[0], s->epoch, s->loss, s->n, 1, i, 0);
        if (any_finite(s->val_loss, s->n, 1)) dplot_add(&P[0], s->epoch, s->val_loss, s->n, 1, i, 1);
        if (classify) {
            dplot_add(&P[1], s->epoch, s->acc, s->n, 1, i, 0);
            if (any_finite(s->val_acc, s->n, 1)) dplot_add(&P[1], s->epoch, s->val_acc, s->n, 1, i, 1);
        } else {
            dplot_add(&P[1], s->epoch, s->mse, s->n, 1, i, 0);
            if (any_finite(s->val_mse, s->n, 1)) dplot_add(&P[1], s->epoch, s->val_mse, s->n, 1, i, 1);
        }
        dplot_add(&P[2], s->epoch, s->lr, s->n, 1, i, 0);
        dplot_add(&P[3], s->epoch, s->sps, s->n, 1, i, 0);
        dplot_add(&P[4], s->epoch, s->secs, s->n, 1, i, 0);
        for (int l = 0; l < s->n_layers; l++) {
            dplot_add(&P[5], s->epoch, s->w_rms + l, s->n, (size_t)s->n_layers, l, i);
            dplot_add(&P[6], s->epoch, s->g_rms + l, s->n, (size_t)s->n_layers, l, i);
        }
    }

    cairo_surface_t *sf = dplot_open(path, W, H, err, cap);
    if (!sf) {
        free(P);
        return -1;
    }
    cairo_t *cr = cairo_create(sf);
    cairo_set_source_rgb(cr, 0.96, 0.96, 0.97);
    cairo_paint(cr);
    double fs = (double)(W < H * 1.5 ? W / 1.5 : H) / 960.0 * 15.0;
    if (fs < 8) fs = 8;
    double top = 0;
    if (o && o->title && *o->title) {
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
        cairo_set_font_size(cr, fs * 1.4);
        dplot_text(cr, W / 2.0, fs * 0.6, o->title, 0.5, 0.0);
        top = fs * 2.6;
    }
    double gap = fs * 0.6, cw = (W - 4 * gap) / 3.0, ch = (H - top - 4 * gap) / 3.0;
    for (int k = 0; k < 9; k++) {
        double x = gap + (k % 3) * (cw + gap), y = top + gap + (k / 3) * (ch + gap);
        if (k < 7)
            dplot_panel(cr, &P[k], x, y, cw, ch, fs);
        else if (k == 7)
            draw_legend(cr, runs, max_layers, x, y, cw * 2 + gap, ch, fs);
    }
    cairo_destroy(cr);
    free(P);
    return dplot_close(sf, path, err, cap);
}
