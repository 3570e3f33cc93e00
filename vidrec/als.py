"""The half-steps of alternating least squares, at a cost that follows the ratings, not the matrix.

With one side's factors fixed, every row (a user, or an item) solves a small weighted ridge
problem A x = b. The unrated pairs of the preference head weigh every column alike, so their part
of A is one shared k×k Gram matrix (Hu, Koren and Volinsky: YᵀCᵤY = YᵀY + Yᵀ(Cᵤ − I)Y) and only
the rated entries are summed per row: O(nnz·k² + n·k³) per half-step instead of the
O(n_rows·n_cols·k²) of dense masks.

Rows are independent, so compiled kernels (numba) run them in parallel, each row on one thread
with its sums in a fixed order: the factors are the same whatever the thread count. Training
epochs take CG_STEPS conjugate-gradient steps per row from the last epoch's solution, O(nnz·k)
per step, never forming the k×k matrix (as implicit does); the exact solve, a Cholesky of the
k×k system, stays where fold-in must match training: the final user step.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

import numba
import numpy as np
import torch

from vidrec.errors import DataError

DTYPE = torch.float64  # solves are small; double precision keeps fold-in equal to training
FAST = torch.float32  # sums and solves during training epochs: half the time, same metrics
CG_STEPS = 5  # per row and epoch, from the last solution: 3 (implicit's) ranked a little worse
_LAUNCH = threading.Lock()  # numba's fallback threading layer cannot run two kernels at once


class RatedRows:
    """A sparse star matrix held by rows (CSR), the layout the row kernels read."""

    def __init__(self, rows, cols, stars, n_rows: int, n_cols: int):
        rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
        order = np.lexsort((cols, rows))
        self.shape = (n_rows, n_cols)
        self.cols = cols[order]  # (nnz,) column of each rating, row by row
        self.stars = np.asarray(stars, np.float64)[order]  # (nnz,)
        counts = np.bincount(rows, minlength=n_rows)  # (n_rows,)
        self.indptr = np.concatenate([[0], np.cumsum(counts)])  # (n_rows + 1,)

    def entries(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position in rows, column) of every rating of the given rows."""
        starts, counts = self.indptr[rows], np.diff(self.indptr)[rows]
        local = np.repeat(np.arange(len(rows)), counts)
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        return local, self.cols[np.repeat(starts, counts) + offsets]


def user_step(by_user: RatedRows, V, item_bias, mean: float, p, sums=DTYPE, start=None):
    """Every user's two heads with the items fixed: the batch form of fold-in.

    preference: (reg·I + w₀·VᵀV + w₁·Σ v vᵀ) q = (w₀ + w₁)·Σ v over the rated items;
    stars: (diag(rating_reg, bias_reg) + Σ x xᵀ) [p, b] = Σ (r − μ − b_i)·x with x = [v, 1].
    Per-row sums and solves run in ``sums`` precision (FAST in training epochs). ``start``:
    the previous (pref, taste, bias), improved by CG_STEPS conjugate-gradient steps instead of
    an exact solve (training epochs; fold-in and the final user step solve exactly).
    """
    n, d = by_user.shape[0], V.shape[1]
    dt, V = _numpy(sums), _as(V, np.float64)
    bases = np.zeros((2, d + 1, d + 1))
    bases[0] = np.diag(np.append(np.full(d, p.reg), 1.0))  # q's padding coordinate stays 0
    bases[0, :d, :d] += p.unobserved_weight * gram(V)
    bases[1] = np.diag(ridge_diagonal(d, p.rating_reg, p.bias_reg).numpy())
    weights = [p.observed_weight, p.unobserved_weight + p.observed_weight]
    out = np.zeros((n, 2, d + 1), dt)  # [q, 0] and [p, b] of each user
    if start is not None:
        out[:, 0, :d], out[:, 1, :d], out[:, 1, d] = (_as(a, dt) for a in start)
    args = [by_user.indptr, by_user.cols, by_user.stars, _ending(V, 1.0)]
    args += [mean + _as(item_bias, np.float64), bases, weights]
    _launch(_user_rows, [_as(a, dt) for a in args], _steps(start), out)
    return _tensor(out[:, 0, :d]), _tensor(out[:, 1, :d]), _tensor(out[:, 1, d])


