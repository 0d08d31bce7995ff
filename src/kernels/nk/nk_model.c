/* nk_model.c: the three networks of Bull (2024) and the random hill-climber
 * that trains them.
 *
 * Every network is an MLP with N inputs (+1/-1), H logistic hidden neurons
 * and one logistic output, all with biases. `nmlp` gives each hidden neuron
 * j its own decoder: x^_ij = act(d_ij h_j [+ c_ij]); `hmlp` adds one decoder
 * layer: x^_i = act(sum_j d_ij h_j [+ c_i]). A cycle changes one weight and
 * keeps the change when the objective of the changed part went down (ties:
 * a coin flip); see nk_net_cycle() in nk.h for which objective.
 *
 * Speed: only one weight changes per cycle, so the per-example state
 * (nk_cache) is updated in place of being recomputed: an output weight or a
 * decoder weight touches one pre-activation per example (O(E)); an encoder
 * weight of neuron j touches h_j on every example, then the output (O(E)) and
 * for nmlp/hmlp the N decoder outputs that read h_j (O(E N)). Sums that decide
 * a move (SSEs) are always summed afresh from per-example values, never
 * updated by differences, so a change that alters nothing is an exact tie.
 * The full mode rebuilds the whole state for every proposal (O(E H N)); the
 * tests check that both agree, the benchmark compares their speed.
 *
 * Every loop over examples goes through net->vec (nk_vec.c: SIMD, the
 * kernel's own exp), so the state is laid out example-minor: one contiguous
 * row of E values per hidden neuron, decoder node or input. */
#include <stdlib.h>
#include <string.h>

#include "nk.h"

/* ---- sizes ---- */

size_t nk_nparams(const nk_config *c)
{
    size_t n = (size_t)c->n, h = (size_t)c->h;
    size_t p = h * (n + 1) + h + 1;
    if (c->model == NK_NMLP)
        p += h * n * (c->decoder_bias ? 2 : 1);
    else if (c->model == NK_HMLP)
        p += n * h + (c->decoder_bias ? n : 0);
    return p;
}

size_t nk_hidden_count(const nk_config *c) { return nk_nparams(c) - (size_t)c->h - 1; }

static size_t decoder_count(const nk_config *c)
{
    return c->model == NK_MLP ? 0 : (size_t)c->n * (size_t)c->h;
}

static size_t decoder_bias_count(const nk_config *c)
{
    if (!c->decoder_bias || c->model == NK_MLP)
        return 0;
    return c->model == NK_NMLP ? (size_t)c->n * (size_t)c->h : (size_t)c->n;
}

/* ---- sums ---- */

static double sum(const double *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    return s;
}

/* y = sigmoid(o); returns sum (y - target)^2. */
static double output_sse(const nk_net *net, const double *o, const double *target, double *y,
                         int e)
{
    double lanes[4] = {0, 0, 0, 0};
    net->vec->output_sse(o, target, y, e, lanes);
    return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}

/* A decoder's reconstruction error, in the configured precision (nk.h):
 * nmlp's sum of (act(scale h + shift) - x)^2, hmlp's of (act(z + d dh) - x)^2. */
static double decoder_neuron_sse(const nk_net *net, double scale, double shift, const double *h,
                                 const double *x)
{
    const nk_vec_ops *v = net->vec;
    return (net->cfg.decoder_precision == NK_DOUBLE ? v->neuron_sse : v->neuron_sse32)(
        net->cfg.decoder_act, scale, shift, h, x, net->train->count);
}

static double decoder_layer_sse(const nk_net *net, const double *z, double d, const double *dh,
                                const double *x)
{
    const nk_vec_ops *v = net->vec;
    return (net->cfg.decoder_precision == NK_DOUBLE ? v->layer_sse : v->layer_sse32)(
        net->cfg.decoder_act, z, d, dh, x, net->train->count);
}

static void fill(double *y, double value, int e)
{
    for (int q = 0; q < e; q++)
        y[q] = value;
}

/* Encoder pre-activations of every hidden neuron for examples q0 .. q0+e-1
 * of d, neuron j's in a + j stride: bias first, then the inputs in order
 * (the same order everywhere, so full passes agree exactly). Inputs in the
 * outer loop, so that each input's row is read once for all neurons. */
