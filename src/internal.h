/*
 * internal.h - the umbrella of the library's private headers, not installed.
 * Each part lives with the folder that owns it (docs/design.md); new code
 * includes the narrow header it needs rather than this one.
 */
#ifndef MLPC_INTERNAL_H
#define MLPC_INTERNAL_H

#include "core/core.h"       /* errors, sizes, files, rng, time, attributes */
#include "data/dataset.h"    /* struct mlpc_dataset */
#include "backend/pool.h"    /* mlpc_pool */
#include "nn/net.h"          /* struct mlpc_net */
#include "io/io.h"           /* model files, atomic writes */

#endif /* MLPC_INTERNAL_H */
