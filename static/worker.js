// The dashboard's inference worker. It runs worker.wasm (wasm/worker: Go,
// shared/classify) off the page's thread, downloads the exported weights
// once with progress, and classifies the photos the page posts, one at a
// time, in order.
//
// Page → worker:
//   {type: "classify", id, file, version, weights}  file: a File or Blob;
//       version: the export the page knows of (reload the weights when
//       newer; 0 = any); weights: their URL, relative to this script
//       (default "weights"; reload when it changes: another run)
// Worker → page:
//   {type: "ready", ms}                     worker.wasm is running
//   {type: "fatal", message}                it could not start
//   {type: "weights", state: "loading", loaded, total}
//   {type: "weights", state: "ready", info, version, downloadMs}
//   {type: "weights", state: "error", message}
//   {type: "start", id}
//   {type: "result", id, probs, best, label, classes, ms}  or  {type: "result", id, error}
"use strict";

importScripts("wasm_exec.js");

const started = new Promise((resolve) => { self.pawnetReady = resolve; });
const go = new Go();
WebAssembly.instantiateStreaming(fetch("worker.wasm"), go.importObject)
  .then((r) => {
    go.run(r.instance).then(() => post({ type: "fatal", message: "the classifier stopped" }));
    return started;
  })
  .then(() => post({ type: "ready", ms: performance.now() }))
  .catch((e) => post({ type: "fatal", message: "could not start the classifier: " + e }));

function post(msg) { self.postMessage(msg); }

let loaded = null; // {version, url, info, classes}
let queue = Promise.resolve();

self.onmessage = (e) => {
  const msg = e.data;
  queue = queue.then(() => handle(msg)).catch((err) => {
    if (msg && msg.id !== undefined) post({ type: "result", id: msg.id, error: String(err && err.message || err) });
  });
};

async function handle(msg) {
  await started;
  if (msg.type !== "classify") return;
  const url = msg.weights || "weights";
  if (!loaded || msg.version > loaded.version || url !== loaded.url) {
    try {
      await load(msg.version || 0, url);
    } catch (err) {
      const message = String(err && err.message || err);
      post({ type: "weights", state: "error", message });
      throw new Error("weights: " + message);
    }
  }
  post({ type: "start", id: msg.id });
  const bytes = new Uint8Array(await msg.file.arrayBuffer());
  const r = self.pawnet.classify(bytes);
  if (r.error) throw new Error(r.error);
  post({ type: "result", id: msg.id, probs: r.probs, best: r.best, label: r.label, classes: loaded.classes, ms: r.ms });
}

async function load(version, url) {
  const t0 = performance.now();
  post({ type: "weights", state: "loading", loaded: 0, total: 0 });
  const bytes = await download(url);
  const downloadMs = performance.now() - t0;
  const info = self.pawnet.load(bytes);
  if (info.error) throw new Error(info.error);
  loaded = { version, url, info, classes: info.classes };
  post({ type: "weights", state: "ready", info, version, downloadMs });
}

// download streams GET url (relative to this script, e.g. weights or
// api/runs/NAME/weights), reporting progress against Content-Length at
// most every 100 ms.
async function download(url) {
  const resp = await fetch(url, { cache: "no-store" });
  if (resp.status === 404) {
    throw new Error("no exported weights yet; the trainer exports them after its first epoch");
  }
  if (!resp.ok) throw new Error("GET /" + url + ": HTTP " + resp.status);
  const total = Number(resp.headers.get("Content-Length")) || 0;
  let buf = new Uint8Array(total || (1 << 20));
  let n = 0;
  let last = 0;
  const reader = resp.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (n + value.length > buf.length) {
      const bigger = new Uint8Array(Math.max(buf.length * 2, n + value.length));
      bigger.set(buf.subarray(0, n));
      buf = bigger;
    }
    buf.set(value, n);
    n += value.length;
    const now = performance.now();
    if (now - last > 100) {
      last = now;
      post({ type: "weights", state: "loading", loaded: n, total });
    }
  }
  if (total && n !== total) throw new Error("download cut short: " + n + " of " + total + " bytes");
  post({ type: "weights", state: "loading", loaded: n, total: total || n });
  return buf.subarray(0, n);
}
