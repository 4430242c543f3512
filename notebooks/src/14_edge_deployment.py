# %% [markdown]
# # 14 · From notebook to wearable: export, int8 and streaming inference
#
# ## Learning goals
#
# After this notebook you can
#
# * export a trained 1-lead student to **ONNX** and **TorchScript** and say what the exported file
#    assumes (opset, exporter, which axes may change size);
# * write down everything a device must do *around* the model, a **preprocessing contract**, and
#    name the one training step a device cannot copy as it is (the zero-phase band-pass);
# * check an export numerically (**parity**), quantise it to **int8**, and measure what int8 costs
#    in accuracy with a **paired** bootstrap interval, and what it saves in size and latency;
# * run the model on a **stream**, chunk by chunk, and show that it gives exactly the numbers of
#    offline evaluation.
#
# **Why this matters.** Every notebook so far ends with a PyTorch module inside a Python process
# that also holds the data pipeline: the band-pass, the scaler fitted on the training folds, the
# sliding windows, the thresholds tuned on validation. A wearable has none of that. It receives
# samples a few at a time and runs a runtime (ONNX Runtime, a TorchScript interpreter) on a small
# CPU. A deployed model is only as good as the copy of that pipeline beside it, so the pipeline is
# exported too, as data, and every step of the copy is checked against the original.
#
# ## Prerequisites
#
# This builds on notebook 01 (the data pipeline: band-pass, scaler, folds), notebook 03 (the tiny
# baseline student exported here) and notebook 12 (sliding-window evaluation, validation-tuned
# thresholds, bootstrap intervals); notebook 13 measured the models' cost in PyTorch, here the cost
# is measured in the deployed runtimes.
#
# The model is the tiny baseline student of notebook 03 (`cnn_transformer`/tiny on lead I, `seed=0`;
# trained once and cached) on the notebooks' synthetic data (generator v2 unless `ECGKD_GENERATOR=v1`;
# `ctx.source` below). Nothing in this notebook changes it.

# %%
from ecgkd_lite.notebook import setup_notebook

ctx = setup_notebook(seed=0)
ctx

# %%
# NBVAL_CHECK_OUTPUT
import json
import time
from collections import Counter
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import onnx
import pandas as pd
import torch
from IPython.display import Markdown, display
from scipy import signal as sps

from ecgkd_lite import experiment
from ecgkd_lite.bench.cv import fresh_test_prep
from ecgkd_lite.config import REPO_ROOT, shared_data_dir
from ecgkd_lite.edge import (
    ExportedModule,
    StreamingClassifier,
    WindowCalibrationReader,
    build_contract,
    compare_routes,
    count_parameters,
    export_model,
    export_run,
    max_abs_diff,
    measure_latency,
    onnx_session,
    quantize_dynamic_linear,
    quantize_onnx_int8,
    runner_latency,
    sliding_window_outputs,
)
from ecgkd_lite.edge.quantize import retune_thresholds
from ecgkd_lite.notebook import reports_dir
from ecgkd_lite.plots import mark_axis_break, plot_strip, save_figure, series_colors
from ecgkd_lite.train import predict
from ecgkd_lite.train.datasets import window_starts

DETECTION_COLOUR = series_colors(3)[2]  # the streamed student's detections: a non-method colour

prep = experiment.prepare(ctx.source, profile=ctx.profile)
student = experiment.train_student(prep, "baseline", size="tiny", seed=0)
model = student.model.eval()
RUN = student.checkpoint.parent  # the run folder: best.pt + best.pt.json
report = experiment.evaluate_model(model, prep)  # test metrics; F1 thresholds tuned on validation
OUT = reports_dir() / "edge"
print(prep)
print(f"student: {model.config['name']}/{model.config['size']}, {count_parameters(model):,} parameters, "
      f"input lead {experiment.STUDENT_LEADS[0]}")
print("run folder has best.pt and best.pt.json:", all((RUN / f).is_file() for f in ("best.pt", "best.pt.json")))

# %% [markdown]
# ## 1 · Export, and the contract beside it
#
# **What the run folder has and lacks.** `best.pt` holds the weights and the model's config (so the
# model can be rebuilt with `build_model`); `best.pt.json` holds the training config: input leads,
# crop length. It does *not* hold the per-lead scaler (fitted on the training folds by
# `experiment.prepare`) or the per-class thresholds (tuned on validation by `evaluate_model`), so
# `export_run` takes them as arguments. From the command line, `ecgkd export RUN --format onnx
# --int8 --out DIR` computes both itself, exactly this way.
#
# **Stated choices.**
#
# * **ONNX**: `torch.onnx.export` with the TorchScript-based exporter (`dynamo=False`: the newer
#   dynamo exporter needs the `onnxscript` package, which the locked environment does not ship),
#   **opset** `17` (the first with a native `LayerNormalization`). The input `ecg` has **dynamic batch
#   and length axes**, `(batch, 1, samples)`, so the same file takes one window or many, a training
#   window or a whole record. The output is `logits`; the device applies the sigmoid.
# * **TorchScript**: `torch.jit.trace` (the models' input checks use Python f-strings, which
#   `torch.jit.script` cannot compile).
# * Both are traced on an input of odd length, and every export is checked against the PyTorch
#   model on random inputs of two batch sizes and two lengths before it is accepted.
# * **The contract** is `<file>.json` beside each exported file: sampling rate, input lead, the
#   band-pass (with its second-order-section coefficients, so a device needs no SciPy), the
#   scaler, window and stride, how windows are placed and averaged, class names, thresholds and
#   smoothing.

