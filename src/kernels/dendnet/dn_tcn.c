/* dn_tcn.c: the causal temporal convolutional network of the `dendnet`
 * kernel (dendnet.h), its losses and gradients, Adam, and the evaluation
 * metrics.
 *
 * Every convolution is "valid" over time: a window of L output bins reads
 * L + rf - 1 input bins, the rf - 1 before its first output being history,
 * so output bin t depends on input bins t - rf + 1 .. t only (causal). A
 * layer is one matrix product: the input is unrolled (im2col) into a matrix
 * with one row per (channel, lag) and one column per (window, time), and
 * the weights (width x channels*K) multiply it through CBLAS. The backward
 * pass is the two transposed products and the folding back (col2im). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cblas.h> /* the CBLAS interface; the calls go to OpenBLAS (Makefile) */
#include <gsl/gsl_randist.h>

#include "dendnet.h"

#define MAX_DEPTH 8

dn_tcn *dn_tcn_alloc(int cin, int depth, int width, int rf, int first)
{
    if (cin < 1 || depth < 1 || depth > MAX_DEPTH || width < 1 || rf < 1 ||
        (depth > 1 && (first < 1 || first >= rf)))
        return NULL;
    dn_tcn *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->cin = cin, n->depth = depth, n->width = width;
    if (depth == 1) {
        n->K[0] = rf;
    } else {
        n->K[0] = first;
        int rest = (int)lround((double)(rf - first) / (depth - 1)) + 1;
        for (int l = 1; l < depth; l++)
            n->K[l] = rest < 1 ? 1 : rest;
    }
    n->rf = 1;
    size_t np = 0;
    for (int l = 0; l < depth; l++) {
        int ci = l == 0 ? cin : width;
        n->rf += n->K[l] - 1;
        n->off_W[l] = np, np += (size_t)width * ci * n->K[l];
        n->off_b[l] = np, np += width;
    }
    n->off_head = np, np += 2 * (size_t)width;
    n->off_hb = np, np += 2;
    n->np = np;
    n->w = calloc(np, sizeof *n->w);
    n->g = calloc(np, sizeof *n->g);
    n->m = calloc(np, sizeof *n->m);
    n->s = calloc(np, sizeof *n->s);
    if (!n->w || !n->g || !n->m || !n->s) {
        dn_tcn_free(n);
        return NULL;
    }
    return n;
}

void dn_tcn_free(dn_tcn *n)
{
    if (!n)
        return;
    free(n->w), free(n->g), free(n->m), free(n->s);
    free(n);
}

void dn_tcn_init(dn_tcn *n, gsl_rng *r, double p0)
{
    memset(n->w, 0, n->np * sizeof *n->w);
    for (int l = 0; l < n->depth; l++) {
        int fan = (l == 0 ? n->cin : n->width) * n->K[l];
        size_t cnt = (size_t)n->width * fan;
        double sd = sqrt(2.0 / fan); /* He: keeps the ReLU activations' scale */
        for (size_t i = 0; i < cnt; i++)
            n->w[n->off_W[l] + i] = gsl_ran_gaussian(r, sd);
    }
    for (int i = 0; i < 2 * n->width; i++)
        n->w[n->off_head + i] = gsl_ran_gaussian(r, sqrt(1.0 / n->width));
    n->w[n->off_hb] = log(p0 / (1 - p0));
    memset(n->m, 0, n->np * sizeof *n->m);
    memset(n->s, 0, n->np * sizeof *n->s);
    n->t_adam = 0;
}

struct dn_work {
    int B, L;
    int Lin[MAX_DEPTH + 1]; /* input length per window of layer l (Lin[depth] = L) */
    double *col[MAX_DEPTH], *a[MAX_DEPTH];
    double *out, *dout, *da[2], *dcol;
};

