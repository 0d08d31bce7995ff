/* dn_neuron.c: the neuron of the `dendnet` kernel (dendnet.h).
 *
 * A passive tree of cylinders: the soma, n_basal basal stems that branch
 * in two basal_order - 1 times, an apical trunk and n_tuft tuft stems at
 * its end that branch tuft_order - 1 times. Every section is cut into
 * equal compartments. Membrane and axial constants are the specific ones
 * (cm, Rm, Ra) applied to each cylinder; two neighbours are coupled through
 * the axial resistances of their halves.
 *
 * Time: backward (implicit) Euler. Within a step the synaptic conductances
 * are those of the step's start, and so is the NMDA block (evaluated at the
 * start's V): the system is then linear and tree-shaped, and the Hines
 * elimination (leaves to root, then back) solves it in O(n). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dendnet.h"

const char *dn_morph_invalid(const dn_morph *m)
{
    if (m->n_basal < 0 || m->n_tuft < 0 || m->trunk_seg < 0)
        return "n_basal, n_tuft and trunk_seg must be >= 0";
    if (m->n_basal > 0 && (m->basal_order < 1 || m->basal_seg < 1))
        return "basal_order and basal_seg must be >= 1";
    if (m->n_tuft > 0 && (m->tuft_order < 1 || m->tuft_seg < 1))
        return "tuft_order and tuft_seg must be >= 1";
    if (m->n_tuft > 0 && m->trunk_seg == 0)
        return "a tuft needs a trunk (trunk_seg >= 1)";
    if (m->basal_order > 12 || m->tuft_order > 12)
        return "basal_order and tuft_order must be <= 12";
    if (!(m->basal_len > 0 && m->basal_diam > 0 && m->trunk_len > 0 && m->trunk_diam > 0 &&
          m->tuft_len > 0 && m->tuft_diam > 0 && m->soma_diam > 0 && m->cm > 0 && m->Rm > 0 &&
          m->Ra > 0))
        return "lengths, diameters, cm, Rm and Ra must be positive";
    return NULL;
}

/* Compartments of a stem of `order` levels of sections of nseg each. */
static int stem_count(int order, int nseg)
{
    return ((1 << order) - 1) * nseg;
}

typedef struct {
    dn_tree *tr;
    const dn_morph *m;
    double *len, *diam; /* per compartment, for the axial coupling */
} builder;

/* Axial resistance of half a cylinder, MOhm (l, d in um, Ra in Ohm cm). */
static double half_axial_mohm(double Ra, double l, double d)
{
    return Ra * (0.5 * l * 1e-4) / (M_PI * 0.25 * d * d * 1e-8) * 1e-6;
}

static int add_comp(builder *b, int parent, int kind, double l, double d)
{
    dn_tree *tr = b->tr;
    int i = tr->n++;
    double area = M_PI * d * l; /* um^2, the cylinder's side */
    tr->parent[i] = parent;
    tr->kind[i] = kind;
    tr->C[i] = b->m->cm * area * 1e-2;   /* uF/cm^2 * um^2 -> pF */
    tr->gL[i] = area * 10.0 / b->m->Rm; /* um^2 / (Ohm cm^2) -> nS */
    b->len[i] = l, b->diam[i] = d;
    if (parent < 0) {
        tr->gA[i] = 0, tr->dist[i] = 0;
    } else {
        double r = half_axial_mohm(b->m->Ra, l, d) + half_axial_mohm(b->m->Ra, b->len[parent],
                                                                     b->diam[parent]);
        tr->gA[i] = 1e3 / r; /* 1/MOhm = uS -> nS */
        tr->dist[i] = tr->dist[parent] + 0.5 * (b->len[parent] + l);
    }
    return i;
}

/* A section of nseg compartments below `parent`, then its two daughters. */
static void add_section(builder *b, int parent, int kind, int order, int nseg, double len,
                        double diam)
{
    int at = parent;
    for (int s = 0; s < nseg; s++)
        at = add_comp(b, at, kind, len / nseg, diam);
    if (order > 1) {
        add_section(b, at, kind, order - 1, nseg, len, diam);
        add_section(b, at, kind, order - 1, nseg, len, diam);
    }
}