# %%
# NBVAL_CHECK_OUTPUT
exports = {fmt: export_run(RUN, OUT, format=fmt, scaler=prep.scaler, thresholds=report["thresholds"],
                           classes=prep.classes) for fmt in ("onnx", "torchscript")}
contract = exports["onnx"].contract
win, hop = contract["window"]["samples"], contract["window"]["stride_samples"]
for fmt, res in exports.items():
    print(f"{fmt:<11} -> {res.path.name}, contract {res.contract_path.name}")
print("contract sections:", sorted(contract))
print(f"input: lead {contract['input_leads']} at {contract['sampling_rate_hz']:g} Hz, {contract['input_units']} "
      f"before filtering; window {win} samples ({contract['window']['seconds']} s), stride {hop} samples "
      f"({contract['window']['stride_seconds']} s)")
print(f"ONNX: opset {contract['model']['opset']}, {contract['model']['exporter']}, input "
      f"{contract['model']['input_shape']}")
print(f"output: {len(contract['output']['classes'])} classes, {len(contract['output']['thresholds'])} thresholds, "
      f"smoothing over the last {contract['output']['smoothing']['k']} windows")
print(f"band-pass: {contract['bandpass']['order']}rd-order Butterworth {contract['bandpass']['low_hz']}-"
      f"{contract['bandpass']['high_hz']} Hz, {len(contract['bandpass']['sos'])} second-order sections")

# %% [markdown]
# The contract's preprocessing part as the device reads it (the SOS matrix abridged):

# %%
view = {k: contract[k] for k in ("sampling_rate_hz", "input_leads", "bandpass", "scaler", "window")}
view = json.loads(json.dumps(view))
view["bandpass"]["sos"] = [[round(v, 6) for v in row] for row in view["bandpass"]["sos"][:1]] + ["..."]
print(json.dumps(view, indent=1))
print({fmt: f"{res.size_bytes / 1024:.1f} KiB" for fmt, res in exports.items()})

# %% [markdown]
# **The one step a device cannot copy.** Training filtered each whole record with
# `sosfiltfilt`: forward, then *backward* in time. That is zero-phase (no delay, no waveform
# distortion) and **non-causal**: the filtered value at time *t* depends on samples after *t*. A
# stream does not have them. The contract says so and recommends filtering each complete window on
# its own with the same coefficients (a window is classified only once it is complete, so this adds
# no delay); section 6 measures what that and the causal alternative cost.
#
# ## 2 · Parity: does the exported file compute what the model computes?
#
# Every window of every test record, lead I as preprocessed for training, through PyTorch, ONNX
# Runtime (CPUExecutionProvider, one thread) and the TorchScript file. The target: a maximum absolute
# logit difference of at most `1e-4`.

# %%
# NBVAL_CHECK_OUTPUT
starts = window_starts(prep.test.n_samples, win, hop)
test_windows = np.concatenate([prep.test.signals[:, :1, s:s + win] for s in starts])
parity = {fmt: max_abs_diff(model, res.path, test_windows) for fmt, res in exports.items()}
print(f"{len(test_windows)} test windows ({len(prep.test)} records x {len(starts)} windows of {win} samples)")
for fmt, diff in parity.items():
    print(f"{fmt}: parity <= 1e-4: {diff <= 1e-4}")

# %%
onnx_fp32 = ExportedModule.load(exports["onnx"].path)  # the ONNX file behind the nn.Module interface
report_onnx = experiment.evaluate_model(onnx_fp32, prep)
print({fmt: f"max |logit difference| = {diff:.1e}" for fmt, diff in parity.items()})
print(f"test macro AUC: PyTorch {report['macro_auc']:.6f}, ONNX Runtime {report_onnx['macro_auc']:.6f}")

# %% [markdown]
# The differences are float32 rounding (the runtimes order their sums differently and fuse batch
# normalisation into the convolutions); they do not move the macro AUC at the printed precision.
#
# ## 3 · int8: smaller and faster, at what cost?
#
# **Route A: ONNX Runtime static post-training quantisation** (`quantize_onnx_int8`):
#
# * pre-processing with `quant_pre_process` (shape inference, graph optimisation); ORT's *symbolic*
#   shape inference is skipped, since it cannot follow the dynamic-length attention reshapes;
# * `quantize_static` in **QDQ** format: QuantizeLinear/DequantizeLinear pairs around each quantised
#   op, which ONNX Runtime fuses into int8 kernels when it loads the file;
# * weights **int8 per output channel** (symmetric), activations **uint8 per tensor** (asymmetric;
#   u8 x s8 is the native dot-product instruction of x86 CPUs with VNNI), MinMax calibration;
# * **calibration on training records only**: `n_windows=512` windows drawn from the evaluation's
#   window grid of the training folds (the reader refuses validation or test records: their activation ranges must not leak
#   into the deployed model);
# * afterwards the graph's long exporter names are shortened (they are a fifth of the int8 file).
#
# **Route B: PyTorch dynamic quantisation** of the `nn.Linear` layers
# (`torch.ao.quantization.quantize_dynamic`): int8 weights, activations quantised on the fly per
# call; the convolutions stay float32.