void dn_work_free(dn_work *w)
{
    if (!w)
        return;
    for (int l = 0; l < MAX_DEPTH; l++)
        free(w->col[l]), free(w->a[l]);
    free(w->out), free(w->dout), free(w->da[0]), free(w->da[1]), free(w->dcol);
    free(w);
}

dn_work *dn_work_alloc(const dn_tcn *n, int B, int L)
{
    dn_work *w = calloc(1, sizeof *w);
    if (!w || B < 1 || L < 1) {
        free(w);
        return NULL;
    }
    w->B = B, w->L = L;
    w->Lin[0] = L + n->rf - 1;
    size_t max_da = 0, max_dcol = 0;
    bool ok = true;
    for (int l = 0; l < n->depth; l++) {
        int ci = l == 0 ? n->cin : n->width;
        w->Lin[l + 1] = w->Lin[l] - n->K[l] + 1;
        size_t N = (size_t)B * w->Lin[l + 1];
        w->col[l] = malloc((size_t)ci * n->K[l] * N * sizeof(double));
        w->a[l] = malloc((size_t)n->width * N * sizeof(double));
        ok = ok && w->col[l] && w->a[l];
        size_t da = (size_t)n->width * N;
        max_da = da > max_da ? da : max_da;
        if (l > 0 && (size_t)ci * n->K[l] * N > max_dcol)
            max_dcol = (size_t)ci * n->K[l] * N;
        if (l > 0 && (size_t)n->width * B * w->Lin[l] > max_da)
            max_da = (size_t)n->width * B * w->Lin[l];
    }
    size_t NL = (size_t)B * L;
    w->out = malloc(2 * NL * sizeof *w->out);
    w->dout = malloc(2 * NL * sizeof *w->dout);
    w->da[0] = malloc(max_da * sizeof(double));
    w->da[1] = malloc(max_da * sizeof(double));
    w->dcol = malloc((max_dcol ? max_dcol : 1) * sizeof(double));
    if (!ok || !w->out || !w->dout || !w->da[0] || !w->da[1] || !w->dcol) {
        dn_work_free(w);
        return NULL;
    }
    return w;
}

/* Rows (c, k) of the unrolled matrix: row (c*K + k), column b*Lo + t holds
 * in[c][b*Li + t + k]. */
static void im2col(const double *in, int ci, int Li, int K, int B, double *col)
{
    int Lo = Li - K + 1;
    size_t N = (size_t)B * Lo;
    for (int c = 0; c < ci; c++)
        for (int k = 0; k < K; k++) {
            double *row = col + ((size_t)c * K + k) * N;
            for (int b = 0; b < B; b++)
                memcpy(row + (size_t)b * Lo, in + (size_t)c * B * Li + (size_t)b * Li + k,
                       Lo * sizeof *row);
        }
}

/* The transpose of im2col: sums the unrolled gradient back onto the input. */
static void col2im(const double *col, int ci, int Li, int K, int B, double *in)
{
    int Lo = Li - K + 1;
    size_t N = (size_t)B * Lo;
    memset(in, 0, (size_t)ci * B * Li * sizeof *in);
    for (int c = 0; c < ci; c++)
        for (int k = 0; k < K; k++) {
            const double *row = col + ((size_t)c * K + k) * N;
            for (int b = 0; b < B; b++) {
                double *dst = in + (size_t)c * B * Li + (size_t)b * Li + k;
                const double *src = row + (size_t)b * Lo;
                for (int t = 0; t < Lo; t++)
                    dst[t] += src[t];
            }
        }
}

