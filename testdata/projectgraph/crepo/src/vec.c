#include <stdlib.h>
#include "vec.h"

int vec_push(vec_t *v, int x) {
    if (v->len == v->cap) {
        size_t n = v->cap ? v->cap * 2 : VEC_MIN_CAP;
        int *d = realloc(v->data, n * sizeof *d);
        if (!d) return -1;
        v->data = d;
        v->cap = n;
    }
    v->data[v->len++] = x;
    return 0;
}