static void encode(const nk_net *net, const nk_dataset *d, int q0, int e, double *a,
                   size_t stride)
{
    int n = net->cfg.n, h = net->cfg.h;
    for (int j = 0; j < h; j++)
        fill(a + (size_t)j * stride, net->w[(size_t)j * (size_t)(n + 1) + (size_t)n], e);
    for (int k = 0; k < n; k++) {
        const double *xk = d->xt + (size_t)k * (size_t)d->count + (size_t)q0;
        for (int j = 0; j < h; j++) {
            double *aj = a + (size_t)j * stride;
            net->vec->axpy(aj, aj, net->w[(size_t)j * (size_t)(n + 1) + (size_t)k], xk, e);
        }
    }
}

static inline double nmlp_bias(const nk_net *net, int j, int i)
{
    return net->c ? net->c[(size_t)j * (size_t)net->cfg.n + (size_t)i] : 0.0;
}

/* ---- states ---- */

int nk_cache_alloc(nk_cache *c, const nk_config *cfg, int examples)
{
    size_t e = (size_t)examples, n = (size_t)cfg->n, h = (size_t)cfg->h;
    memset(c, 0, sizeof *c);
    c->a = malloc(h * e * sizeof *c->a);
    c->h = malloc(h * e * sizeof *c->h);
    c->o = malloc(e * sizeof *c->o);
    c->y = malloc(e * sizeof *c->y);
    bool ok = c->a && c->h && c->o && c->y;
    if (cfg->model == NK_NMLP)
        ok = ok && (c->s = malloc(h * n * sizeof *c->s));
    if (cfg->model == NK_HMLP) {
        ok = ok && (c->s = malloc(n * sizeof *c->s));
        ok = ok && (c->z = malloc(n * e * sizeof *c->z));
    }
    if (!ok)
        nk_cache_free(c);
    return ok ? 0 : -1;
}

void nk_cache_free(nk_cache *c)
{
    if (!c)
        return;
    free(c->a);
    free(c->h);
    free(c->o);
    free(c->y);
    free(c->z);
    free(c->s);
    memset(c, 0, sizeof *c);
}

void nk_net_recompute(const nk_net *net, nk_cache *out)
{
    const nk_config *cfg = &net->cfg;
    const nk_dataset *d = net->train;
    const nk_vec_ops *vec = net->vec;
    int n = cfg->n, h = cfg->h, e = d->count;
    size_t ue = (size_t)e;
    encode(net, d, 0, e, out->a, ue);
    fill(out->o, net->v[h], e);
    for (int j = 0; j < h; j++) {
        double *hj = out->h + (size_t)j * ue;
        vec->decode(NK_ACT_SIGMOID, out->a + (size_t)j * ue, hj, e);
        vec->axpy(out->o, out->o, net->v[j], hj, e);
    }
    out->task_sse = output_sse(net, out->o, d->y, out->y, e);
    if (cfg->model == NK_NMLP) {
        for (int j = 0; j < h; j++)
            for (int i = 0; i < n; i++)
                out->s[(size_t)j * (size_t)n + (size_t)i] = decoder_neuron_sse(
                    net, net->d[(size_t)j * (size_t)n + (size_t)i], nmlp_bias(net, j, i),
                    out->h + (size_t)j * ue, d->xt + (size_t)i * ue);
    } else if (cfg->model == NK_HMLP) {
        for (int i = 0; i < n; i++) {
            double *zi = out->z + (size_t)i * ue;
            const double *di = net->d + (size_t)i * (size_t)h;
            fill(zi, net->c ? net->c[i] : 0.0, e);
            for (int j = 0; j < h; j++)
                vec->axpy(zi, zi, di[j], out->h + (size_t)j * ue, e);
            out->s[i] = decoder_layer_sse(net, zi, 0.0, NULL, d->xt + (size_t)i * ue);
        }
    }
}

/* ---- the network ---- */