def item_step(by_item: RatedRows, pref, taste, user_bias, mean: float, p, sums=DTYPE, start=None):
    """Every item's factors and bias with the users fixed, from both heads at once.

    (diag(reg, bias_reg) + w₀·YᵀY + w₁·Σ y yᵀ + λ·Σ z zᵀ) [v, b]
        = (w₀ + w₁)·Σ y + λ·Σ (r − μ − b_u)·z
    over the users who rated the item, with y = [q_u, 0] (the bias does not rank), z = [p_u, 1]
    and λ the stars head's weight on the item factors. Sums and solves in ``sums`` precision;
    ``start``: the previous (factors, bias), improved by CG_STEPS conjugate-gradient steps.
    """
    n, d = by_item.shape[0], pref.shape[1]
    dt = _numpy(sums)
    implicit, rating = _ending(_as(pref, dt), 0.0), _ending(_as(taste, dt), 1.0)  # y, z
    base = np.diag(ridge_diagonal(d, p.reg, p.bias_reg).numpy())
    base[:d, :d] += p.unobserved_weight * gram(_as(pref, np.float64))
    weights = [p.observed_weight, p.rating_weight, p.unobserved_weight + p.observed_weight]
    out = np.zeros((n, d + 1), dt)
    if start is not None:
        out[:, :d], out[:, d] = (_as(a, dt) for a in start)
    args = [by_item.indptr, by_item.cols, by_item.stars, implicit, rating]
    args += [mean + _as(user_bias, np.float64), base, weights]
    _launch(_item_rows, [_as(a, dt) for a in args], _steps(start), out)
    return _tensor(out[:, :d]), _tensor(out[:, d])


def ridge_diagonal(d: int, reg: float, bias_reg: float) -> torch.Tensor:
    """The ridge penalties of d factors and one bias."""
    out = torch.full((d + 1,), reg, dtype=DTYPE)
    out[-1] = bias_reg
    return out


def _steps(start) -> int:
    """Conjugate-gradient steps per row: 0 asks the kernels for the exact Cholesky solve."""
    return 0 if start is None else CG_STEPS


def _numpy(sums: torch.dtype) -> type:
    return np.float32 if sums == FAST else np.float64


def _as(a, dt) -> np.ndarray:
    """A kernel argument as a contiguous numpy array: index arrays keep int64, values go to dt."""
    a = a.numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    return np.ascontiguousarray(a if a.dtype == np.int64 else a.astype(dt, copy=False))


def _ending(a: np.ndarray, last: float) -> np.ndarray:
    """(n, d+1) the rows of a with one more coordinate, ``last``: [v, 1] or [v, 0]."""
    return np.hstack([a, np.full((len(a), 1), last, a.dtype)])


def _tensor(a: np.ndarray) -> torch.Tensor:
    """A kernel's output as the contiguous float64 tensor the model keeps."""
    return torch.from_numpy(np.ascontiguousarray(a, np.float64))


def _launch(kernel, args: list[np.ndarray], steps: int, *outs: np.ndarray) -> None:
    """Run a row kernel on torch's thread count (a caller that pins torch to one thread pins
    this too); a row whose system is not positive definite is an error the user can act on."""
    failed = np.zeros(len(args[0]) - 1, np.bool_)  # (n_rows,)
    with _LAUNCH, _threads(torch.get_num_threads()):
        kernel(*args, steps, *outs, failed)
    if failed.any():
        raise DataError(
            f"{int(failed.sum())} rows of the MF half-step have no unique solution: "
            "set the ridge penalties (mf_reg, mf_rating_reg, mf_bias_reg) above 0"
        )


@contextmanager
def _threads(n: int):
    most = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n, most)))
    try:
        yield
    finally:
        numba.set_num_threads(before)


# ---- compiled row kernels ---------------------------------------------------------------------
# Exact solves keep systems in their upper triangle; their inner loops run along contiguous rows
# with no reduction, so they vectorise without reordering a sum. Only CG's dot products do (_dot).


