"""An independent, loop-by-loop NumPy transcription of the reference simulator's per-step update
(facts brief section 1.3), used to check `DynapSim(synapse_model="lumped")` step by step.

Deliberately naive (explicit per-step Python loop, float64, no JAX) so that it can be read side by side
with the facts brief.
"""
import numpy as np


def lumped_reference(x, w_rec, p, Iscale, dt, T=None):
    """x: (T, N) weighted input in units of Iscale; w_rec (N, N) [pre, post]; p: dict of per-neuron currents
    and layout constants (scalars or (N,)). Returns spikes (T, N) and records imem, isyn, vmem, iahp (T, N)."""
    x = np.asarray(x, np.float64)
    T, N = x.shape
    g = {k: np.broadcast_to(np.asarray(v, np.float64), (N,)) for k, v in p.items()}
    Io = g["Io"]
    kappa = (g["kappa_n"] + g["kappa_p"]) / 2
    clip = lambda k: np.maximum(g[k], Io)
    Itau_syn, Igain_syn = clip("Itau_syn"), clip("Igain_syn")
    Itau_ahp, Igain_ahp = clip("Itau_ahp"), clip("Igain_ahp")
    Itau_mem, Igain_mem = clip("Itau_mem"), clip("Igain_mem")
    tau_syn = g["Ut"] / kappa * g["C_syn"] / Itau_syn
    tau_ahp = g["Ut"] / kappa * g["C_ahp"] / Itau_ahp
    t_pulse = g["Vth"] * g["C_pulse"] / g["Ipulse"]
    t_pulse_ahp = g["Vth"] * g["C_pulse_ahp"] / g["Ipulse_ahp"]
    t_ref = g["Vth"] * g["C_ref"] / g["Iref"]

    iahp, imem, isyn = Io.copy(), Io.copy(), Io.copy()
    s, timer, vmem = np.zeros(N), np.zeros(N), np.zeros(N)
    out = {k: np.zeros((T, N)) for k in ("spikes", "imem", "isyn", "vmem", "iahp")}
    for k in range(T):
        # 1. synapse
        Iw = (s @ w_rec + x[k]) * Iscale
        I_inf = np.maximum(Igain_syn / Itau_syn * Iw, Io)
        isyn = np.exp(-dt / tau_syn) * isyn + (1 - np.exp(-t_pulse / tau_syn)) * I_inf
        # 2. adaptation
        I_inf_ahp = Igain_ahp / Itau_ahp * g["Iw_ahp"] * s
        iahp = np.maximum(np.exp(-dt / tau_ahp) * iahp + (1 - np.exp(-t_pulse_ahp / tau_ahp)) * I_inf_ahp, Io)
        # 3. membrane
        Ileak = Itau_mem + iahp
        Iin = isyn - Ileak + g["Idc"]
        Iin = np.where(timer > 1e-6 * dt, 0.0, Iin)   # > 0 up to float rounding of t_ref - dt
        Iin = np.maximum(Iin, Io)
        Imem_inf = Igain_mem / Itau_mem * (Iin - Ileak)
        Ifb = Io * np.exp(kappa ** 2 / (kappa + 1) * vmem / g["Ut"])
        f = Ifb / Ileak * (imem + Igain_mem)
        tau_mem = g["Ut"] / kappa * g["C_mem"] / Ileak
        dimem = imem / (tau_mem * (imem + Igain_mem)) * (Imem_inf + f - imem * (1 + iahp / Itau_mem))
        imem = np.maximum(imem + dt * dimem, Io)
        vmem = g["Ut"] / kappa * np.log(imem / Io)
        # 4. spikes, reset, refractory
        s = np.maximum(np.ceil(np.log(imem / g["Ispkthr"])), 0.0)
        out["imem"][k], out["vmem"][k] = imem, vmem      # recorded before the reset, like vmem
        imem = np.where(s > 0, Io, imem)
        timer = np.maximum(timer - dt, 0.0)
        timer = np.where(s > 0, t_ref, timer)
        out["spikes"][k], out["isyn"][k], out["iahp"][k] = s, isyn, iahp
    return out