# %%
# NBVAL_CHECK_OUTPUT
reader = WindowCalibrationReader(prep.train, input_leads=["I"], window=win, stride=hop, n_windows=512)
int8_path = quantize_onnx_int8(exports["onnx"].path, OUT / "student.int8.onnx", reader)
int8_model = ExportedModule.load(int8_path)
dynamic_model = quantize_dynamic_linear(model)
print(f"calibration: {len(reader)} windows from the {len(prep.train)} training records (folds 1-8)")
print(f"int8 file <= 350 KB: {int8_path.stat().st_size <= 350_000}")
print(f"Linear layers left in float32 by the dynamic route: "
      f"{sum(type(m) is torch.nn.Linear for m in dynamic_model.modules())}")

# %%
graph = onnx.load(str(int8_path)).graph
initializers = {t.name for t in graph.initializer}
made_by = {o: n for n in graph.node for o in n.output}
used_by = {}
for n in graph.node:
    for i in n.input:
        used_by.setdefault(i, []).append(n.op_type)


def dequantised(name, weight):
    node = made_by.get(name)
    return node is not None and node.op_type == "DequantizeLinear" and (node.input[0] in initializers) == weight


kinds = {"int8 constants (weights, scales)": Counter(), "int8 in and out (Q/DQ around it)": Counter(),
         "float32 only": Counter()}
for n in graph.node:
    if n.op_type in ("QuantizeLinear", "DequantizeLinear"):
        continue
    inputs = [i for i in n.input if i and i not in initializers and not dequantised(i, weight=True)]
    if any(dequantised(i, weight=True) for i in n.input):
        kinds["int8 constants (weights, scales)"][n.op_type] += 1
    if inputs and all(dequantised(i, weight=False) for i in inputs) and all(
            "QuantizeLinear" in used_by.get(o, []) for o in n.output):
        kinds["int8 in and out (Q/DQ around it)"][n.op_type] += 1
    elif not any(made_by.get(i) is not None and made_by[i].op_type == "DequantizeLinear" for i in n.input):
        kinds["float32 only"][n.op_type] += 1
for kind, ops in kinds.items():
    print(f"{kind:<33}", dict(ops.most_common(10)))

# %% [markdown]
# **Accuracy cost, paired.** The test records are resampled with replacement (`n_boot=1000`); each
# resample is applied to **both** models (`compare_routes`, with `paired_delta_ci` of the suite's
# paired bootstrap), so the interval is for the *change* and the records' shared difficulty cancels. Each
# model gets its own F1 thresholds, tuned on validation (a device would ship the int8 model's own).

# %%
routes = {"ORT int8 (static)": int8_model, "PyTorch int8 (dynamic Linear)": dynamic_model}
comparisons = compare_routes(prep, model, routes, input_leads=["I"])
rows = []
for name, c in comparisons.items():
    for metric in ("macro_auc", "macro_f1"):
        r = c[metric]
        rows.append({"route": name, "metric": metric, "fp32": r["reference"], "int8": r["candidate"],
                     "change": r["delta"], "95% low": r["delta_ci95"][0], "95% high": r["delta_ci95"][1]})
quant_table = pd.DataFrame(rows).set_index(["route", "metric"])
print(quant_table.round(4).to_string())
retune_thresholds(int8_path, comparisons["ORT int8 (static)"]["thresholds_candidate"],
                  "per-class F1 thresholds tuned on validation with the int8 model (notebook 14)")
sizes_kib = {"ONNX fp32": exports["onnx"].size_bytes / 1024, "ONNX int8": int8_path.stat().st_size / 1024}
print({k: f"{v:.1f} KiB" for k, v in sizes_kib.items()})

# %%
# NBVAL_CHECK_OUTPUT
for name, c in comparisons.items():  # the target; where int8 misses it, False is the finding (read below)
    print(f"{name}: macro AUC drop <= 0.005: {c['macro_auc']['delta'] >= -0.005}")

# %%
from ecgkd_lite.evaluate import bootstrap_ci

auc8 = comparisons["ORT int8 (static)"]["macro_auc"]
f18 = comparisons["ORT int8 (static)"]["macro_f1"]
own = {name: bootstrap_ci(prep.test.labels, comparisons["ORT int8 (static)"][f"probs_{name}"], "macro_auc",
                          n_boot=1000, seed=0) for name in ("reference", "candidate")}