void nk_net_free(nk_net *net)
{
    if (!net)
        return;
    free(net->w);
    free(net->v);
    free(net->d);
    free(net->c);
    nk_cache_free(&net->cur);
    nk_cache_free(&net->trial);
    free(net->pa);
    free(net->ph);
    free(net->po);
    free(net->py);
    free(net->ps);
    free(net->pz);
    free(net->dh);
    free(net->blk);
    free(net);
}

nk_net *nk_net_alloc(const nk_config *c, const nk_dataset *train)
{
    if (c->n != train->n || c->h < 1)
        return NULL;
    nk_net *net = calloc(1, sizeof *net);
    if (!net)
        return NULL;
    size_t n = (size_t)c->n, h = (size_t)c->h, e = (size_t)train->count;
    net->cfg = *c;
    net->train = train;
    net->vec = nk_vec_best();
    net->w = malloc(h * (n + 1) * sizeof *net->w);
    net->v = malloc((h + 1) * sizeof *net->v);
    bool ok = net->w && net->v;
    if (decoder_count(c))
        ok = ok && (net->d = malloc(decoder_count(c) * sizeof *net->d));
    if (decoder_bias_count(c))
        ok = ok && (net->c = malloc(decoder_bias_count(c) * sizeof *net->c));
    ok = ok && nk_cache_alloc(&net->cur, c, train->count) == 0;
    if (c->full)
        ok = ok && nk_cache_alloc(&net->trial, c, train->count) == 0;
    ok = ok && (net->pa = malloc(e * sizeof(double))) && (net->ph = malloc(e * sizeof(double))) &&
         (net->po = malloc(e * sizeof(double))) && (net->py = malloc(e * sizeof(double))) &&
         (net->ps = malloc(n * sizeof(double))) && (net->pz = malloc(e * sizeof(double))) &&
         (net->dh = malloc(e * sizeof(double))) &&
         (net->blk = malloc((h + 1) * NK_BLOCK * sizeof(double)));
    if (!ok) {
        nk_net_free(net);
        return NULL;
    }
    return net;
}

static void draw_weights(double *w, size_t count, gsl_rng *r)
{
    for (size_t q = 0; q < count; q++)
        w[q] = 2.0 * gsl_rng_uniform(r) - 1.0;
}

void nk_net_init(nk_net *net, gsl_rng *shared, gsl_rng *decoder)
{
    const nk_config *c = &net->cfg;
    size_t n = (size_t)c->n, h = (size_t)c->h;
    draw_weights(net->w, h * (n + 1), shared);
    draw_weights(net->v, h + 1, shared);
    if (c->model == NK_NMLP) {
        draw_weights(net->d, h * n, decoder);
    } else if (c->model == NK_HMLP) {
        /* Neuron-major like nmlp, so both start from the same decoder values. */
        for (size_t j = 0; j < h; j++)
            for (size_t i = 0; i < n; i++)
                net->d[i * h + j] = 2.0 * gsl_rng_uniform(decoder) - 1.0;
    }
    if (net->c)
        draw_weights(net->c, decoder_bias_count(c), decoder);
    nk_net_recompute(net, &net->cur);
}

/* ---- moves ---- */

bool nk_accept(double after, double before, gsl_rng *r, bool *tie)
{
    *tie = after == before;
    if (*tie)
        return gsl_rng_uniform(r) < 0.5;
    return after < before;
}

typedef enum { W_ENCODER, W_DECODER, W_DECODER_BIAS } wkind;

/* A hidden-layer weight index, decoded: neuron j, encoder input k (k == n:
 * the bias), decoder input i. j is -1 for an hmlp decoder bias. */
typedef struct {
    wkind kind;
    int j, k, i;
} hidden_weight;

