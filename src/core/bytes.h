/* bytes.h - little- and big-endian loads and stores on byte buffers (no
 * alignment needed, any host byte order). The one place the library spells
 * out byte order: the model file (src/io/modelfile.c), the IDX and NPY
 * loaders (src/data/) and the CLI's .npy writer use these. */
#ifndef MLPC_CORE_BYTES_H
#define MLPC_CORE_BYTES_H

#include <stdint.h>

static inline uint16_t mlpc_ld_le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t mlpc_ld_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t mlpc_ld_le64(const unsigned char *p)
{
    return (uint64_t)mlpc_ld_le32(p) | ((uint64_t)mlpc_ld_le32(p + 4) << 32);
}
static inline uint16_t mlpc_ld_be16(const unsigned char *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t mlpc_ld_be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}
static inline uint64_t mlpc_ld_be64(const unsigned char *p)
{
    return ((uint64_t)mlpc_ld_be32(p) << 32) | (uint64_t)mlpc_ld_be32(p + 4);
}

static inline void mlpc_st_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)((v >> 8) & 0xff);
    p[2] = (unsigned char)((v >> 16) & 0xff);
    p[3] = (unsigned char)((v >> 24) & 0xff);
}
static inline void mlpc_st_le64(unsigned char *p, uint64_t v)
{
    mlpc_st_le32(p, (uint32_t)(v & 0xffffffffu));
    mlpc_st_le32(p + 4, (uint32_t)(v >> 32));
}

#endif /* MLPC_CORE_BYTES_H */