own_width = max(ci.high - ci.low for ci in own.values())
f1_ratio = (f18['delta_ci95'][1] - f18['delta_ci95'][0]) / (auc8['delta_ci95'][1] - auc8['delta_ci95'][0])
display(Markdown(
    f"**Reading.** Static int8 shrinks the file from {sizes_kib['ONNX fp32']:.0f} KiB to "
    f"{sizes_kib['ONNX int8']:.0f} KiB ({sizes_kib['ONNX fp32'] / sizes_kib['ONNX int8']:.1f}x). Test macro AUC "
    f"moves by {auc8['delta']:+.4f} (paired 95 % interval [{auc8['delta_ci95'][0]:+.4f}, "
    f"{auc8['delta_ci95'][1]:+.4f}]) against the target of a drop of at most 0.005, which it "
    f"{'meets' if auc8['delta'] >= -0.005 else 'misses'}; macro F1 moves by {f18['delta']:+.4f} "
    f"([{f18['delta_ci95'][0]:+.4f}, {f18['delta_ci95'][1]:+.4f}]). The F1 interval is "
    f"{f1_ratio:.1f}x as wide as the AUC one"
    + (": F1 counts records on either side of a threshold, and int8 noise moves a few across. " if f1_ratio > 1 else ". ")
    + f"Unpaired, each model's own macro AUC interval is {own_width:.4f} wide, "
    f"{own_width / (auc8['delta_ci95'][1] - auc8['delta_ci95'][0]):.0f}x the paired interval of the change: "
    "two overlapping separate intervals could say nothing about a change this small."))

# %% [markdown]
# **The same change on many more records.** The test fold above is small, with a handful of
# positives for the rarest classes: its interval of a change of a few thousandths is itself
# uncertain. The converged benchmark's split (`bench.cv.fresh_test_prep`) holds the same training and
# validation records with the same scaler and a test set several times larger that no model here has
# seen, so the same fp32 and int8 models can be compared there.

# %%
fresh = fresh_test_prep(prep)
fresh_cmp = compare_routes(fresh, model, routes, input_leads=["I"])
auc8_fresh = fresh_cmp["ORT int8 (static)"]["macro_auc"]
for name, c in fresh_cmp.items():
    r = c["macro_auc"]
    print(f"{name}: {len(fresh.test):,} test records, macro AUC {r['reference']:.4f} -> {r['candidate']:.4f}, "
          f"change {r['delta']:+.4f} [{r['delta_ci95'][0]:+.4f}, {r['delta_ci95'][1]:+.4f}]")
overlap = min(auc8["delta_ci95"][1], auc8_fresh["delta_ci95"][1]) >= max(auc8["delta_ci95"][0], auc8_fresh["delta_ci95"][0])
display(Markdown(
    f"**Reading.** On {len(fresh.test):,} new records the static int8 change is {auc8_fresh['delta']:+.4f} "
    f"([{auc8_fresh['delta_ci95'][0]:+.4f}, {auc8_fresh['delta_ci95'][1]:+.4f}]), against "
    f"{auc8['delta']:+.4f} on the {len(prep.test):,}-record test fold; the two intervals "
    + ("overlap." if overlap else "do not overlap, so the small fold's interval understated its own uncertainty: "
       "a paired bootstrap resamples records, and with a few positives per rare class it cannot show how "
       "much another draw of records would move the change.")
    + f" Against the target (a drop of at most 0.005) the larger set "
    f"{'meets' if auc8_fresh['delta'] >= -0.005 else 'misses'} it."))

# %%
# NBVAL_CHECK_OUTPUT
for name, c in fresh_cmp.items():  # the target on the new records
    print(f"{name}, {len(fresh.test):,} new records: macro AUC drop <= 0.005: {c['macro_auc']['delta'] >= -0.005}")

# %% [markdown]
# ## 4 · Latency against accuracy, for the three student sizes
#
# Batch size one, one training window (`win` samples, printed above), **one thread**, the median of
# `repeats=200` calls after `warmup=20`; PyTorch eager, ONNX Runtime fp32 and ONNX Runtime int8. The
# small and base students are notebook 03's cached `seed=0` runs on this notebook's data (`ctx.source`),
# exported and quantised here exactly like the tiny one (the same calibration windows), and scored
# on the same test records with their own validation thresholds. Timings depend on the machine and
# its load, so they are printed in unchecked cells.

# %%
latency, accuracy, params = {}, {}, {}
for size in ("tiny", "small", "base"):
    if size == "tiny":
        net, fp32_file = model, exports["onnx"].path
        accuracy[size] = {"fp32": report["macro_auc"], "int8": auc8["candidate"]}
        int8_file = int8_path
    else:
        net = experiment.train_student(prep, "baseline", size=size, seed=0).model.eval()  # notebook 03's run
        own = experiment.evaluate_model(net, prep)
        contract_size = build_contract(net, fs=prep.fs, input_leads=["I"], scaler=prep.scaler, window_samples=win,
                                       classes=prep.classes, thresholds=own["thresholds"])
        fp32_file = export_model(net, OUT, contract=contract_size, name=f"student_{size}").path
        int8_file = quantize_onnx_int8(fp32_file, OUT / f"student_{size}.int8.onnx", reader)
        accuracy[size] = {"fp32": own["macro_auc"],
                          "int8": experiment.evaluate_model(ExportedModule.load(int8_file), prep)["macro_auc"]}
    params[size] = count_parameters(net)
    latency[size] = {"PyTorch eager": measure_latency(net, (1, 1, win), threads=1, warmup=20, repeats=200)["median_ms"],
                     "ORT fp32": runner_latency(fp32_file, (1, 1, win))["median_ms"],
                     "ORT int8": runner_latency(int8_file, (1, 1, win))["median_ms"]}