void dn_tcn_forward(const dn_tcn *n, dn_work *w, const double *x0, int B, const double **logit,
                    const double **vout)
{
    const double *in = x0;
    for (int l = 0; l < n->depth; l++) {
        int ci = l == 0 ? n->cin : n->width, K = n->K[l];
        size_t N = (size_t)B * w->Lin[l + 1];
        im2col(in, ci, w->Lin[l], K, B, w->col[l]);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n->width, (int)N, ci * K, 1.0,
                    n->w + n->off_W[l], ci * K, w->col[l], (int)N, 0.0, w->a[l], (int)N);
        const double *bias = n->w + n->off_b[l];
        for (int o = 0; o < n->width; o++) {
            double *row = w->a[l] + (size_t)o * N;
            for (size_t j = 0; j < N; j++) {
                double z = row[j] + bias[o];
                row[j] = z > 0 ? z : 0;
            }
        }
        in = w->a[l];
    }
    size_t N = (size_t)B * w->L;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 2, (int)N, n->width, 1.0,
                n->w + n->off_head, n->width, in, (int)N, 0.0, w->out, (int)N);
    for (size_t j = 0; j < N; j++)
        w->out[j] += n->w[n->off_hb], w->out[N + j] += n->w[n->off_hb + 1];
    *logit = w->out;
    *vout = w->out + N;
}

static void row_sums(const double *m, int rows, size_t cols, double *out)
{
    for (int r = 0; r < rows; r++) {
        double s = 0;
        for (size_t j = 0; j < cols; j++)
            s += m[(size_t)r * cols + j];
        out[r] = s;
    }
}

double dn_tcn_backward(dn_tcn *n, dn_work *w, const uint8_t *y, const double *v, double v_weight,
                       double *bce, double *mse)
{
    int B = w->B;
    size_t N = (size_t)B * w->L;
    double sb = 0, sm = 0;
    for (size_t j = 0; j < N; j++) {
        double z = w->out[j], e = w->out[N + j] - v[j];
        /* softplus(z) - y z, stable for both signs */
        sb += (z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))) - y[j] * z;
        sm += e * e;
        w->dout[j] = (1.0 / (1.0 + exp(-z)) - y[j]) / (double)N;
        w->dout[N + j] = 2.0 * v_weight * e / (double)N;
    }
    *bce = sb / (double)N, *mse = sm / (double)N;
    memset(n->g, 0, n->np * sizeof *n->g);
    const double *last = w->a[n->depth - 1];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 2, n->width, (int)N, 1.0, w->dout,
                (int)N, last, (int)N, 0.0, n->g + n->off_head, n->width);
    row_sums(w->dout, 2, N, n->g + n->off_hb);
    double *da = w->da[0];
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n->width, (int)N, 2, 1.0,
                n->w + n->off_head, n->width, w->dout, (int)N, 0.0, da, (int)N);
    for (int l = n->depth - 1; l >= 0; l--) {
        int ci = l == 0 ? n->cin : n->width, K = n->K[l];
        size_t No = (size_t)B * w->Lin[l + 1];
        const double *a = w->a[l];
        for (size_t j = 0; j < (size_t)n->width * No; j++)
            if (a[j] <= 0)
                da[j] = 0; /* ReLU: dz = da where the unit was active */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n->width, ci * K, (int)No, 1.0, da,
                    (int)No, w->col[l], (int)No, 0.0, n->g + n->off_W[l], ci * K);
        row_sums(da, n->width, No, n->g + n->off_b[l]);
        if (l == 0)
            break;
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ci * K, (int)No, n->width, 1.0,
                    n->w + n->off_W[l], ci * K, da, (int)No, 0.0, w->dcol, (int)No);
        double *prev = da == w->da[0] ? w->da[1] : w->da[0];
        col2im(w->dcol, ci, w->Lin[l], K, B, prev);
        da = prev;
    }
    return *bce + v_weight * *mse;
}

/* The weight blocks (convolutions, then the two heads): weight decay acts
 * on them and not on the biases, which set offsets, not the fit's
 * complexity. Returns the number of blocks. */
static int weight_blocks(const dn_tcn *n, size_t *from, size_t *len)
{
    for (int l = 0; l < n->depth; l++)
        from[l] = n->off_W[l], len[l] = n->off_b[l] - n->off_W[l];
    from[n->depth] = n->off_head, len[n->depth] = n->off_hb - n->off_head;
    return n->depth + 1;
}