static hidden_weight decode_hidden(const nk_config *c, size_t index)
{
    size_t n = (size_t)c->n, h = (size_t)c->h;
    hidden_weight hw = {W_ENCODER, -1, -1, -1};
    if (c->model == NK_NMLP) {
        size_t per = (n + 1) + n + (c->decoder_bias ? n : 0), r = index % per;
        hw.j = (int)(index / per);
        if (r <= n)
            hw.k = (int)r;
        else if (r < 2 * n + 1)
            hw.kind = W_DECODER, hw.i = (int)(r - n - 1);
        else
            hw.kind = W_DECODER_BIAS, hw.i = (int)(r - 2 * n - 1);
        return hw;
    }
    size_t enc = h * (n + 1);
    if (index < enc) {
        hw.j = (int)(index / (n + 1)), hw.k = (int)(index % (n + 1));
    } else if (index < enc + n * h) { /* hmlp decoder, row-major n x h */
        hw.kind = W_DECODER, hw.i = (int)((index - enc) / h), hw.j = (int)((index - enc) % h);
    } else {
        hw.kind = W_DECODER_BIAS, hw.i = (int)(index - enc - n * h);
    }
    return hw;
}

static double *hidden_weight_ptr(nk_net *net, hidden_weight hw)
{
    size_t n = (size_t)net->cfg.n, h = (size_t)net->cfg.h;
    bool nmlp = net->cfg.model == NK_NMLP;
    switch (hw.kind) {
    case W_ENCODER:
        return net->w + (size_t)hw.j * (n + 1) + (size_t)hw.k;
    case W_DECODER:
        return net->d + (nmlp ? (size_t)hw.j * n + (size_t)hw.i : (size_t)hw.i * h + (size_t)hw.j);
    case W_DECODER_BIAS:
        return net->c + (nmlp ? (size_t)hw.j * n + (size_t)hw.i : (size_t)hw.i);
    }
    return NULL;
}

/* The objective a move is judged by, read from a state. */
static double objective(const nk_net *net, const nk_cache *c, nk_layer layer, hidden_weight hw)
{
    if (layer == NK_OUTPUT || net->cfg.model == NK_MLP)
        return c->task_sse;
    if (net->cfg.model == NK_NMLP)
        return sum(c->s + (size_t)hw.j * (size_t)net->cfg.n, net->cfg.n);
    return sum(c->s, net->cfg.n);
}

static void swap_ptr(double **a, double **b)
{
    double *t = *a;
    *a = *b;
    *b = t;
}

/* Full mode: change the weight, rebuild the trial state, keep or revert. */
static void full_move(nk_net *net, double *wp, hidden_weight hw, nk_move *mv, gsl_rng *r)
{
    double old = *wp;
    *wp += mv->delta;
    nk_net_recompute(net, &net->trial);
    mv->before = objective(net, &net->cur, mv->layer, hw);
    mv->after = objective(net, &net->trial, mv->layer, hw);
    mv->accepted = nk_accept(mv->after, mv->before, r, &mv->tie);
    if (mv->accepted) {
        nk_cache t = net->cur;
        net->cur = net->trial;
        net->trial = t;
    } else {
        *wp = old;
    }
}

/* After a kept hidden move of neuron j (new activations in ph): the output. */
static void update_output_after_hidden(nk_net *net, int j)
{
    nk_cache *c = &net->cur;
    int e = net->train->count;
    net->vec->axpy(net->po, c->o, net->v[j], net->dh, e);
    c->task_sse = output_sse(net, net->po, net->train->y, net->py, e);
    swap_ptr(&c->o, &net->po);
    swap_ptr(&c->y, &net->py);
}

static void output_move(nk_net *net, nk_move *mv, gsl_rng *r)
{
    nk_cache *c = &net->cur;
    int e = net->train->count, j = (int)mv->index;
    if (j < net->cfg.h)
        net->vec->axpy(net->po, c->o, mv->delta, c->h + (size_t)j * (size_t)e, e);
    else
        for (int q = 0; q < e; q++)
            net->po[q] = c->o[q] + mv->delta;
    mv->before = c->task_sse;
    mv->after = output_sse(net, net->po, net->train->y, net->py, e);
    mv->accepted = nk_accept(mv->after, mv->before, r, &mv->tie);
    if (mv->accepted) {
        net->v[j] += mv->delta;
        c->task_sse = mv->after;
        swap_ptr(&c->o, &net->po);
        swap_ptr(&c->y, &net->py);
    }
}

