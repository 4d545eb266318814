/* session.cuh - the plugin's session functions (session.cu), as listed in
 * mlpc_cuda_api (plugin.h). */
#ifndef MLPC_CUDA_SESSION_CUH
#define MLPC_CUDA_SESSION_CUH

#include "cuda/plugin.h"

int mlpc_cs_open(const mlpc_cuda_net *net, void **session, char *msg, size_t cap);
void mlpc_cs_close(void *session);
int mlpc_cs_upload(void *session, int slot, const mlpc_cuda_data *d, char *msg, size_t cap);
int mlpc_cs_set_state(void *session, const float *params, const float *m, const float *v, char *msg, size_t cap);
int mlpc_cs_get_state(void *session, float *params, float *grads, float *m, float *v, char *msg, size_t cap);
int mlpc_cs_set_order(void *session, const uint32_t *idx, uint64_t n, char *msg, size_t cap);
int mlpc_cs_train(void *session, mlpc_cuda_run *run, char *msg, size_t cap);
int mlpc_cs_evaluate(void *session, int slot, double *loss, double *aux, char *msg, size_t cap);
int mlpc_cs_predict(void *session, const float *x, uint64_t n, float *out, char *msg, size_t cap);
int mlpc_cs_gradient(void *session, const float *x, const int32_t *labels, const float *targets, int m,
                     float *grads, double *loss, char *msg, size_t cap);

#endif