lat_table = pd.DataFrame(latency).T
lat_table["params"] = pd.Series(params)
print(lat_table.round(3).to_string())
print(f"\ntiny student, ORT int8: {latency['tiny']['ORT int8']:.3f} ms per {win / prep.fs:g} s window (target <= 1 ms: "
      f"{latency['tiny']['ORT int8'] <= 1.0})")

# %%
fig, ax = plt.subplots(figsize=(7.5, 4.2))
markers = {"fp32": ("ORT fp32", "o"), "int8": ("ORT int8", "v")}
for size, color in zip(("tiny", "small", "base"), series_colors(3)):  # sizes, light to dark: no method colours
    xs = [latency[size][markers[p][0]] for p in ("fp32", "int8")]
    ys = [accuracy[size][p] for p in ("fp32", "int8")]
    ax.plot(xs, ys, color=color, lw=1, alpha=0.6)
    for p, x, y in zip(("fp32", "int8"), xs, ys):
        ax.scatter(x, y, color=color, marker=markers[p][1], s=60, edgecolor="black", linewidth=0.5, zorder=3)
    ax.annotate(f"{size} ({lat_table.loc[size, 'params'] / 1e6:.2f} M params)", (xs[0], ys[0]), xytext=(6, 4),
                textcoords="offset points", fontsize=8)
    ax.scatter(latency[size]["PyTorch eager"], accuracy[size]["fp32"], color=color, marker="s", s=40, alpha=0.5)
ax.axvline(1.0, color="grey", ls=":", lw=1)
ax.text(1.0, 0.02, "1 ms target ", color="grey", fontsize=8, rotation=90, ha="right", va="bottom",
        transform=ax.get_xaxis_transform())
handles = [plt.Line2D([], [], color="black", marker=m, ls="", label=l)
           for l, m in (("ORT fp32", "o"), ("ORT int8", "v"), ("PyTorch eager (fp32)", "s"))]
ax.legend(handles=handles, fontsize=8, loc="lower right")
ax.set(xlabel="latency per 2.5 s window, batch 1, one thread (ms)", ylabel="test macro AUC",
       title=f"Students: latency vs accuracy by runtime ({ctx.source}, 1 seed: seed 0)")
ax.set_xscale("log")
ax.xaxis.set_major_formatter(plt.ScalarFormatter())
ax.xaxis.set_minor_formatter(plt.NullFormatter())
ax.set_xticks([t for t in (0.1, 0.2, 0.3, 0.5, 1, 2, 3, 5) if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]])
mark_axis_break(ax)  # after the limits are final
save_figure(fig, "14_latency_vs_accuracy")
plt.show()

# %%
speedup = {s: latency[s]["PyTorch eager"] / latency[s]["ORT int8"] for s in latency}
gain8 = {s: latency[s]["ORT fp32"] / latency[s]["ORT int8"] for s in latency}
why = ("int8 helps the larger students more: in the tiny one the int8 matrix products are a small part of a graph "
       "of many small float32 operations (layer norms, softmax, reshapes, position codes)."
       if gain8["base"] > gain8["tiny"] else
       "int8 does not help the larger students more here; the machine's load may have blurred the timings.")
display(Markdown(
    f"**Reading.** On this machine ONNX Runtime int8 is {speedup['tiny']:.1f}x (tiny) to {speedup['base']:.1f}x (base) "
    f"faster than PyTorch eager, and {gain8['tiny']:.2f}x / {gain8['small']:.2f}x / {gain8['base']:.2f}x faster "
    f"than ONNX Runtime fp32 for tiny / small / base: {why} The tiny student's int8 model needs "
    f"{latency['tiny']['ORT int8']:.2f} ms per {win / prep.fs:g} s window; at the {hop / prep.fs:g} s stride that is "
    f"{latency['tiny']['ORT int8'] / (1e3 * hop / prep.fs) * 100:.3f} % of one core."))

# %% [markdown]
# ## 5 · Streaming: chunk by chunk, identical to offline
#
# `StreamingClassifier` receives the (preprocessed) lead I in chunks of any length, from one sample
# to many windows, and keeps a **ring buffer** of one window. Window placement is exactly that of
# offline evaluation (`train.predict`, via `window_starts`):
#
# * windows start at multiples of the stride and each is classified as soon as its last sample
#   arrives, alone (batch size one), so its output cannot depend on how the stream was chunked;
# * **the last partial window.** Offline, when the stride grid leaves the end of a record
#   uncovered, one more window is added flush with the end. A stream does not know where it ends,
#   so that window is emitted only when the stream is finished (`finish()`); a stream shorter than
#   one window gives one window holding all of it, as `predict` does;
# * per window it emits the window probabilities, **smoothed probabilities** (the mean over the
#   last *k* windows, the contract's `output.smoothing.k`; fewer at the start) and **detections**
#   (smoothed probability >= the class's validation threshold). After `finish()`, the mean of all
#   window probabilities is the record score of `predict`.
#
# The check: six test records back to back plus a few samples of a seventh (`37`), so the end window
# exists; streamed through the ONNX file in chunks of `(1, 10, 125, 1000)` samples, against the
# offline sliding windows (exact equality), and one record's score against `predict` (to `1e-6`).