/* Proposed objective of an encoder move whose new h_j is in ph and whose
 * change of h_j is in dh. The hmlp decoder pre-activations z_i + d_ij dh are
 * not stored: a kept move recomputes them (bit for bit the same), which is
 * cheaper than writing N x E values for every proposal. */
static double encoder_proposal(nk_net *net, int j)
{
    const nk_config *cfg = &net->cfg;
    const nk_vec_ops *vec = net->vec;
    nk_cache *c = &net->cur;
    int n = cfg->n, e = net->train->count;
    size_t ue = (size_t)e;
    if (cfg->model == NK_MLP) {
        vec->axpy(net->po, c->o, net->v[j], net->dh, e);
        return output_sse(net, net->po, net->train->y, net->py, e);
    }
    if (cfg->model == NK_NMLP) {
        for (int i = 0; i < n; i++)
            net->ps[i] = decoder_neuron_sse(net, net->d[(size_t)j * (size_t)n + (size_t)i],
                                            nmlp_bias(net, j, i), net->ph,
                                            net->train->xt + (size_t)i * ue);
        return sum(net->ps, n);
    }
    for (int i = 0; i < n; i++)
        net->ps[i] = decoder_layer_sse(net, c->z + (size_t)i * ue,
                                       net->d[(size_t)i * (size_t)cfg->h + (size_t)j], net->dh,
                                       net->train->xt + (size_t)i * ue);
    return sum(net->ps, n);
}

static void encoder_move(nk_net *net, hidden_weight hw, nk_move *mv, gsl_rng *r)
{
    const nk_config *cfg = &net->cfg;
    nk_cache *c = &net->cur;
    int n = cfg->n, e = net->train->count, j = hw.j;
    size_t ue = (size_t)e;
    const double *xk = hw.k < n ? net->train->xt + (size_t)hw.k * ue : NULL;
    double *aj = c->a + (size_t)j * ue, *hj = c->h + (size_t)j * ue;
    net->vec->encoder_step(aj, mv->delta, xk, net->pa, net->ph, e);
    net->vec->sub(net->ph, hj, net->dh, e);
    mv->before = objective(net, c, NK_HIDDEN, hw);
    mv->after = encoder_proposal(net, j);
    mv->accepted = nk_accept(mv->after, mv->before, r, &mv->tie);
    if (!mv->accepted)
        return;
    *hidden_weight_ptr(net, hw) += mv->delta;
    if (cfg->model == NK_MLP) {
        c->task_sse = mv->after;
        swap_ptr(&c->o, &net->po);
        swap_ptr(&c->y, &net->py);
    } else {
        /* The output was not the judge, but it reads h_j: bring it up to date
         * before h_j itself changes. */
        update_output_after_hidden(net, j);
        if (cfg->model == NK_NMLP)
            memcpy(c->s + (size_t)j * (size_t)n, net->ps, (size_t)n * sizeof *c->s);
        else {
            memcpy(c->s, net->ps, (size_t)n * sizeof *c->s);
            for (int i = 0; i < n; i++) {
                double *zi = c->z + (size_t)i * ue;
                net->vec->axpy(zi, zi, net->d[(size_t)i * (size_t)cfg->h + (size_t)j], net->dh, e);
            }
        }
    }
    memcpy(aj, net->pa, ue * sizeof *aj);
    memcpy(hj, net->ph, ue * sizeof *hj);
}