@numba.njit(parallel=True, cache=True, error_model="numpy")
def _user_rows(indptr, cols, stars, feats, offset, bases, weights, steps, out, failed):
    """Both heads of each user over x = [v, 1]: out[u, 0] the preference vector, whose last
    coordinate is padding held at 0 (its picks are [v, 0]), and out[u, 1] the stars head."""
    conf, heads = weights[1], (0 if weights[1] != 0 else 1)  # the first head solved: 0 or 1
    one, zero = weights.dtype.type(1), weights.dtype.type(0)  # no float64 constants in float32
    k, d = feats.shape[1], feats.shape[1] - 1
    for u in numba.prange(len(indptr) - 1):
        rated = cols[indptr[u] : indptr[u + 1]]
        if heads:  # a stars-only model: q stays 0
            out[u, 0] = 0
        if len(rated) == 0:  # no ratings: both heads are 0
            out[u] = 0
            continue
        rhs = np.zeros((2, k), feats.dtype)  # (w₀ + w₁)·Σ [v, 0] and Σ (r − μ − b_i)·x
        for e in range(len(rated)):
            r, x = stars[indptr[u] + e] - offset[rated[e]], feats[rated[e]]
            for j in range(k):
                rhs[0, j] += conf * x[j]
                rhs[1, j] += r * x[j]
        rhs[0, d] = 0
        if steps:
            _user_cg(bases, feats, weights, rated, rhs, steps, heads, out[u])
            continue
        gram = np.zeros((k, k), feats.dtype)  # Σ x xᵀ, upper triangle
        for e in range(len(rated)):
            _add_outer(gram, feats[rated[e]], one, feats[rated[e]], zero)
        if not heads:
            A = bases[0] + weights[0] * gram
            A[:d, d] = 0  # picks are [v, 0]: drop the sums the constant 1 added
            A[d, d] = 1
            failed[u] |= _cholesky_solve(A, rhs[0], out[u, 0])
        failed[u] |= _cholesky_solve(bases[1] + gram, rhs[1], out[u, 1])


@numba.njit(cache=True, error_model="numpy")
def _user_cg(bases, feats, weights, rated, rhs, steps, heads, x):
    """Conjugate gradient on one user's two systems in lockstep (x[0] and x[1], each with its
    own step sizes), so each rated row is read once per step for both."""
    r, p, Ap = np.empty_like(x), np.empty_like(x), np.empty_like(x)
    rr = np.zeros(2, x.dtype)
    _user_apply(bases, feats, weights, rated, x, Ap)
    for h in range(heads, 2):
        for j in range(x.shape[1]):
            r[h, j] = rhs[h, j] - Ap[h, j]
            p[h, j] = r[h, j]
        rr[h] = _dot(r[h], r[h])
    for _ in range(steps):
        _user_apply(bases, feats, weights, rated, p, Ap)
        for h in range(heads, 2):
            if rr[h] < 1e-20:  # already solved (as implicit stops)
                continue
            new = _cg_step(x[h], r[h], p[h], Ap[h], rr[h])
            rr[h] = new


@numba.njit(cache=True, error_model="numpy")
def _user_apply(bases, feats, weights, rated, v, out):
    """out[h] = (bases[h] + w_h·Σ x xᵀ) v[h] for both heads, reading each rated row once."""
    for h in range(2):
        _symmetric_apply(bases[h], v[h], out[h])
    for e in range(len(rated)):
        x = feats[rated[e]]
        s, t = weights[0] * _dot(x, v[0]), _dot(x, v[1])  # w₁ on picks, 1 on stars
        for j in range(len(x)):
            out[0, j] += s * x[j]
            out[1, j] += t * x[j]
    out[0, len(x) - 1] = 0  # the picks head's padding: its picks are [v, 0]


@numba.njit(cache=True, error_model="numpy")
def _cg_step(x, r, p, Ap, rr):
    """One conjugate-gradient update of x, r and p given Ap; returns the new r·r."""
    alpha = rr / _dot(p, Ap)
    for j in range(len(x)):
        x[j] += alpha * p[j]
        r[j] -= alpha * Ap[j]
    new = _dot(r, r)
    for j in range(len(x)):
        p[j] = r[j] + (new / rr) * p[j]
    return new


@numba.njit(cache=True, error_model="numpy")
def _symmetric_apply(A, v, out):
    """out = A v for a full symmetric A, adding its rows: a loop that vectorises."""
    out[:] = 0
    for i in range(len(v)):
        vi, row = v[i], A[i]
        for j in range(len(v)):
            out[j] += vi * row[j]


@numba.njit(parallel=True, cache=True, error_model="numpy")
def _item_rows(indptr, cols, stars, implicit, rating, offset, base, weights, steps, out, failed):
    """Each item's system from the users who rated it: w₁·y yᵀ + λ·z zᵀ per rating."""
    w_obs, lam, conf = weights[0], weights[1], weights[2]
    k = implicit.shape[1]
    for i in numba.prange(len(indptr) - 1):
        rated = cols[indptr[i] : indptr[i + 1]]
        if len(rated) == 0:  # nobody rated it: it stays at 0
            out[i] = weights.dtype.type(0)
            continue
        rhs = np.zeros(k, base.dtype)
        for e in range(len(rated)):
            y, z = implicit[rated[e]], rating[rated[e]]
            r = lam * (stars[indptr[i] + e] - offset[rated[e]])
            for j in range(k):
                rhs[j] += conf * y[j] + r * z[j]
        if steps:
            _conjugate_gradient(base, rating, lam, implicit, w_obs, rated, rhs, steps, out[i])
            continue
        A = base.copy()
        for e in range(len(rated)):  # w_obs = 0 (stars only) adds nothing
            _add_outer(A, rating[rated[e]], lam, implicit[rated[e]], w_obs)
        failed[i] |= _cholesky_solve(A, rhs, out[i])


