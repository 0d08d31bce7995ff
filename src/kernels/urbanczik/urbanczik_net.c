/* urbanczik_net.c: the spiking microcircuit of the `urbanczik` kernel (seed
 * 004): the rate microcircuit's equations with rates replaced by spikes of
 * the single neuron's kind (equations and conventions in urbanczik.h). */
#include <math.h>
#include <stdlib.h>

#include "urbanczik.h"

static void pop_free(uz_pop *q)
{
    free(q->u);
    free(q->refr);
    free(q->s);
    free(q->dead);
    free(q->trL);
    free(q->trS);
    free(q->x);
    free(q->post);
}

static int pop_alloc(uz_pop *q, size_t n)
{
    q->n = n;
    q->u = calloc(n, sizeof *q->u);
    q->refr = calloc(n, sizeof *q->refr);
    q->s = calloc(n, 1);
    q->dead = calloc(n, 1);
    q->trL = calloc(n, sizeof *q->trL);
    q->trS = calloc(n, sizeof *q->trS);
    q->x = calloc(n, sizeof *q->x);
    q->post = calloc(n, sizeof *q->post);
    return q->u && q->refr && q->s && q->dead && q->trL && q->trS && q->x && q->post ? 0 : -1;
}

void uz_net_free(uz_net *net)
{
    if (!net)
        return;
    pop_free(&net->in);
    pop_free(&net->hid);
    pop_free(&net->out);
    pop_free(&net->inh);
    double *v[] = {net->vB1, net->vA1, net->vB2, net->vI, net->W1, net->W2, net->Wd, net->WPI,
                   net->WIP, net->G1, net->G2, net->GPI, net->GIP, net->target};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        free(v[i]);
    free(net);
}

uz_net *uz_net_alloc(const uz_params *p, const uz_net_params *c, size_t n0, size_t n1, size_t n2)
{
    if (uz_params_invalid(p) || !n0 || !n1 || !n2 || !(p->phi_max > 0))
        return NULL;
    uz_net *net = calloc(1, sizeof *net);
    if (!net)
        return NULL;
    net->p = *p;
    net->c = *c;
    net->n0 = n0, net->n1 = n1, net->n2 = n2;
    int bad = pop_alloc(&net->in, n0) | pop_alloc(&net->hid, n1) | pop_alloc(&net->out, n2) |
              pop_alloc(&net->inh, n2);
    double **m[] = {&net->W1, &net->G1, &net->W2, &net->G2, &net->Wd, &net->WPI, &net->GPI,
                    &net->WIP, &net->GIP};
    size_t sz[] = {n1 * n0, n1 * n0, n2 * n1, n2 * n1, n1 * n2, n1 * n2, n1 * n2, n2 * n1, n2 * n1};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        bad |= !(*m[i] = calloc(sz[i], sizeof **m[i]));
    bad |= !(net->vB1 = calloc(n1, sizeof *net->vB1)) | !(net->vA1 = calloc(n1, sizeof *net->vA1)) |
           !(net->vB2 = calloc(n2, sizeof *net->vB2)) | !(net->vI = calloc(n2, sizeof *net->vI)) |
           !(net->target = calloc(n2, sizeof *net->target));
    if (bad) {
        uz_net_free(net);
        return NULL;
    }
    double tau_L = p->C_d / p->gL_d, dt = p->dt;
    net->U0 = p->theta + log(p->k) / p->beta;
    net->aL = exp(-dt / tau_L);
    net->aS = exp(-dt / p->tau_d);
    net->aD = exp(-dt / p->tau_Delta);
    /* A spike adds 1 to both sums at the end of its step; a constant spike
     * probability q per step makes the mean of trL - trS q (1/(1-aL) -
     * 1/(1-aS)), so this factor turns it into q / (phi_max dt): the rate in
     * units of phi_max. */
    net->xnorm = 1.0 / (p->phi_max * dt * (1.0 / (1.0 - net->aL) - 1.0 / (1.0 - net->aS)));
    net->e1 = exp(-(c->g_lk + c->g_B + c->g_A) * dt);
    net->e2 = exp(-(c->g_lk + c->g_B) * dt);
    net->e2n = exp(-(c->g_lk + c->g_B + c->g_som) * dt);
    net->eI = exp(-(c->g_lk + c->g_D + c->g_som) * dt);
    net->ref_steps = (int)lround(p->t_ref / dt);
    return net;
}

