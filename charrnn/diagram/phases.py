"""One training iteration, phase by phase: what each phase is and what it says."""
from __future__ import annotations

from .canvas import Look, num, sub
from .spec import DiagramSpec

PHASE_KINDS = ("forward", "loss", "backward", "clip", "update", "next")


def phases(spec: DiagramSpec):
    """One training iteration, in order: T forward ticks, loss, T backward
    ticks (right to left, this minibatch only), clip, update, next.

    Each phase is a dict: index, kind (one of PHASE_KINDS), t (the time
    step, for forward/backward), batch (the minibatch trained), label (short,
    for a slider), caption (one sentence in spec.lang).
    """
    st = Look(spec.lang, spec.present, spec.sketch)
    T = spec.num_steps
    out = [dict(kind="forward", t=t) for t in range(1, T + 1)]
    out.append(dict(kind="loss", t=None))
    out += [dict(kind="backward", t=t) for t in range(T, 0, -1)]
    out += [dict(kind=k, t=None) for k in ("clip", "update", "next")]
    for i, p in enumerate(out):
        p["index"], p["batch"] = i, spec.active_batch
        p["label"] = _label(st, p["kind"], p["t"])
        p["caption"] = _caption(spec, st, p["kind"], p["t"])
    return out


def _label(st: Look, kind, t):
    """The slider's short name of a phase."""
    return st.tr(f"diag.slider.{kind}", **({} if t is None else {"t": t}))


def _caption(spec: DiagramSpec, st: Look, kind, t):
    T, B, a = spec.num_steps, spec.batch_size, spec.active_batch
    if kind == "forward":
        return st.tr("diag.phase.forward", t=t, T=T, B=B)
    if kind == "loss":
        return st.tr("diag.phase.loss", n=T * B, T=T, B=B)
    if kind == "backward":
        return st.tr(_backward_key(spec, t), t=t, k=T - t, ts=sub(t))
    if kind == "clip":
        return clip_caption(spec, st)
    if kind == "update":
        return st.tr("diag.phase.update")
    return st.tr(_next_key(spec), Ts=sub(T), n=a + 2)


def _backward_key(spec: DiagramSpec, t):
    """At t=1 the gradient stops: at a zero H_0 or at a detached carried state."""
    if t > 1:
        return "diag.phase.backward"
    if spec.random_iter or spec.active_batch == 0:
        return "diag.phase.backward_first_zero"
    return "diag.phase.backward_first_detach"


def _next_key(spec: DiagramSpec):
    mode = "random" if spec.random_iter else "seq"
    end = "_end" if spec.active_batch + 1 >= spec.num_batches else ""
    return f"diag.phase.next_{mode}{end}"


def clip_caption(spec: DiagramSpec, st: Look):
    th, nb, na = spec.theta, spec.grad_norm_before, spec.grad_norm_after
    if th is None:
        if nb is None:
            return st.tr("diag.phase.clip_off")
        return st.tr("diag.phase.clip_off_norm", before=num(nb))
    if nb is None:
        return st.tr("diag.phase.clip", theta=num(th))
    if na is None:
        na = min(nb, th)
    if nb > th:
        return st.tr("diag.phase.clip_cut", before=num(nb), after=num(na),
                     theta=num(th), factor=num(th / nb))
    return st.tr("diag.phase.clip_keep", before=num(nb), theta=num(th))
