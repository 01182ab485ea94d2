/* Resolver lists: ownership helpers (parsing comes with the resolvers issue). */
#include "resolvers/resolvers.h"

#include <stdlib.h>

void rlist_deinit(struct rlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].address);
        free(l->v[i].operator_);
        free(l->v[i].country);
    }
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}