dn_tree *dn_tree_alloc(const dn_morph *m)
{
    if (dn_morph_invalid(m))
        return NULL;
    int n = 1 + m->n_basal * stem_count(m->basal_order, m->basal_seg) + m->trunk_seg +
            m->n_tuft * stem_count(m->tuft_order, m->tuft_seg);
    dn_tree *tr = calloc(1, sizeof *tr);
    builder b = {.tr = tr, .m = m};
    if (tr) {
        tr->parent = malloc(n * sizeof *tr->parent);
        tr->kind = malloc(n * sizeof *tr->kind);
        tr->C = malloc(n * sizeof *tr->C);
        tr->gL = malloc(n * sizeof *tr->gL);
        tr->gA = malloc(n * sizeof *tr->gA);
        tr->dist = malloc(n * sizeof *tr->dist);
        b.len = malloc(n * sizeof *b.len);
        b.diam = malloc(n * sizeof *b.diam);
    }
    if (!tr || !tr->parent || !tr->kind || !tr->C || !tr->gL || !tr->gA || !tr->dist || !b.len ||
        !b.diam) {
        free(b.len), free(b.diam);
        dn_tree_free(tr);
        return NULL;
    }
    add_comp(&b, -1, DN_SOMA, m->soma_diam, m->soma_diam);
    for (int s = 0; s < m->n_basal; s++)
        add_section(&b, 0, DN_BASAL, m->basal_order, m->basal_seg, m->basal_len, m->basal_diam);
    int at = 0;
    for (int s = 0; s < m->trunk_seg; s++)
        at = add_comp(&b, at, DN_TRUNK, m->trunk_len / m->trunk_seg, m->trunk_diam);
    for (int s = 0; s < m->n_tuft; s++)
        add_section(&b, at, DN_TUFT, m->tuft_order, m->tuft_seg, m->tuft_len, m->tuft_diam);
    free(b.len), free(b.diam);
    return tr;
}

void dn_tree_free(dn_tree *tr)
{
    if (!tr)
        return;
    free(tr->parent), free(tr->kind), free(tr->C), free(tr->gL), free(tr->gA), free(tr->dist);
    free(tr);
}

void dn_hines_solve(const dn_tree *tr, double *d, double *r)
{
    /* Eliminate each compartment's coupling to its parent, children first
     * (parent[i] < i, so descending i visits every child before its
     * parent): no fill-in on a tree. */
    for (int i = tr->n - 1; i > 0; i--) {
        int p = tr->parent[i];
        double f = tr->gA[i] / d[i];
        d[p] -= f * tr->gA[i];
        r[p] += f * r[i];
    }
    r[0] /= d[0];
    for (int i = 1; i < tr->n; i++)
        r[i] = (r[i] + tr->gA[i] * r[tr->parent[i]]) / d[i];
}

double dn_mg_block(double v_mv, double mg_mM)
{
    return 1.0 / (1.0 + exp(-0.08 * v_mv) * mg_mM / 3.57);
}

dn_cell *dn_cell_alloc(const dn_tree *tr, const dn_cell_params *p, int exc_per_comp,
                       int inh_per_comp)
{
    double spm = 1.0 / p->dt;
    if (!(p->dt > 0) || fabs(spm - round(spm)) > 1e-9 * spm || exc_per_comp < 0 ||
        inh_per_comp < 0 || !(p->spike_ms >= 0) || !(p->ref_ms >= p->spike_ms))
        return NULL;
    for (int k = 0; k < DN_NSYN; k++)
        if (!(p->tau_rise[k] > 0 && p->tau_decay[k] > p->tau_rise[k]))
            return NULL;
    dn_cell *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    int n = tr->n;
    c->tree = tr, c->p = *p;
    c->n_exc = exc_per_comp * n, c->n_inh = inh_per_comp * n;
    c->comp = malloc((size_t)(c->n_exc + c->n_inh + 1) * sizeof *c->comp);
    c->V = malloc(n * sizeof *c->V);
    c->rise = malloc(DN_NSYN * n * sizeof *c->rise);
    c->decay = malloc(DN_NSYN * n * sizeof *c->decay);
    c->d = malloc(n * sizeof *c->d);
    c->r = malloc(n * sizeof *c->r);
    if (!c->comp || !c->V || !c->rise || !c->decay || !c->d || !c->r) {
        dn_cell_free(c);
        return NULL;
    }
    for (int j = 0; j < c->n_exc; j++)
        c->comp[j] = j / exc_per_comp;
    for (int j = 0; j < c->n_inh; j++)
        c->comp[c->n_exc + j] = j / inh_per_comp;
    for (int k = 0; k < DN_NSYN; k++) {
        double tr_ = p->tau_rise[k], td = p->tau_decay[k];
        double tp = tr_ * td / (td - tr_) * log(td / tr_); /* time of the peak */
        c->norm[k] = 1.0 / (exp(-tp / td) - exp(-tp / tr_));
        c->a_rise[k] = exp(-p->dt / tr_);
        c->a_decay[k] = exp(-p->dt / td);
    }
    c->steps_per_ms = (int)round(spm);
    c->spike_steps = (int)round(p->spike_ms / p->dt);
    c->ref_steps = (int)round(p->ref_ms / p->dt);
    dn_cell_reset(c);
    return c;
}

void dn_cell_free(dn_cell *c)
{
    if (!c)
        return;
    free(c->comp), free(c->V), free(c->rise), free(c->decay), free(c->d), free(c->r);
    free(c);
}

void dn_cell_reset(dn_cell *c)
{
    int n = c->tree->n;
    for (int i = 0; i < n; i++)
        c->V[i] = c->p.E_L;
    memset(c->rise, 0, DN_NSYN * n * sizeof *c->rise);
    memset(c->decay, 0, DN_NSYN * n * sizeof *c->decay);
    c->spike_left = c->ref_left = 0;
}

