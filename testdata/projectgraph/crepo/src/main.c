#include <stdio.h>
#include "../include/vec.h"

int main(void) {
    vec_t v = {0};
    vec_push(&v, 1);
    printf("%zu\n", v.len);
    return 0;
}
