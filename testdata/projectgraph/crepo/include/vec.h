#ifndef VEC_H
#define VEC_H

#include <stddef.h>

#define VEC_MIN_CAP 8

/* A growable array of ints. */
typedef struct vec {
    int *data;
    size_t len, cap;
} vec_t;

/* vec_push appends x, growing the array when full. */
int vec_push(vec_t *v, int x);

#endif