# %%
# NBVAL_CHECK_OUTPUT
session = onnx_session(exports["onnx"].path)
k = contract["output"]["smoothing"]["k"]
thresholds = np.asarray(contract["output"]["thresholds"])
signal = np.concatenate([prep.test.signals[:6, 0].ravel(), prep.test.signals[6, 0, :37]])
offline = sliding_window_outputs(session, signal, window=win, stride=hop, thresholds=thresholds, smoothing=k)


def identical(a, b):
    return len(a) == len(b) and all(
        (x.start, x.end, x.final) == (y.start, y.end, y.final) and np.array_equal(x.probs, y.probs)
        and np.array_equal(x.smoothed, y.smoothed) and np.array_equal(x.detected, y.detected) for x, y in zip(a, b))


print(f"{len(signal)} samples -> {len(offline)} windows offline ({sum(o.final for o in offline)} end window)")
stream = StreamingClassifier.from_export(exports["onnx"].path)
for chunk in (1, 10, 125, 1000):
    stream.reset()
    got = [o for lo in range(0, len(signal), chunk) for o in stream.push(signal[lo:lo + chunk])] + stream.finish()
    print(f"chunks of {chunk:>4} samples: {len(got)} windows, identical to offline: {identical(got, offline)}")
stream.reset()
stream.push(prep.test.signals[0, 0])
stream.finish()
score = predict(onnx_fp32, prep.test.subset([0]), input_leads=["I"])[0]
print(f"record score equals predict (1e-6): {np.abs(stream.record_probabilities() - score).max() <= 1e-6}")

# %% [markdown]
# ### A long real recording: LUDB, lead I, minutes in a row
#
# LUDB (Lobachevsky University, PhysioNet; `../shared/data/ludb`) has real 12-lead records, sampled
# faster than the training data, with cardiologists' diagnoses. Lead I of a selection of them, grouped by diagnosis, is
# joined into one long recording. Each record is first prepared exactly like the training data:
# resampled to the training rate (`resample_poly`), band-passed zero-phase, scaled with the
# **training** scaler. The stream then receives it in small packets (`10` samples), as from a
# Bluetooth sensor.
#
# Caveats, stated: the student was trained on *synthetic* records, so LUDB is a domain shift, and
# windows that straddle two joined records see a jump no real recording has. This demonstrates the
# mechanics and the cost on a real signal; it is not an accuracy claim. LUDB diagnoses are mapped
# onto this suite's classes where one exists (below).

# %%
LUDB_ROOT = shared_data_dir() / "ludb"
OURS_TO_LUDB = {"SBRAD": "SB", "STACH": "STach", "AFIB": "AF", "1AVB": "IAVB", "CRBBB": "CRBBB",
                "CLBBB": "CLBBB", "LAFB": "LAnFB"}


def ludb_lead_i(root, per_class=2, normal=3):
    """Preprocessed lead I of LUDB records (grouped by diagnosis), their names and our class labels."""
    from ecgkd_lite.data import bandpass, resample

    try:
        from ecgkd_lite.data import load_ludb

        data = load_ludb(root)
    except (ImportError, AttributeError):  # no LUDB reader in this checkout: lead I via wfdb, no labels
        import wfdb

        records = (root / "RECORDS").read_text().split()[: per_class * len(OURS_TO_LUDB) + normal]
        lead = np.stack([wfdb.rdrecord(str(root / r), channels=[0], physical=False).d_signal[:, 0] / 1000.0
                         for r in records])[:, None].astype(np.float32)  # 1000 units per mV
        x = sps.resample_poly(lead, 1, 5, axis=-1)
        x = sps.sosfiltfilt(np.asarray(contract["bandpass"]["sos"]), x, axis=-1)
        x = (x - contract["scaler"]["mean"][0]) / contract["scaler"]["std"][0]
        return x[:, 0].astype(np.float32), [r.split("/")[-1] for r in records], [[] for _ in records]
    picked = []
    for theirs in OURS_TO_LUDB.values():
        picked += [i for i in np.flatnonzero(data.labels[:, data.classes.index(theirs)] == 1) if i not in picked][:per_class]
    picked += [i for i in np.flatnonzero(data.labels[:, data.classes.index("NSR")] == 1) if i not in picked][:normal]
    chosen = bandpass(resample(data.subset(picked), prep.fs), **experiment.BANDPASS)
    chosen = prep.scaler.transform(chosen.select_leads(list(prep.train.leads)))
    labels = [[ours for ours, theirs in OURS_TO_LUDB.items() if chosen.labels[j, chosen.classes.index(theirs)]]
              for j in range(len(chosen))]
    return chosen.signals[:, 0], list(chosen.record_ids), labels