/* A decoder weight or bias: one decoded input changes (O(E)). */
static void decoder_move(nk_net *net, hidden_weight hw, nk_move *mv, gsl_rng *r)
{
    const nk_config *cfg = &net->cfg;
    nk_cache *c = &net->cur;
    int n = cfg->n, e = net->train->count, i = hw.i;
    size_t ue = (size_t)e;
    const double *xi = net->train->xt + (size_t)i * ue;
    double *wp = hidden_weight_ptr(net, hw);
    double *s = cfg->model == NK_NMLP ? c->s + (size_t)hw.j * (size_t)n : c->s;
    double snew;
    if (cfg->model == NK_NMLP) {
        double dij = net->d[(size_t)hw.j * (size_t)n + (size_t)i], cij = nmlp_bias(net, hw.j, i);
        if (hw.kind == W_DECODER)
            dij += mv->delta;
        else
            cij += mv->delta;
        snew = decoder_neuron_sse(net, dij, cij, c->h + (size_t)hw.j * ue, xi);
    } else {
        const double *zi = c->z + (size_t)i * ue;
        if (hw.kind == W_DECODER)
            net->vec->axpy(net->pz, zi, mv->delta, c->h + (size_t)hw.j * ue, e);
        else
            for (int q = 0; q < e; q++)
                net->pz[q] = zi[q] + mv->delta;
        snew = decoder_layer_sse(net, net->pz, 0.0, NULL, xi);
    }
    memcpy(net->ps, s, (size_t)n * sizeof *s);
    net->ps[i] = snew;
    mv->before = sum(s, n);
    mv->after = sum(net->ps, n);
    mv->accepted = nk_accept(mv->after, mv->before, r, &mv->tie);
    if (!mv->accepted)
        return;
    *wp += mv->delta;
    s[i] = snew;
    if (cfg->model == NK_HMLP)
        memcpy(c->z + (size_t)i * ue, net->pz, ue * sizeof *c->z);
}

void nk_net_cycle(nk_net *net, gsl_rng *search, nk_move *mv)
{
    const nk_config *cfg = &net->cfg;
    memset(mv, 0, sizeof *mv);
    mv->layer = gsl_rng_uniform(search) < 0.5 ? NK_HIDDEN : NK_OUTPUT;
    size_t count = mv->layer == NK_HIDDEN ? nk_hidden_count(cfg) : (size_t)cfg->h + 1;
    mv->index = gsl_rng_uniform_int(search, (unsigned long)count);
    mv->delta = cfg->r * (2.0 * gsl_rng_uniform(search) - 1.0);
    hidden_weight hw = {W_ENCODER, -1, -1, -1};
    if (mv->layer == NK_HIDDEN)
        hw = decode_hidden(cfg, mv->index);
    if (cfg->full) {
        double *wp = mv->layer == NK_OUTPUT ? net->v + mv->index : hidden_weight_ptr(net, hw);
        full_move(net, wp, hw, mv, search);
    } else if (mv->layer == NK_OUTPUT) {
        output_move(net, mv, search);
    } else if (hw.kind == W_ENCODER) {
        encoder_move(net, hw, mv, search);
    } else {
        decoder_move(net, hw, mv, search);
    }
}

/* ---- results ---- */

double nk_net_train_mse(const nk_net *net) { return net->cur.task_sse / net->train->count; }

double nk_net_recon_mse(const nk_net *net)
{
    const nk_config *c = &net->cfg;
    double e = net->train->count;
    if (c->model == NK_NMLP)
        return sum(net->cur.s, c->n * c->h) / (e * c->n * c->h);
    if (c->model == NK_HMLP)
        return sum(net->cur.s, c->n) / (e * c->n);
    return -1.0;
}

/* A forward pass block by block (NK_BLOCK examples, a multiple of 4, so the
 * lanes of the error sum take the same elements as in one pass over all):
 * per hidden neuron the same operations in the same order as
 * nk_net_recompute(), so on the training set it gives the cached error. */
double nk_net_mse(const nk_net *net, const nk_dataset *d)
{
    int h = net->cfg.h;
    double *a = net->blk, *o = net->blk + (size_t)h * NK_BLOCK;
    double lanes[4] = {0, 0, 0, 0};
    for (int q0 = 0; q0 < d->count; q0 += NK_BLOCK) {
        int m = d->count - q0 < NK_BLOCK ? d->count - q0 : NK_BLOCK;
        encode(net, d, q0, m, a, NK_BLOCK);
        fill(o, net->v[h], m);
        for (int j = 0; j < h; j++) {
            double *aj = a + (size_t)j * NK_BLOCK;
            net->vec->decode(NK_ACT_SIGMOID, aj, aj, m); /* h_j over a_j */
            net->vec->axpy(o, o, net->v[j], aj, m);
        }
        /* The outputs themselves are not kept: write them over a_0. */
        net->vec->output_sse(o, d->y + q0, a, m, lanes);
    }
    return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) / d->count;
}
