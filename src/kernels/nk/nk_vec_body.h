/* nk_vec_body.h: the loops of nk_vec.c, compiled once per instruction set.
 * nk_vec.c includes this file with NK_VEC(name) defined to give each copy
 * its own names, NK_VEC_TABLE declaring its table and NK_VEC_NAME naming it. Not a header: include
 * it nowhere else. */

static void NK_VEC(exp)(const double *x, double *y, int e)
{
    int q = 0;
    for (; q + 4 <= e; q += 4)
        store(y + q, vexp(load(x + q)));
    if (q < e)
        store_part(y + q, vexp(load_part(x + q, e - q)), e - q);
}

static void NK_VEC(decode)(nk_act act, const double *a, double *y, int e)
{
    int q = 0;
    for (; q + 4 <= e; q += 4)
        store(y + q, vdecode(load(a + q), act));
    if (q < e)
        store_part(y + q, vdecode(load_part(a + q, e - q), act), e - q);
}

static void NK_VEC(encoder_step)(const double *a, double delta, const double *xk, double *pa,
                                 double *ph, int e)
{
    v4d dv = splat(delta);
    int q = 0;
    for (; q + 4 <= e; q += 4) {
        v4d p = load(a + q) + dv * (xk ? load(xk + q) : splat(1.0));
        store(pa + q, p);
        store(ph + q, vsigmoid(p));
    }
    if (q < e) {
        int m = e - q;
        v4d p = load_part(a + q, m) + dv * (xk ? load_part(xk + q, m) : splat(1.0));
        store_part(pa + q, p, m);
        store_part(ph + q, vsigmoid(p), m);
    }
}

static void NK_VEC(axpy)(double *out, const double *y, double alpha, const double *x, int e)
{
    v4d av = splat(alpha);
    int q = 0;
    for (; q + 4 <= e; q += 4)
        store(out + q, load(y + q) + av * load(x + q));
    for (; q < e; q++)
        out[q] = y[q] + alpha * x[q];
}

static void NK_VEC(sub)(const double *a, const double *b, double *out, int e)
{
    int q = 0;
    for (; q + 4 <= e; q += 4)
        store(out + q, load(a + q) - load(b + q));
    for (; q < e; q++)
        out[q] = a[q] - b[q];
}

static void NK_VEC(output_sse)(const double *o, const double *target, double *y, int e,
                               double lanes[4])
{
    v4d acc = load(lanes);
    int q = 0;
    for (; q + 4 <= e; q += 4) {
        v4d yq = vsigmoid(load(o + q));
        store(y + q, yq);
        v4d r = yq - load(target + q);
        acc += r * r;
    }
    if (q < e) {
        int m = e - q;
        v4d yq = vsigmoid(load_part(o + q, m));
        store_part(y + q, yq, m);
        v4d r = yq - load_part(target + q, m);
        acc += vselect(lanes_below(m), r * r, splat(0.0));
    }
    store(lanes, acc);
}

static double NK_VEC(neuron_sse)(nk_act act, double scale, double shift, const double *h,
                                 const double *x, int e)
{
    v4d sc = splat(scale), sf = splat(shift), acc = splat(0.0);
    int q = 0;
    /* Two vectors per step: independent chains that the CPU overlaps. */
    for (; q + 8 <= e; q += 8) {
        v4d r0 = vdecode(sc * load(h + q) + sf, act) - load(x + q);
        v4d r1 = vdecode(sc * load(h + q + 4) + sf, act) - load(x + q + 4);
        acc += r0 * r0;
        acc += r1 * r1;
    }
    for (; q + 4 <= e; q += 4) {
        v4d r = vdecode(sc * load(h + q) + sf, act) - load(x + q);
        acc += r * r;
    }
    if (q < e) {
        int m = e - q;
        v4d r = vdecode(sc * load_part(h + q, m) + sf, act) - load_part(x + q, m);
        acc += vselect(lanes_below(m), r * r, splat(0.0));
    }
    return lanes_sum(acc);
}

static double NK_VEC(layer_sse)(nk_act act, const double *z, double d, const double *dh,
                                const double *x, int e)
{
    v4d dv = splat(d), acc = splat(0.0);
    int q = 0;
    for (; q + 4 <= e; q += 4) {
        v4d zq = dh ? load(z + q) + dv * load(dh + q) : load(z + q);
        v4d r = vdecode(zq, act) - load(x + q);
        acc += r * r;
    }
    if (q < e) {
        int m = e - q;
        v4d zq = dh ? load_part(z + q, m) + dv * load_part(dh + q, m) : load_part(z + q, m);
        v4d r = vdecode(zq, act) - load_part(x + q, m);
        acc += vselect(lanes_below(m), r * r, splat(0.0));
    }
    return lanes_sum(acc);
}