double dn_tcn_l2(dn_tcn *n, double wd)
{
    size_t from[MAX_DEPTH + 1], len[MAX_DEPTH + 1];
    int nb = weight_blocks(n, from, len);
    double sq = 0;
    for (int k = 0; k < nb; k++)
        for (size_t i = from[k]; i < from[k] + len[k]; i++)
            sq += n->w[i] * n->w[i], n->g[i] += wd * n->w[i];
    return 0.5 * wd * sq;
}

void dn_tcn_adam(dn_tcn *n, double lr, double b1, double b2, double eps, double wd)
{
    if (wd > 0) { /* decoupled: w -= lr wd w, from the step's starting w */
        size_t from[MAX_DEPTH + 1], len[MAX_DEPTH + 1];
        int nb = weight_blocks(n, from, len);
        for (int k = 0; k < nb; k++)
            for (size_t i = from[k]; i < from[k] + len[k]; i++)
                n->w[i] -= lr * wd * n->w[i];
    }
    n->t_adam++;
    double c1 = 1 - pow(b1, (double)n->t_adam), c2 = 1 - pow(b2, (double)n->t_adam);
    for (size_t i = 0; i < n->np; i++) {
        double g = n->g[i];
        n->m[i] = b1 * n->m[i] + (1 - b1) * g;
        n->s[i] = b2 * n->s[i] + (1 - b2) * g * g;
        n->w[i] -= lr * (n->m[i] / c1) / (sqrt(n->s[i] / c2) + eps);
    }
}

/* ---- metrics ---- */

typedef struct {
    double s;
    uint8_t y;
} scored;

static int by_score(const void *a, const void *b)
{
    double x = ((const scored *)a)->s, z = ((const scored *)b)->s;
    return (x > z) - (x < z);
}

double dn_auc(const double *score, const uint8_t *y, size_t n)
{
    scored *v = malloc(n * sizeof *v);
    if (!v)
        return -1;
    size_t npos = 0;
    for (size_t i = 0; i < n; i++)
        v[i] = (scored){score[i], y[i] != 0}, npos += y[i] != 0;
    size_t nneg = n - npos;
    if (npos == 0 || nneg == 0) {
        free(v);
        return -1;
    }
    qsort(v, n, sizeof *v, by_score);
    /* Mann-Whitney: the sum of the positives' ranks, tied runs at their
     * mean rank. */
    double ranks = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i, pos = 0;
        while (j < n && v[j].s == v[i].s)
            pos += v[j++].y;
        ranks += (double)pos * (0.5 * (double)(i + 1 + j));
        i = j;
    }
    free(v);
    return (ranks - 0.5 * (double)npos * (double)(npos + 1)) / ((double)npos * (double)nneg);
}

static int desc(const void *a, const void *b)
{
    double x = *(const double *)a, z = *(const double *)b;
    return (x < z) - (x > z);
}

double dn_tpr_at_fpr(const double *score, const uint8_t *y, size_t n, double fpr)
{
    size_t npos = 0;
    for (size_t i = 0; i < n; i++)
        npos += y[i] != 0;
    size_t nneg = n - npos;
    if (npos == 0 || nneg == 0)
        return -1;
    double *neg = malloc(nneg * sizeof *neg);
    if (!neg)
        return -1;
    for (size_t i = 0, k = 0; i < n; i++)
        if (!y[i])
            neg[k++] = score[i];
    qsort(neg, nneg, sizeof *neg, desc);
    /* Strictly above the (k+1)-th largest negative: at most k negatives. */
    size_t k = (size_t)floor(fpr * (double)nneg);
    double thr = k < nneg ? neg[k] : -INFINITY;
    free(neg);
    size_t tp = 0;
    for (size_t i = 0; i < n; i++)
        tp += y[i] && score[i] > thr;
    return (double)tp / (double)npos;
}
