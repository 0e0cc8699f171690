#!/usr/bin/python3
"""Dynamic int8 quantization of an ONNX model with python3-onnx alone, node for node what
onnxruntime.quantization.quantize_dynamic writes for a MatMul (its MatMulInteger operator,
MatMulConstBOnly as quantize_dynamic sets it), for scripts/bench_peers.sh:

    X -> DynamicQuantizeLinear -> X_quantized (uint8), X_scale, X_zero_point  (once per X)
    MatMulInteger(X_quantized, W_quantized, X_zero_point, W_zero_point) -> int32
    Cast to float, times Mul(X_scale, W_scale) -> the MatMul's own output; the bias Add stays

Every MatMul whose B is a constant initializer is quantized; other MatMuls (attention's q @ k^T,
attn @ v), the Gemm of the head and the patch-embedding Conv stay fp32 (quantize_dynamic's
defaults would also turn that Conv into ConvInteger). Weights are symmetric int8, zero point 0,
scale and rounding as ORT's quant_utils compute them (rmin/rmax widened to include 0, numpy
round half to even); with --reduce-range (ORT's reduce_range=True: 7-bit weights) they span
ORT's ONNX_INT_TYPE_REDUCED_RANGE for int8, [-64, 64], else [-127, 127]. ONNX Runtime's graph
optimizer fuses each chain into DynamicQuantizeMatMul (with the bias) when the session loads.

    scripts/bench_peers/quantize_onnx.py model.onnx model.int8.onnx [--reduce-range] [--per-channel]
"""
import argparse
import collections
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def quantize_weight(w, reduce_range, per_channel):
    """w: (K, N) float32 -> int8 (K, N), scale and zero point (scalars, or (N,) per output channel)."""
    qmin, qmax = (-64, 64) if reduce_range else (-127, 127)
    axis = 0 if per_channel else None  # reduce over K: one scale per column N of B
    rmin = np.minimum(w.min(axis=axis), 0).astype(np.float64)
    rmax = np.maximum(w.max(axis=axis), 0).astype(np.float64)
    absmax = np.maximum(np.abs(rmin), np.abs(rmax))
    scale = np.asarray(2 * absmax / (qmax - qmin))
    scale[scale < np.finfo(np.float32).tiny] = 1.0
    scale = scale.astype(np.float32)
    q = np.clip(np.round(w.astype(np.float32) / scale), qmin, qmax).astype(np.int8)
    return q, scale, np.zeros(scale.shape, dtype=np.int8)


def quantize(model, reduce_range, per_channel):
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    consumers = collections.Counter(i for n in graph.node for i in n.input)
    dynamic = {}  # activation name -> (quantized, scale, zero point): one DynamicQuantizeLinear each
    nodes, new_inits, dropped, count = [], [], set(), 0
    for node in graph.node:
        w_init = inits.get(node.input[1]) if node.op_type == "MatMul" else None
        if w_init is None or w_init.data_type != TensorProto.FLOAT or len(w_init.dims) != 2:
            nodes.append(node)
            continue
        x, w_name, y = node.input[0], node.input[1], node.output[0]
        if x not in dynamic:
            dynamic[x] = (x + "_quantized", x + "_scale", x + "_zero_point")
            nodes.append(helper.make_node("DynamicQuantizeLinear", [x], list(dynamic[x]), x + "_QuantizeLinear"))
        xq, xs, xz = dynamic[x]
        q, scale, zp = quantize_weight(numpy_helper.to_array(w_init), reduce_range, per_channel)
        wq, ws, wz = w_name + "_quantized", w_name + "_scale", w_name + "_zero_point"
        new_inits += [numpy_helper.from_array(q, wq), numpy_helper.from_array(scale, ws),
                      numpy_helper.from_array(zp, wz)]
        name = (node.name or y) + "_quant"
        nodes += [
            helper.make_node("MatMulInteger", [xq, wq, xz, wz], [y + "_output_quantized"], name),
            helper.make_node("Cast", [y + "_output_quantized"], [y + "_output_quantized_cast_output"],
                             y + "_output_quantized_cast", to=TensorProto.FLOAT),
            helper.make_node("Mul", [xs, ws], [name + "_scales_mul:0"], name + "_scales_mul"),
            helper.make_node("Mul", [y + "_output_quantized_cast_output", name + "_scales_mul:0"], [y],
                             name + "_output_scale_mul"),
        ]
        consumers[w_name] -= 1
        if consumers[w_name] == 0:
            dropped.add(w_name)
        count += 1
    del graph.node[:]
    graph.node.extend(nodes)
    kept = [t for t in graph.initializer if t.name not in dropped]
    del graph.initializer[:]
    graph.initializer.extend(kept + new_inits)
    return count


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--reduce-range", action="store_true", help="7-bit weights, [-64, 64], as ORT's reduce_range")
    ap.add_argument("--per-channel", action="store_true", help="one weight scale per output channel")
    args = ap.parse_args()
    model = onnx.load(args.model)
    count = quantize(model, args.reduce_range, args.per_channel)
    if count == 0:
        sys.exit(f"quantize_onnx: {args.model} has no MatMul with a constant float weight to quantize")
    onnx.checker.check_model(model)
    onnx.save(model, args.out)
    ops = collections.Counter(n.op_type for n in model.graph.node)
    left = {k: ops[k] for k in ("MatMul", "Gemm", "Conv") if ops[k]}
    print(f"quantize_onnx: {count} MatMuls -> MatMulInteger, weights int8 "
          f"{'[-64, 64] (reduce_range)' if args.reduce_range else '[-127, 127]'} "
          f"{'per output channel' if args.per_channel else 'per tensor'}; left in fp32: {left}", file=sys.stderr)


if __name__ == "__main__":
    main()
