// One ONNX model over preprocessed inputs with onnxruntime-node (CPU provider, the session
// options of peer_ort.mjs), one image per run, as a user classifying a photo at a time: ORT's
// dynamic int8 then takes its activation scale from that image alone. Writes the logits as
// raw float32 (N, classes). Called by ort_agreement.py.
//
//   node ort_logits.mjs ORT_DIR MODEL.onnx INPUTS.f32 OUT.f32 [THREADS]
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const [ortDir, model, inputsPath, outPath, threads = '1'] = process.argv.slice(2);
if (!outPath) {
  console.error('usage: node ort_logits.mjs ORT_DIR MODEL.onnx INPUTS.f32 OUT.f32 [THREADS]');
  process.exit(2);
}
const ort = createRequire(path.resolve(ortDir, 'package.json'))('onnxruntime-node');
const IMAGE = 3 * 224 * 224;
const raw = readFileSync(inputsPath);
const inputs = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
const n = inputs.length / IMAGE;
if (!Number.isInteger(n)) throw new Error(`${inputsPath}: not a whole number of 3x224x224 images`);
const session = await ort.InferenceSession.create(model, {
  executionProviders: ['cpu'], intraOpNumThreads: Number(threads), interOpNumThreads: 1,
  executionMode: 'sequential', graphOptimizationLevel: 'all',
});
const chunks = [];
for (let i = 0; i < n; i++) {
  const x = new ort.Tensor('float32', inputs.subarray(i * IMAGE, (i + 1) * IMAGE), [1, 3, 224, 224]);
  const y = (await session.run({ [session.inputNames[0]]: x }))[session.outputNames[0]].data;
  chunks.push(Float32Array.from(y));
}
const out = new Float32Array(chunks.reduce((s, c) => s + c.length, 0));
let at = 0;
for (const c of chunks) { out.set(c, at); at += c.length; }
writeFileSync(outPath, Buffer.from(out.buffer));