void dn_cell_input(dn_cell *c, int j)
{
    int n = c->tree->n, i = c->comp[j];
    if (j < c->n_exc) {
        c->rise[DN_AMPA * n + i] += 1, c->decay[DN_AMPA * n + i] += 1;
        c->rise[DN_NMDA * n + i] += 1, c->decay[DN_NMDA * n + i] += 1;
    } else {
        c->rise[DN_GABA * n + i] += 1, c->decay[DN_GABA * n + i] += 1;
    }
}

int dn_cell_step(dn_cell *c)
{
    const dn_tree *tr = c->tree;
    const dn_cell_params *p = &c->p;
    int n = tr->n;
    double *d = c->d, *r = c->r, *V = c->V;
    for (int i = 0; i < n; i++) {
        double cdt = tr->C[i] / p->dt;
        d[i] = cdt + tr->gL[i];
        r[i] = cdt * V[i] + tr->gL[i] * p->E_L;
    }
    for (int k = 0; k < DN_NSYN; k++) {
        double gk = p->g[k] * c->norm[k];
        double *ri = c->rise + k * n, *de = c->decay + k * n;
        for (int i = 0; i < n; i++) {
            if (gk != 0) {
                double g = gk * (de[i] - ri[i]);
                if (k == DN_NMDA)
                    g *= dn_mg_block(V[i], p->mg);
                d[i] += g, r[i] += g * p->E[k];
            }
            ri[i] *= c->a_rise[k], de[i] *= c->a_decay[k];
        }
    }
    for (int i = 1; i < n; i++)
        d[i] += tr->gA[i], d[tr->parent[i]] += tr->gA[i];
    /* The spike: a conductance to spike_E for spike_ms, then one to ahp_E
     * until ref_ms after its onset; both act on the soma, and the proximal
     * dendrites feel them through the coupling. */
    if (c->spike_left > 0)
        d[0] += p->spike_g, r[0] += p->spike_g * p->spike_E, c->spike_left--;
    else if (c->ref_left > 0)
        d[0] += p->ahp_g, r[0] += p->ahp_g * p->ahp_E;
    if (c->ref_left > 0)
        c->ref_left--;
    dn_hines_solve(tr, d, r);
    memcpy(V, r, n * sizeof *V);
    if (c->ref_left == 0 && V[0] >= p->v_th) {
        c->spike_left = c->spike_steps;
        c->ref_left = c->ref_steps > 0 ? c->ref_steps : 1;
        return 1;
    }
    return 0;
}

long dn_cell_run(dn_cell *c, const uint8_t *x, size_t T, uint8_t *spikes, float *v)
{
    int nin = c->n_exc + c->n_inh;
    long total = 0;
    for (size_t b = 0; b < T; b++) {
        for (int j = 0; j < nin; j++)
            if (x[(size_t)j * T + b])
                dn_cell_input(c, j);
        int s = 0;
        for (int k = 0; k < c->steps_per_ms; k++)
            s += dn_cell_step(c);
        total += s;
        spikes[b] = s > 0;
        v[b] = (float)(c->V[0] < c->p.v_th ? c->V[0] : c->p.v_th);
    }
    return total;
}

long dn_lif_run(const dn_lif_params *p, int n_exc, int n_inh, const uint8_t *x, size_t T,
                uint8_t *spikes, float *v)
{
    int spm = (int)round(1.0 / p->dt), ref = 0, ref_steps = (int)round(p->ref_ms / p->dt);
    double V = p->E_L, Ie = 0, Ii = 0;
    double am = exp(-p->dt / p->tau_m), ae = exp(-p->dt / p->tau_e), ai = exp(-p->dt / p->tau_i);
    /* Exact propagation of tau_m dV/dt = -(V - E_L) + I(t) over dt for an
     * exponentially decaying I (the usual exponential-integrator terms). */
    double ce = p->tau_e / (p->tau_e - p->tau_m) * (ae - am);
    double ci = p->tau_i / (p->tau_i - p->tau_m) * (ai - am);
    long total = 0;
    for (size_t b = 0; b < T; b++) {
        for (int j = 0; j < n_exc + n_inh; j++)
            if (x[(size_t)j * T + b]) {
                if (j < n_exc)
                    Ie += p->w_e * p->tau_m / p->tau_e;
                else
                    Ii += p->w_i * p->tau_m / p->tau_i;
            }
        int s = 0;
        for (int k = 0; k < spm; k++) {
            if (ref > 0) {
                ref--, V = p->v_reset;
            } else {
                V = p->E_L + (V - p->E_L) * am + Ie * ce + Ii * ci;
                if (V >= p->v_th)
                    s = 1, V = p->v_reset, ref = ref_steps;
            }
            Ie *= ae, Ii *= ai;
        }
        total += s;
        spikes[b] = (uint8_t)s;
        v[b] = (float)(V < p->v_th ? V : p->v_th);
    }
    return total;
}
