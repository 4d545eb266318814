/* plot_int.h - the cairo drawing shared by `mlpc plot` of metrics files
 * (plot.c) and of search databases (plot_study.c). */
#ifndef MLPC_DASH_PLOT_INT_H
#define MLPC_DASH_PLOT_INT_H

#include <cairo.h>
#include <stddef.h>

#define DPLOT_COLORS 24
#define DPLOT_MAX_NAMES 32

typedef struct line {
    const double *x, *y;
    int n;
    size_t stride; /* y[i * stride] */
    int color;     /* index into the 24 colours */
    int dash;      /* 0 solid, 1 dashed, 2 dotted, 3 dash-dot */
    int dots;      /* 1: points only (a scatter) */
} line;

typedef struct panel {
    const char *title;
    int logy;
    const char *xlabel;                     /* NULL: "epoch" */
    const char *const *xnames;              /* named x positions 0, 1, ... (parallel axes) */
    int n_xnames;                           /* at most DPLOT_MAX_NAMES */
    line lines[256];
    int n;
} panel;

void dplot_add(panel *p, const double *x, const double *y, int n, size_t stride, int color,
               int dash);
/* One panel: white box, title, axes with ticks, the lines. */
void dplot_panel(cairo_t *cr, const panel *p, double x0, double y0, double w, double h, double fs);
/* Text anchored at (x, y): ax, ay 0..1 (0.5: centred). */
void dplot_text(cairo_t *cr, double x, double y, const char *s, double ax, double ay);
cairo_surface_t *dplot_open(const char *path, int W, int H, char *err, size_t cap);
int dplot_close(cairo_surface_t *sf, const char *path, char *err, size_t cap);

#endif