@numba.njit(cache=True, error_model="numpy")
def _conjugate_gradient(base, F, a, G, b, rated, rhs, steps, x):
    """x ← steps of conjugate gradient from x on (base + a·Σ f fᵀ + b·Σ g gᵀ) x = rhs, with f
    and g the rows of F and G at ``rated`` (Hu et al.'s trick again: never form the matrix)."""
    r, p, Ap = np.empty_like(x), np.empty_like(x), np.empty_like(x)
    _apply(base, F, a, G, b, rated, x, Ap)
    for j in range(len(x)):
        r[j] = rhs[j] - Ap[j]
        p[j] = r[j]
    rr = _dot(r, r)
    for _ in range(steps):
        if rr < 1e-20:  # already solved (as implicit stops)
            break
        _apply(base, F, a, G, b, rated, p, Ap)
        rr = _cg_step(x, r, p, Ap, rr)


@numba.njit(cache=True, error_model="numpy")
def _apply(base, F, a, G, b, rated, v, out):
    """out = (base + a·Σ f fᵀ + b·Σ g gᵀ) v over the rated rows f of F and g of G."""
    _symmetric_apply(base, v, out)
    for e in range(len(rated)):
        f, g = F[rated[e]], G[rated[e]]
        s, t = a * _dot(f, v), (b * _dot(g, v) if b != 0 else b)
        for j in range(len(v)):
            out[j] += s * f[j] + t * g[j]


@numba.njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def _dot(x, y):
    """x·y, summed in vector lanes: the order depends on the CPU's vector width (as in BLAS),
    never on the thread count. Only conjugate gradient uses it; exact solves do not."""
    s = x.dtype.type(0)
    for j in range(len(x)):
        s += x[j] * y[j]
    return s


@numba.njit(cache=True, error_model="numpy")
def gram(V):
    """(k, k) VᵀV of a float64 (n, k) array on one thread, in row order: no BLAS threads to
    wake (on a busy machine each wake costs a time slice) and the same sum on every machine."""
    out = np.zeros((V.shape[1], V.shape[1]))
    for v in V:
        for i in range(len(v)):
            vi, row = v[i], out[i]
            for j in range(len(v)):
                row[j] += vi * v[j]
    return out


@numba.njit(cache=True, error_model="numpy")
def _add_outer(A, x, a, y, b):
    """A += a·x xᵀ + b·y yᵀ on the upper triangle (two rank-1 terms share one pass over A)."""
    for i in range(len(x)):
        ax, by, row, xs, ys = a * x[i], b * y[i], A[i, i:], x[i:], y[i:]
        for j in range(len(row)):  # sliced rows: loops from 0 vectorise, loops from i do not
            row[j] += ax * xs[j] + by * ys[j]


@numba.njit(cache=True, error_model="numpy")
def _cholesky_solve(A, b, out) -> bool:
    """out = A⁻¹ b for a positive definite A given by its upper triangle (A and b are
    overwritten: A by R with A = RᵀR); True when A is not positive definite."""
    n = len(b)
    for j in range(n):
        if not A[j, j] > 0:  # also catches NaN
            return True
        A[j, j] = np.sqrt(A[j, j])
        pivot = A[j, j + 1 :]
        for m in range(len(pivot)):
            pivot[m] /= A[j, j]
        for m in range(j + 1, n):
            a, row, src = pivot[m - j - 1], A[m, m:], A[j, m:]
            for c in range(len(row)):
                row[c] -= a * src[c]
    for j in range(n):  # Rᵀ w = b, forward
        b[j] /= A[j, j]
        bj, row, rest = b[j], A[j, j + 1 :], b[j + 1 :]
        for m in range(len(rest)):
            rest[m] -= bj * row[m]
    for j in range(n - 1, -1, -1):  # R x = w, backward
        s = b[j]
        for m in range(j + 1, n):
            s -= A[j, m] * out[m]
        out[j] = s / A[j, j]
    return False
