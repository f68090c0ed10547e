// SPDX-License-Identifier: MIT
// ort.mjs - `make check-onnx`: runs libae's exported ONNX files in ONNX
// Runtime (npm's onnxruntime-node) and compares with libae's own outputs.
//   node ort.mjs NODE_MODULES DIR NAME...   (DIR from `helper models DIR`)
// Prints one line per file and exits 1 when a max relative error (each
// output's error relative to max(|y|, 0.01), as tests/onnx/check.py) passes 1e-5.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const [modules, dir, ...names] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(modules), 'x.js'));
const ort = require('onnxruntime-node');

function f32(file) {
  const b = readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

let bad = 0;
for (const name of names) {
  const x = f32(path.join(dir, `${name}.in.f32`));
  const want = f32(path.join(dir, `${name}.out.f32`));
  const session = await ort.InferenceSession.create(path.join(dir, `${name}.onnx`));
  const meta = JSON.parse(readFileSync(path.join(dir, `${name}.shape.json`), 'utf8'));
  const count = x.length / meta.reduce((a, b) => a * b, 1);
  const feeds = { x: new ort.Tensor('float32', x, [count, ...meta]) };
  const out = await session.run(feeds);
  const got = out.x_hat.data;
  let maxAbs = 0, maxRel = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    maxAbs = Math.max(maxAbs, d);
    maxRel = Math.max(maxRel, d / Math.max(Math.abs(want[i]), 1e-2));
  }
  const ok = got.length === want.length && maxRel <= 1e-5;
  if (!ok) bad++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}.onnx in ONNX Runtime ${ort.env.versions ? ort.env.versions.common : ''}: ` +
              `${count} samples, max abs error ${maxAbs.toExponential(2)}, max rel error ${maxRel.toExponential(2)} (limit 1e-5)`);
}
console.log(`onnxruntime: ${names.length - bad} passed, ${bad} failed`);
process.exit(bad ? 1 : 0);