/* ---- single-precision decoder outputs: eight values per step ---- */

/* act in float of eight doubles (as two vectors), widened back to double. */
NK_INLINE void NK_VEC(vdecode8)(v4d t0, v4d t1, nk_act act, v4d *y0, v4d *y1)
{
    NK_WIDEN(vdecodef(NK_NARROW(t0, t1), act), y0, y1);
}

static void NK_VEC(decode32)(nk_act act, const double *a, double *y, int e)
{
    v4d y0, y1;
    int q = 0;
    for (; q + 8 <= e; q += 8) {
        NK_VEC(vdecode8)(load(a + q), load(a + q + 4), act, &y0, &y1);
        store(y + q, y0);
        store(y + q + 4, y1);
    }
    if (q < e) {
        int m0 = e - q < 4 ? e - q : 4, m1 = e - q - m0;
        NK_VEC(vdecode8)(load_part(a + q, m0), load_part(a + q + 4, m1), act, &y0, &y1);
        store_part(y + q, y0, m0);
        store_part(y + q + 4, y1, m1);
    }
}

/* The sum of (y - x)^2 over eight elements (two vectors) into the four
 * lanes, first the lower four then the upper four, as the double loops add
 * them; lanes at or beyond m (the elements present) add nothing. */
NK_INLINE v4d NK_VEC(add_sq8)(v4d acc, v4d y0, v4d y1, const double *x, int m)
{
    if (m >= 8) {
        v4d r0 = y0 - load(x), r1 = y1 - load(x + 4);
        acc += r0 * r0;
        acc += r1 * r1;
        return acc;
    }
    int m0 = m < 4 ? m : 4, m1 = m - m0;
    v4d r0 = y0 - load_part(x, m0), r1 = y1 - load_part(x + 4, m1);
    acc += vselect(lanes_below(m0), r0 * r0, splat(0.0));
    if (m1 > 0)
        acc += vselect(lanes_below(m1), r1 * r1, splat(0.0));
    return acc;
}

static double NK_VEC(neuron_sse32)(nk_act act, double scale, double shift, const double *h,
                                   const double *x, int e)
{
    v4d sc = splat(scale), sf = splat(shift), acc = splat(0.0), y0, y1;
    int q = 0;
    for (; q + 8 <= e; q += 8) {
        NK_VEC(vdecode8)(sc * load(h + q) + sf, sc * load(h + q + 4) + sf, act, &y0, &y1);
        acc = NK_VEC(add_sq8)(acc, y0, y1, x + q, 8);
    }
    if (q < e) {
        int m0 = e - q < 4 ? e - q : 4, m1 = e - q - m0;
        NK_VEC(vdecode8)(sc * load_part(h + q, m0) + sf, sc * load_part(h + q + 4, m1) + sf, act, &y0,
                 &y1);
        acc = NK_VEC(add_sq8)(acc, y0, y1, x + q, e - q);
    }
    return lanes_sum(acc);
}

static double NK_VEC(layer_sse32)(nk_act act, const double *z, double d, const double *dh,
                                  const double *x, int e)
{
    v4d dv = splat(d), acc = splat(0.0), y0, y1;
    int q = 0;
    for (; q + 8 <= e; q += 8) {
        v4d z0 = dh ? load(z + q) + dv * load(dh + q) : load(z + q);
        v4d z1 = dh ? load(z + q + 4) + dv * load(dh + q + 4) : load(z + q + 4);
        NK_VEC(vdecode8)(z0, z1, act, &y0, &y1);
        acc = NK_VEC(add_sq8)(acc, y0, y1, x + q, 8);
    }
    if (q < e) {
        int m0 = e - q < 4 ? e - q : 4, m1 = e - q - m0;
        v4d z0 = load_part(z + q, m0), z1 = load_part(z + q + 4, m1);
        if (dh) {
            z0 += dv * load_part(dh + q, m0);
            z1 += dv * load_part(dh + q + 4, m1);
        }
        NK_VEC(vdecode8)(z0, z1, act, &y0, &y1);
        acc = NK_VEC(add_sq8)(acc, y0, y1, x + q, e - q);
    }
    return lanes_sum(acc);
}

NK_VEC_TABLE = {
    .name = NK_VEC_NAME,
    .exp = NK_VEC(exp),
    .decode = NK_VEC(decode),
    .encoder_step = NK_VEC(encoder_step),
    .axpy = NK_VEC(axpy),
    .sub = NK_VEC(sub),
    .output_sse = NK_VEC(output_sse),
    .neuron_sse = NK_VEC(neuron_sse),
    .layer_sse = NK_VEC(layer_sse),
    .decode32 = NK_VEC(decode32),
    .neuron_sse32 = NK_VEC(neuron_sse32),
    .layer_sse32 = NK_VEC(layer_sse32),
};
