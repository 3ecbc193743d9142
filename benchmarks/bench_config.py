"""Benchmark: creating, writing and reading a full 4-chip Dynap-SE2 configuration with `dynapse_nb.config`.

Two configurations of 4 chips x 4 cores x 256 neurons (262,144 CAM entries, 16,384 SRAM entries):
  fresh -- as constructed (every entry empty: the writer's templates are shared by all neurons);
  dense -- every CAM and SRAM entry and latch set at random (the worst case for the writer's templates).
For each: construction, `to_json` (4-space indent, as samna's files), `from_json`, and, for reference, what the
plain standard-library route costs (`json.dumps(tree, indent=4)` of the same JSON tree; `json.loads` alone).
Best of REPEAT runs, wall clock and process CPU time (the machine may be shared). Prints a table; writes
benchmarks/results/config.json.
"""
import gc, json, platform, time
from pathlib import Path

import numpy as np

from dynapse_nb import config as C
from dynapse_nb.chip import Dendrite, MAX_HOP, N_TAGS

REPEAT = 3


def best(f, repeat=REPEAT):
    wall, cpu, out = [], [], None
    for _ in range(repeat):
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        out = f()
        wall.append(time.perf_counter() - t0); cpu.append(time.process_time() - c0)
    return out, min(wall), min(cpu)


def dense(seed=0):
    "A full configuration with every CAM and SRAM entry and every latch set at random."
    rng = np.random.default_rng(seed)
    cfg = C.Dynapse2Configuration()
    codes = np.array([d.value for d in Dendrite if d is not Dendrite.none])
    for chip in cfg.chips:
        for core in chip.cores:
            m = core.memory
            m.syn_dendrite[:] = rng.choice(codes, m.syn_dendrite.shape)
            m.syn_stp[:] = rng.random(m.syn_stp.shape) < 0.5
            m.syn_weight[:] = rng.random(m.syn_weight.shape) < 0.5
            m.syn_precise_delay[:] = rng.random(m.syn_stp.shape) < 0.5
            m.syn_mismatched_delay[:] = rng.random(m.syn_stp.shape) < 0.5
            m.syn_tag[:] = rng.integers(0, N_TAGS, m.syn_tag.shape)
            m.dest_core[:] = rng.random(m.dest_core.shape) < 0.5
            m.dest_x_hop[:] = rng.integers(-MAX_HOP, MAX_HOP + 1, m.dest_x_hop.shape)
            m.dest_y_hop[:] = rng.integers(-MAX_HOP, MAX_HOP + 1, m.dest_y_hop.shape)
            m.dest_tag[:] = rng.integers(0, N_TAGS, m.dest_tag.shape)
            m.latches[:] = rng.random(m.latches.shape) < 0.5
            for p in core.parameters.values():
                p.coarse_value, p.fine_value = int(rng.integers(0, 6)), int(rng.integers(0, 256))
    return cfg


def main():
    rows, out = [], {}
    for name, make in (("fresh", C.Dynapse2Configuration), ("dense", dense)):
        cfg, t_new, c_new = best(make)
        text, t_w, c_w = best(lambda: C.to_json(cfg))
        back, t_r, c_r = best(lambda: C.from_json(text))
        assert back == cfg and C.diff(back, cfg) == []
        tree, t_l, c_l = best(lambda: json.loads(text), 1)
        ref, t_d, c_d = best(lambda: json.dumps(tree, indent=4), 1)
        assert ref == text, "the template writer must give exactly json.dumps's text"
        del tree, ref, back
        mb = len(text) / 1e6
        rows += [(name, "construct", t_new, c_new), (name, "to_json", t_w, c_w), (name, "from_json", t_r, c_r),
                 (name, "  (stdlib json.dumps(indent=4) of the tree)", t_d, c_d),
                 (name, "  (stdlib json.loads alone)", t_l, c_l)]
        out[name] = dict(json_mb=mb, construct_s=t_new, to_json_s=t_w, from_json_s=t_r, construct_cpu_s=c_new,
                         to_json_cpu_s=c_w, from_json_cpu_s=c_r, stdlib_dumps_indent4_s=t_d, stdlib_loads_s=t_l)
        print(f"{name}: {mb:.0f} MB of JSON")
    print(f"{'config':7s} {'what':46s} {'wall (s)':>9s} {'cpu (s)':>9s}")
    for name, what, t, c in rows:
        print(f"{name:7s} {what:46s} {t:9.3f} {c:9.3f}")
    out.update(repeat=REPEAT, python=platform.python_version(), numpy=np.__version__, machine=platform.machine(),
               processor=platform.processor() or None)
    path = Path(__file__).parent / "results" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