void uz_net_init_random(uz_net *net, gsl_rng *r, double w)
{
    double *m[] = {net->W1, net->W2, net->Wd, net->WPI, net->WIP};
    size_t sz[] = {net->n1 * net->n0, net->n2 * net->n1, net->n1 * net->n2, net->n1 * net->n2,
                   net->n2 * net->n1};
    for (size_t k = 0; k < 5; k++)
        for (size_t i = 0; i < sz[k]; i++)
            m[k][i] = w * (2.0 * gsl_rng_uniform(r) - 1.0);
}

void uz_net_self_predicting(uz_net *net)
{
    const uz_net_params *c = &net->c;
    for (size_t i = 0; i < net->n1 * net->n2; i++)
        net->WPI[i] = -net->Wd[i];
    double f = (c->g_lk + c->g_D) / c->g_D * c->g_B / (c->g_lk + c->g_B);
    for (size_t i = 0; i < net->n2 * net->n1; i++)
        net->WIP[i] = f * net->W2[i];
}

static void pop_reset(uz_pop *q)
{
    for (size_t i = 0; i < q->n; i++) {
        q->u[i] = q->trL[i] = q->trS[i] = q->x[i] = 0;
        q->refr[i] = 0;
        q->s[i] = q->dead[i] = 0;
    }
    q->spikes = 0;
}

void uz_net_reset(uz_net *net)
{
    net->in_ok = false;
    pop_reset(&net->in);
    pop_reset(&net->hid);
    pop_reset(&net->out);
    pop_reset(&net->inh);
    for (size_t i = 0; i < net->n1; i++)
        net->vB1[i] = net->vA1[i] = 0;
    for (size_t i = 0; i < net->n2; i++)
        net->vB2[i] = net->vI[i] = 0;
}

double uz_net_U(const uz_net *net, double u)
{
    return net->U0 + u / net->p.beta;
}

/* y = W x (+ y when acc), W m x n row-major. */
static void matvec(const double *restrict W, const double *restrict x, size_t m, size_t n, bool acc,
                   double *restrict y)
{
    for (size_t i = 0; i < m; i++) {
        const double *w = W + i * n;
        double s = 0;
        for (size_t j = 0; j < n; j++)
            s += w[j] * x[j];
        y[i] = acc ? y[i] + s : s;
    }
}

/* The single neuron's spiking: dead steps after a spike, otherwise one
 * uniform against 1 - exp(-phi(U) dt). */
static void pop_fire(uz_net *net, uz_pop *q, gsl_rng *r)
{
    for (size_t i = 0; i < q->n; i++) {
        q->dead[i] = q->refr[i] > 0;
        q->s[i] = 0;
        if (q->dead[i]) {
            q->refr[i]--;
            continue;
        }
        if (gsl_rng_uniform(r) < uz_spike_prob(&net->p, uz_net_U(net, q->u[i]))) {
            q->s[i] = 1;
            q->refr[i] = net->ref_steps;
            q->spikes++;
        }
    }
}

static void pop_traces(const uz_net *net, uz_pop *q)
{
    for (size_t i = 0; i < q->n; i++) {
        q->trL[i] = q->trL[i] * net->aL + q->s[i];
        q->trS[i] = q->trS[i] * net->aS + q->s[i];
        q->x[i] = net->xnorm * (q->trL[i] - q->trS[i]);
    }
}

/* The rate model's logistic: phi(U(u)) / phi_max. */
static double logistic(double u)
{
    return 1.0 / (1.0 + exp(-u));
}

/* post_i = S_i / (phi_max dt) - logistic(a v_i): the spike train against the
 * dendritic prediction's rate; 0 in a dead step unless pi_dead. */
static void spike_error(const uz_net *net, uz_pop *q, const double *v, double a)
{
    double inv = 1.0 / (net->p.phi_max * net->p.dt);
    for (size_t i = 0; i < q->n; i++)
        q->post[i] = q->dead[i] && !net->p.pi_dead ? 0.0
                                                    : inv * q->s[i] - logistic(a * v[i]);
}

/* G = aD G + (1 - aD) post pre^T, W += dt eta G, in one pass. */
static void update(const uz_net *net, double *restrict W, double *restrict G, double eta,
                   const double *post, const double *restrict pre, size_t m, size_t n)
{
    double aD = net->aD, b = 1.0 - aD, s = net->p.dt * eta;
    for (size_t i = 0; i < m; i++) {
        double *restrict w = W + i * n, *restrict g = G + i * n, pb = b * post[i];
        for (size_t j = 0; j < n; j++) {
            g[j] = aD * g[j] + pb * pre[j];
            w[j] += s * g[j];
        }
    }
}

