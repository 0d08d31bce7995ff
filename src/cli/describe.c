/* describe.c: `neuromic kernels` and `neuromic describe KERNEL`, what a
 * kernel declares, printed from its tables. */
#include <stdio.h>

#include "neuromic/internal/cli.h"
#include "neuromic/internal/registry.h"

int nm_cmd_kernels(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "neuromic: usage: neuromic kernels\n");
        return NM_ERR_INPUT;
    }
    for (size_t i = 0; i < nm_kernel_count(); i++) {
        const nm_kernel *k = nm_kernel_at(i);
        printf("%-14s v%-4s %s\n", k->name, k->version, k->doc);
    }
    return 0;
}

int nm_cmd_describe(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "neuromic: usage: neuromic describe KERNEL\n");
        return NM_ERR_INPUT;
    }
    const char *name = argv[2];
    const nm_kernel *k = nm_kernel_find(name);
    if (!k) {
        fprintf(stderr, "neuromic: unknown kernel '%s'; `neuromic kernels` lists them\n", name);
        return NM_ERR_INPUT;
    }
    printf("kernel %s (version %s): %s\n\nparameters:\n", k->name, k->version, k->doc);
    printf("  %-16s %-7s %-12s %-22s %-5s %s\n", "name", "type", "default", "range", "unit", "doc");
    for (size_t i = 0; i < nm_kernel_nparams_all(k); i++) {
        const nm_param *p = nm_kernel_param(k, i);
        char def[64], range[128] = "";
        nm_value_format(&p->def, def, sizeof def);
        if (p->type == NM_T_CHOICE) {
            size_t n = 0;
            for (int c = 0; c < NM_MAX_CHOICES && p->choices[c]; c++)
                n += (size_t)snprintf(range + n, sizeof range - n, "%s%s", c ? "|" : "",
                                      p->choices[c]);
        } else if (p->type == NM_T_BOOL)
            snprintf(range, sizeof range, "true|false");
        else if (p->has_lo || p->has_hi) {
            char lo[32] = "-inf", hi[32] = "inf";
            if (p->has_lo)
                snprintf(lo, sizeof lo, "%g", p->lo);
            if (p->has_hi)
                snprintf(hi, sizeof hi, "%g", p->hi);
            snprintf(range, sizeof range, "[%s, %s]", lo, hi);
        } else
            snprintf(range, sizeof range, "any");
        printf("  %-16s %-7s %-12s %-22s %-5s %s\n", p->name, nm_type_name(p->type), def, range,
               p->unit && *p->unit ? p->unit : "-", p->doc);
    }
    printf("\noutputs:\n");
    for (size_t i = 0; i < k->noutputs; i++) {
        const nm_output *o = &k->outputs[i];
        char shape[128] = "scalar";
        if (o->ndims) {
            size_t n = (size_t)snprintf(shape, sizeof shape, "(");
            for (int d = 0; d < o->ndims; d++)
                n += (size_t)snprintf(shape + n, sizeof shape - n, "%s%s", d ? ", " : "",
                                      o->dims[d]);
            snprintf(shape + n, sizeof shape - n, ")");
        }
        printf("  %-16s %-7s %-20s %-5s %s\n", o->name, o->type == NM_O_F64 ? "float64" : "int64",
               shape, o->unit && *o->unit ? o->unit : "-", o->doc);
    }
    return 0;
}