if LUDB_ROOT.exists():
    records_i, names, truth = ludb_lead_i(LUDB_ROOT)
    long = records_i.ravel()
    packet = round(0.1 * prep.fs)
    stream = StreamingClassifier.from_export(exports["onnx"].path, name="ludb-lead-I")
    compute_ms = []
    for lo in range(0, len(long), packet):
        t0 = time.perf_counter()
        if stream.push(long[lo:lo + packet]):
            compute_ms.append((time.perf_counter() - t0) * 1e3)
    stream.finish()
    episodes = stream.detections()
    print(f"{len(names)} LUDB records -> {len(long) / prep.fs:.0f} s of lead I at {prep.fs:g} Hz, "
          f"{len(long) // packet} packets of {packet} samples, {len(stream.outputs)} windows")
    print(f"per window (push that completed it): median {np.median(compute_ms):.3f} ms, "
          f"max {np.max(compute_ms):.3f} ms")
    print(f"{len(episodes)} detection episodes:")
    print(episodes.assign(seconds=episodes["end_s"] - episodes["start_s"])
          .groupby("class")["seconds"].agg(["count", "sum"]).rename(columns={"sum": "seconds detected"}).to_string())
else:
    records_i = None
    display(Markdown(f"**Skipped:** LUDB is not at `{LUDB_ROOT}` (set `ECGKD_SHARED_DATA` or place "
                     "`../shared/data/ludb` beside the repository)."))

# %%
if records_i is not None:
    t = np.arange(len(long)) / prep.fs
    record_len = records_i.shape[1] / prep.fs
    shown = [c for c in prep.classes if c in set(episodes["class"]) or any(c in tr for tr in truth)]
    fig, (ax0, ax1, ax2) = plt.subplots(3, 1, figsize=(13, 2.2 + 0.28 * len(shown) + 5.6),
                                        gridspec_kw={"height_ratios": [1.6, max(1.0, 0.3 * len(shown)), 2.0]})
    ax0.plot(t, long, color="black", lw=0.3)
    for j, (name, labels) in enumerate(zip(names, truth)):
        ax0.axvline(j * record_len, color="0.7", lw=0.6)
        ax0.text(j * record_len + 0.3, 0.98, f"#{name}\n" + ("\n".join(labels) or "(none)"), fontsize=7.5,
                 va="top", transform=ax0.get_xaxis_transform())
    ax0.set(xlabel="time (s)", ylabel="lead I (scaled)",
            title="LUDB lead I, records joined (grey lines); LUDB diagnosis on top")
    low0, high0 = ax0.get_ylim()
    ax0.set_ylim(low0, high0 + 1.0 * (high0 - low0))  # headroom: the record names sit above the trace
    for row, cls in enumerate(shown):
        for j, labels in enumerate(truth):
            if cls in labels:
                ax1.barh(row, record_len, left=j * record_len, height=0.8, color="0.85")
        for _, ep in episodes[episodes["class"] == cls].iterrows():
            ax1.barh(row, ep["end_s"] - ep["start_s"], left=ep["start_s"], height=0.4, color=DETECTION_COLOUR)
    ax1.set_yticks(range(len(shown)), shown, fontsize=8)
    ax1.set(xlim=ax0.get_xlim(), ylim=(-0.6, len(shown) - 0.4), xlabel="time (s)", ylabel="condition",
            title="detections of the streamed ONNX student (narrow coloured bars) and LUDB's diagnosis mapped to "
                  "our classes (wide grey bars)")
    zoom = slice(0, int(20 * prep.fs))
    plot_strip(long[zoom], prep.fs, ax=ax2, lead="I", title="first 20 s: each emitted window and its detections")
    ax2.set_ylabel("lead I (scaled)")
    low, high = ax2.get_ylim()
    for o in stream.outputs:
        if o.end <= zoom.stop:
            y = low - (0.1 + 0.11 * (o.index % 3)) * (high - low)
            hit = [c for c, d in zip(prep.classes, o.detected) if d]
            ax2.hlines(y, o.start / prep.fs, o.end / prep.fs, color=DETECTION_COLOUR, lw=2)
            # on its own window's line (windows of one row never overlap), not past its end into the next
            ax2.text((o.start + o.end) / 2 / prep.fs, y, ",".join(hit) or "none", fontsize=7.5, ha="center",
                     va="center", bbox=dict(facecolor="white", edgecolor="none", pad=0.6))
    ax2.set_ylim(low - 0.42 * (high - low), high)
    fig.tight_layout()
    fig.subplots_adjust(hspace=0.45)  # the top panel's time axis clear of the middle panel's title
    save_figure(fig, "14_streaming_ludb")
    plt.show()

# %% [markdown]
# ## 6 · What should the device do about the zero-phase filter?
#
# Three ways to prepare the same test records (raw, in mV) for the same ONNX model, each with its own
# validation-tuned thresholds:
#
# * **training**: zero-phase `sosfiltfilt` over the whole record, then the scaler (what the
#   model was trained on; not possible on a stream);
# * **per window** (the contract's recommendation): zero-phase filtering of each complete
#   window on its own, then the scaler; no added delay;
# * **causal**: `sosfilt` forward over the stream (state initialised to the first sample, as a
#   device filter would settle), then the scaler: what a naive streaming filter does.

# %%
raw = experiment.load_source(ctx.source, profile=ctx.profile)
_, raw_val, raw_test = raw.splits()
SOS = np.asarray(contract["bandpass"]["sos"])
MEAN, STD = contract["scaler"]["mean"][0], contract["scaler"]["std"][0]


