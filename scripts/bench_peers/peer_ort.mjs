// ONNX Runtime peer of scripts/bench_peers.sh: times one ONNX model's forward pass per batch
// size with the npm package onnxruntime-node (CPU execution provider) and prints one JSON object
// on stdout, the fields of `vit-classify bench --format json`.
//
//   node scripts/bench_peers/peer_ort.mjs --ort-dir build/bench_peers --model M.onnx --inputs inputs.f32 \
//        [--batch-sizes 8,1] [--iterations 10] [--warmup 2] [--threads 2] [--name NAME]
//        [--check-logits LOGITS.f32 --check-batch 2] [--check-onnx OTHER.onnx]
//
// --check-logits: max abs difference and cosine similarity of this model's logits on the first
// inputs against PyTorch fp32's; --check-onnx: the cosine similarity against another ONNX model
// (the int8 model against the fp32 one).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({
  options: {
    'ort-dir': { type: 'string' }, model: { type: 'string' }, inputs: { type: 'string' },
    'batch-sizes': { type: 'string', default: '8,1' }, iterations: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' }, threads: { type: 'string', default: '2' },
    name: { type: 'string', default: 'onnxruntime' },
    'check-logits': { type: 'string' }, 'check-batch': { type: 'string', default: '2' },
    'check-onnx': { type: 'string' },
  },
});
for (const k of ['ort-dir', 'model', 'inputs']) {
  if (!a[k]) { console.error(`peer_ort: --${k} is required`); process.exit(2); }
}

// onnxruntime-node lives in the work folder, not next to this file.
const require = createRequire(path.resolve(a['ort-dir'], 'package.json'));
let ort;
try {
  ort = require('onnxruntime-node');
} catch (e) {
  console.error(`peer_ort: cannot load onnxruntime-node from ${a['ort-dir']}/node_modules: ${e.message}`);
  process.exit(3);
}
const ortVersion = require('onnxruntime-node/package.json').version;

const IMAGE = 3 * 224 * 224;
const raw = readFileSync(a.inputs);
const inputs = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
const threads = Number(a.threads);
const options = {
  executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1,
  executionMode: 'sequential', graphOptimizationLevel: 'all',
};

const t0 = process.hrtime.bigint();
let session;
try {
  session = await ort.InferenceSession.create(a.model, options);
} catch (e) {
  console.error(`peer_ort: ONNX Runtime ${ortVersion} could not load ${a.model}: ${e.message}`);
  process.exit(3);
}
const loadSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
const [inputName] = session.inputNames;
const [outputName] = session.outputNames;

async function forward(sess, n) {
  if (n * IMAGE > inputs.length) throw new Error(`batch ${n} needs more than the ${inputs.length / IMAGE} inputs in ${a.inputs}`);
  const x = new ort.Tensor('float32', inputs.subarray(0, n * IMAGE), [n, 3, 224, 224]);
  return (await sess.run({ [inputName]: x }))[outputName].data;
}

// Nearest rank, as vit-classify bench computes it.
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(Math.ceil((p / 100) * sorted.length), 1) - 1)];

const results = [];
for (const n of a['batch-sizes'].split(',').map(Number)) {
  for (let i = 0; i < Number(a.warmup); i++) await forward(session, n);
  const ms = [];
  for (let i = 0; i < Number(a.iterations); i++) {
    const s = process.hrtime.bigint();
    await forward(session, n);
    ms.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  const sorted = [...ms].sort((x, y) => x - y);
  const total = ms.reduce((x, y) => x + y, 0);
  results.push({
    batch_size: n, iterations: ms.length, p50_ms: percentile(sorted, 50), p90_ms: percentile(sorted, 90),
    images_per_second: (1000 * n * ms.length) / total,
  });
}

const cosine = (x, y) => {
  let xy = 0, xx = 0, yy = 0;
  for (let i = 0; i < x.length; i++) { xy += x[i] * y[i]; xx += x[i] * x[i]; yy += y[i] * y[i]; }
  return xy / Math.sqrt(xx * yy);
};
const out = {
  system: a.name, model: a.model, precision: a.model.includes('int8') ? 'int8' : 'fp32', threads,
  onnxruntime: ortVersion, load_seconds: loadSeconds, results,
};
// Memory before the checks, which may load a second model.
out.peak_rss_mb = Math.round(process.resourceUsage().maxRSS / 1024);
out.rss_mb = Math.round(process.memoryUsage().rss / 1048576);
const checkBatch = Number(a['check-batch']);
if (a['check-logits'] || a['check-onnx']) {
  const logits = await forward(session, checkBatch);
  if (a['check-logits']) {
    const r = readFileSync(a['check-logits']);
    const ref = new Float32Array(r.buffer, r.byteOffset, r.byteLength / 4);
    let diff = 0;
    for (let i = 0; i < ref.length; i++) diff = Math.max(diff, Math.abs(ref[i] - logits[i]));
    out.vs_pytorch_fp32 = { max_abs_diff: diff, cosine: cosine(logits, ref) };
  }
  if (a['check-onnx']) {
    const other = await ort.InferenceSession.create(a['check-onnx'], options);
    const ref = await forward(other, checkBatch);
    out.vs_onnx = { model: a['check-onnx'], cosine: cosine(logits, ref) };
  }
}
console.log(JSON.stringify(out));