void uz_net_step(uz_net *net, const double *x, bool plastic, gsl_rng *rin, gsl_rng *rsp)
{
    const uz_net_params *c = &net->c;
    size_t n0 = net->n0, n1 = net->n1, n2 = net->n2;
    /* Dendrites from the traces at the step's start. */
    matvec(net->W1, net->in.x, n1, n0, false, net->vB1);
    matvec(net->Wd, net->out.x, n1, n2, false, net->vA1);
    matvec(net->WPI, net->inh.x, n1, n2, true, net->vA1);
    matvec(net->W2, net->hid.x, n2, n1, false, net->vB2);
    matvec(net->WIP, net->hid.x, n2, n1, false, net->vI);
    /* Somas: exact solution over dt for the step's constant inputs;
     * interneurons first, nudged by the output potential at the start. */
    double G = c->g_lk + c->g_D + c->g_som;
    for (size_t i = 0; i < n2; i++) {
        double uinf = (c->g_D * net->vI[i] + c->g_som * net->out.u[i]) / G;
        net->inh.u[i] = uinf + (net->inh.u[i] - uinf) * net->eI;
    }
    G = c->g_lk + c->g_B + c->g_A;
    for (size_t i = 0; i < n1; i++) {
        double uinf = (c->g_B * net->vB1[i] + c->g_A * net->vA1[i]) / G;
        net->hid.u[i] = uinf + (net->hid.u[i] - uinf) * net->e1;
    }
    double gs = net->nudge ? c->g_som : 0.0, e = net->nudge ? net->e2n : net->e2;
    G = c->g_lk + c->g_B + gs;
    for (size_t i = 0; i < n2; i++) {
        double uinf = (c->g_B * net->vB2[i] + gs * net->target[i]) / G;
        net->out.u[i] = uinf + (net->out.u[i] - uinf) * e;
    }
    /* Spikes: inputs Poisson at phi_max x, the rest by the single neuron's
     * rule. An input's probability is recomputed only when its x changes
     * (x is constant over a pattern; the exponential costs more than the draw). */
    for (size_t i = 0; i < n0; i++) {
        if (x[i] != net->in.u[i] || !net->in_ok) {
            net->in.u[i] = x[i];
            net->in.post[i] = -expm1(-net->p.phi_max * x[i] * net->p.dt);
        }
        net->in.s[i] = gsl_rng_uniform(rin) < net->in.post[i];
        net->in.spikes += net->in.s[i];
    }
    net->in_ok = true;
    pop_fire(net, &net->hid, rsp);
    pop_fire(net, &net->out, rsp);
    pop_fire(net, &net->inh, rsp);
    pop_traces(net, &net->in);
    pop_traces(net, &net->hid);
    pop_traces(net, &net->out);
    pop_traces(net, &net->inh);
    if (!plastic)
        return;
    if (c->eta_up != 0) {
        spike_error(net, &net->hid, net->vB1, c->g_B / (c->g_lk + c->g_B + c->g_A));
        update(net, net->W1, net->G1, c->eta_up, net->hid.post, net->in.x, n1, n0);
    }
    if (c->eta_up_out != 0) {
        spike_error(net, &net->out, net->vB2, c->g_B / (c->g_lk + c->g_B));
        update(net, net->W2, net->G2, c->eta_up_out, net->out.post, net->hid.x, n2, n1);
    }
    if (c->eta_IP != 0) {
        spike_error(net, &net->inh, net->vI, c->g_D / (c->g_lk + c->g_D));
        update(net, net->WIP, net->GIP, c->eta_IP, net->inh.post, net->hid.x, n2, n1);
    }
    if (c->eta_PI != 0) {
        for (size_t i = 0; i < n1; i++)
            net->hid.post[i] = -net->vA1[i];
        update(net, net->WPI, net->GPI, c->eta_PI, net->hid.post, net->inh.x, n1, n2);
    }
}

double uz_net_apical_sq(const uz_net *net)
{
    double s = 0;
    for (size_t i = 0; i < net->n1; i++)
        s += net->vA1[i] * net->vA1[i];
    return s / (double)net->n1;
}

double uz_net_inter_sq(const uz_net *net)
{
    double s = 0;
    for (size_t i = 0; i < net->n2; i++) {
        double d = net->inh.u[i] - net->out.u[i];
        s += d * d;
    }
    return s / (double)net->n2;
}

double uz_angle(const double *a, const double *b, size_t n, double sign)
{
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; i++)
        ab += a[i] * sign * b[i], aa += a[i] * a[i], bb += b[i] * b[i];
    if (!(aa > 0 && bb > 0))
        return 90.0;
    double cs = ab / sqrt(aa * bb);
    return acos(cs > 1 ? 1 : cs < -1 ? -1 : cs) * 180.0 / M_PI;
}