class PerWindowFilter(torch.nn.Module):
    """Raw windows in; each window band-passed zero-phase on its own and scaled (the contract's
    recommendation), then the exported model."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.config = inner, inner.config

    def forward(self, x):
        filtered = (sps.sosfiltfilt(SOS, x.numpy(), axis=-1) - MEAN) / STD
        return self.inner(torch.from_numpy(filtered.astype(np.float32)))


def causal(data):
    x = data.signals
    zi = sps.sosfilt_zi(SOS)[:, None, None, :] * x[None, :, :, :1]
    return replace(data, signals=prep.scaler.transform_array(sps.sosfilt(SOS, x, axis=-1, zi=zi)[0]))


variants = {"training (zero-phase, whole record)": experiment.evaluate_model(onnx_fp32, prep),
            "per window (zero-phase, 2.5 s)": experiment.evaluate_model(
                PerWindowFilter(onnx_fp32), replace(prep, val=raw_val, test=raw_test), input_leads=["I"]),
            "causal (sosfilt over the stream)": experiment.evaluate_model(
                onnx_fp32, replace(prep, val=causal(raw_val), test=causal(raw_test)), input_leads=["I"])}
filters = pd.DataFrame({k: {m: v[m] for m in ("macro_auc", "macro_f1")} for k, v in variants.items()}).T
print(filters.round(4).to_string())

# %%
base_auc = filters["macro_auc"].iloc[0]
display(Markdown(
    f"**Reading.** Filtering each window on its own changes test macro AUC by "
    f"{filters['macro_auc'].iloc[1] - base_auc:+.4f}, the causal filter by {filters['macro_auc'].iloc[2] - base_auc:+.4f} "
    "(one run each, no interval: these are about the size of effect, not a ranking of close values). "
    + ("The per-window filter is the better of the two here, so the contract's recommendation stands: it keeps "
       "the waveform's shape (zero phase) and needs nothing the device does not have when it classifies."
       if filters["macro_auc"].iloc[1] >= filters["macro_auc"].iloc[2] else
       "Here the causal filter does better than the per-window one: the contract's recommendation should be "
       "revisited for this model.")))

# %% [markdown]
# ## Takeaways

# %%
display(Markdown(f"""
* **A deployed model is a file and a contract.** The contract (`student.onnx.json`) carries the
  rate, lead, filter coefficients, scaler, window and stride, classes and validation thresholds, so a
  device reproduces the pipeline without this package.
* **Check the copy.** ONNX Runtime and TorchScript match PyTorch to
  {max(parity.values()):.1e} in logits on all {len(test_windows):,} test windows (target 1e-4).
* **int8 {"is nearly free here" if auc8_fresh["delta"] >= -0.005 else "costs accuracy here"}.** Static int8 (QDQ,
  per-channel, training-fold calibration) makes the tiny student {sizes_kib['ONNX int8']:.0f} KiB
  ({sizes_kib['ONNX fp32'] / sizes_kib['ONNX int8']:.1f}x smaller) for a macro AUC change of
  {auc8_fresh['delta']:+.4f} (paired 95 % interval [{auc8_fresh['delta_ci95'][0]:+.4f}, {auc8_fresh['delta_ci95'][1]:+.4f}])
  on {len(fresh.test):,} new test records ({auc8['delta']:+.4f} on the {len(prep.test):,}-record fold: test a small
  change on many records);
  its speed gain over ONNX Runtime fp32 is {gain8['tiny']:.2f}x for the tiny student and {gain8['base']:.2f}x
  for the base one, and the tiny student's int8 model runs {speedup['tiny']:.1f}x faster than PyTorch eager.
* **Streaming is offline evaluation, reordered.** Same window grid, same end window (on
  `finish()`), windows run alone: the stream gives exactly the offline probabilities for every
  chunking, and the record score of `predict`.
* **The one step to adapt is the filter.** Training filtered forward and backward over the whole record; filtering
  each window on its own changed test macro AUC by {filters['macro_auc'].iloc[1] - base_auc:+.4f}, a causal
  filter by {filters['macro_auc'].iloc[2] - base_auc:+.4f}.
"""))

# %% [markdown]
# ## Exercises
#
# * **Which ops to quantise.** `quantize_static` also quantises the two activation-by-activation
#    matrix products inside attention (QK^T and PV). Exclude them (pass `nodes_to_exclude`, or
#    `op_types_to_quantize=["Conv", "Gemm"]` plus the MatMuls with constant weights,
#    `extra_options={"MatMulConstBOnly": True}`) and measure file size, latency and the paired
#    AUC change again. Is the attention the accuracy-sensitive part?
# * **A stateful causal filter.** Write a preprocessor that keeps `sosfilt`'s state (`zi`) between
#    chunks, feed its output to `StreamingClassifier`, and show that it gives the same windows as
#    `sosfilt` over the whole signal for chunk sizes `(1, 10, 1000)`. Then compare its test
#    macro AUC with section 6's causal row.
# * **Smoothing against flicker.** Re-run the LUDB stream with `smoothing=1`, `3` and `8`
#    (`StreamingClassifier.from_export(path, smoothing=k)`) and count detection episodes and their
#    median length per class. What does a larger *k* cost in reaction time, in seconds?
